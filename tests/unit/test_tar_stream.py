"""The streaming tar reader gives what ``tarfile`` gives, for every format the readers may meet, and fails loudly."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from workflow.preprocess import tar_stream

LONG = "aclImdb/train/pos/" + "a-very-long-folder-name/" * 6 + "12_9.txt"  # 170 characters: GNU 'L', pax 'path', ustar prefix


def archive_bytes(tar_format: int, compress: bool) -> bytes:
    """Regular files (empty, one block, several blocks, a long and a non-ASCII name), a folder and a symlink."""
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w", format=tar_format) as archive:
        folder = tarfile.TarInfo("aclImdb/train")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for name, data in [("aclImdb/README", b""), ("aclImdb/train/neg/0_1.txt", b"bad " * 40),
                           (LONG, b"long " * 300), ("aclImdb/train/pos/caf\u00e9_7.txt", b"x" * 512)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("aclImdb/train/pos/3_8.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "0_1.txt"
        archive.addfile(link)
    data = packed.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


@pytest.mark.parametrize("tar_format", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT], ids=["gnu", "pax", "ustar"])
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_members_names_kinds_and_bytes_match_tarfile(tar_format, compress):
    data = archive_bytes(tar_format, compress)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as archive:
        expected = [(m.name, m.isfile(), m.isdir(), archive.extractfile(m).read() if m.isfile() else None) for m in archive]
    # Every other file's bytes read, the rest skipped unread: a skip must land on the next header.
    found = [(m.name, m.is_file, m.is_dir, m.read() if m.is_file and index % 2 == 0 else None)
             for index, m in enumerate(tar_stream.members(io.BytesIO(data)))]
    assert [row[:3] for row in found] == [row[:3] for row in expected]
    assert [row[3] for row in found[::2]] == [row[3] for row in expected[::2]]
    assert any(name == LONG for name, *_ in found) and any("caf\u00e9" in name for name, *_ in found)


def test_a_truncated_or_corrupt_archive_raises_instead_of_ending_early():
    data = archive_bytes(tarfile.GNU_FORMAT, compress=False)
    with pytest.raises(tar_stream.TarFormatError, match="ends inside"):
        list(tar_stream.members(io.BytesIO(data[:1000])))  # inside the second member's data
    packed = gzip.compress(data, mtime=0)
    with pytest.raises(tar_stream.TarFormatError, match="truncated"):
        list(tar_stream.members(io.BytesIO(packed[: len(packed) // 2])))
    corrupt = bytearray(data)
    corrupt[0] ^= 0xFF  # the first header's name: its checksum no longer holds
    with pytest.raises(tar_stream.TarFormatError, match="checksum"):
        list(tar_stream.members(io.BytesIO(bytes(corrupt))))
    with pytest.raises(tar_stream.TarFormatError):
        list(tar_stream.members(io.BytesIO(b"this is no tar archive, just text " * 40)))
    scrambled = bytearray(packed)
    scrambled[len(packed) // 3: len(packed) // 3 + 64] = bytes(64)
    with pytest.raises(tar_stream.TarFormatError):
        list(tar_stream.members(io.BytesIO(bytes(scrambled))))
