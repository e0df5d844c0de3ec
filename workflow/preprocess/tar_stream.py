"""A streaming tar reader for archives read from start to end, many times over.

Every worker streams the whole aclImdb archive (a gzip stream cannot be
split; readers.py) and the url files that place reviews in films come after
all 100,000 reviews (films.py). Python's ``tarfile`` builds a ``TarInfo``
per member: about 34 us each, 3.4 s of the 4.5 s a pass took on the
reference machine, paid once per worker and once more before the job starts.
This reader parses only what the readers use (name, type, size, with the
header checksum checked) and copies a member's bytes only when they are
wanted, and decompresses with ISA-L (``isal``, 3.5x zlib's speed here):
a pass over IMDB took 1.9 s against 6.8 s through ``tarfile`` (medians of
3 alternating passes, docs/results.md).

Formats: ustar (POSIX prefix field), GNU (long names, base-256 sizes) and
pax (``path`` and ``size`` records); gzip-compressed or not. Tests read the
same archives with ``tarfile`` and compare.
"""

from __future__ import annotations

from isal import isal_zlib
from typing import BinaryIO, Iterator, Optional

BLOCK = 512
_END = bytes(BLOCK)  # a block of zeros ends the archive
CHUNK = 1 << 20  # compressed bytes read at a time
_REGULAR = (b"0", b"\0", b"7")
_GNU_LONG_NAME, _GNU_LONG_LINK, _PAX, _PAX_GLOBAL, _DIRECTORY = b"L", b"K", b"x", b"g", b"5"


class TarFormatError(ValueError):
    """The stream is not a tar archive, or ends or breaks inside one."""


class Member:
    """One archive member; :meth:`read` its content before the iteration moves on, or it is skipped unread."""

    __slots__ = ("name", "is_file", "is_dir", "_size", "_stream", "_read")

    def __init__(self, name: str, kind: bytes, size: int, stream: "_Bytes"):
        self.name = name
        self.is_file = kind in _REGULAR  # a regular file (not a directory, link or device)
        self.is_dir = kind == _DIRECTORY
        self._size, self._stream, self._read = size, stream, False

    def read(self) -> bytes:
        if self._read:
            raise ValueError(f"{self.name}: read twice")
        self._read = True
        return self._stream.read(_padded(self._size))[:self._size]

    def _finish(self) -> None:
        if not self._read:
            self._stream.skip(_padded(self._size))


class _Bytes:
    """The archive's bytes, decompressed as they are read when the stream is gzip."""

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self._buffer = handle.read(CHUNK)
        self._offset = 0
        self._decompressor = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16) if self._buffer[:2] == b"\x1f\x8b" else None
        if self._decompressor is not None:
            raw, self._buffer = self._buffer, b""
            self._buffer = self._decompress(raw)

    def _decompress(self, raw: bytes) -> bytes:
        try:
            out = self._decompressor.decompress(raw)
            while self._decompressor.eof and self._decompressor.unused_data:  # a multi-member gzip file
                rest = self._decompressor.unused_data
                self._decompressor = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
                out += self._decompressor.decompress(rest)
        except isal_zlib.error as error:
            raise TarFormatError(f"corrupt gzip stream ({error})") from None
        return out

    def _more(self) -> bool:
        raw = self._handle.read(CHUNK)
        if not raw:
            if self._decompressor is not None and not self._decompressor.eof:
                raise TarFormatError("compressed stream ended before its end marker (truncated)")
            return False
        self._buffer = self._buffer[self._offset:] + (self._decompress(raw) if self._decompressor else raw)
        self._offset = 0
        return True

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes; b"" at the very end; TarFormatError when the stream ends inside them."""
        while len(self._buffer) - self._offset < size:
            if not self._more():
                if self._offset == len(self._buffer):
                    return b""
                raise TarFormatError(f"archive ends inside a member ({len(self._buffer) - self._offset} of {size} bytes left)")
        data = self._buffer[self._offset:self._offset + size]
        self._offset += size
        return data

    def skip(self, size: int) -> None:
        """Pass over ``size`` bytes without copying them; TarFormatError when the stream ends first."""
        while len(self._buffer) - self._offset < size:
            size -= len(self._buffer) - self._offset
            self._buffer, self._offset = b"", 0
            if not self._more():
                raise TarFormatError(f"archive ends inside a member ({size} bytes missing)")
        self._offset += size


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256, for sizes of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip()
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise TarFormatError(f"not a tar header (number field {field!r})") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", errors="surrogateescape")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _pax_records(data: bytes) -> dict[str, str]:
    """``b"30 path=a/very/long/name.txt\\n..."`` -> ``{"path": ...}``."""
    records, position = {}, 0
    while position < len(data):
        space = data.index(b" ", position)
        length = int(data[position:space])
        key, _, value = data[space + 1:position + length - 1].partition(b"=")
        records[key.decode("utf-8")] = value.decode("utf-8", errors="surrogateescape")
        position += length
    return records


def members(handle: BinaryIO) -> Iterator[Member]:
    """Every member of the tar stream in ``handle``, in order, as ``tarfile``'s stream mode gives them.

    Raises TarFormatError on a bad header checksum, a truncated or corrupt
    stream, or data that is not a tar archive.
    """
    stream = _Bytes(handle)
    long_name: Optional[str] = None
    pax: dict[str, str] = {}
    while True:
        header = stream.read(BLOCK)
        if not header or header == _END:
            return
        expected = _number(header[148:156])
        unsigned = sum(header) - sum(header[148:156]) + 8 * 32
        if expected != unsigned:
            raise TarFormatError(f"bad header checksum ({expected} != {unsigned}): not a tar archive, or a corrupt one")
        kind = header[156:157]
        size = int(pax["size"]) if "size" in pax else _number(header[124:136])
        if kind in (_GNU_LONG_NAME, _GNU_LONG_LINK, _PAX, _PAX_GLOBAL):
            data = stream.read(_padded(size))[:size]
            if kind == _GNU_LONG_NAME:
                long_name = _text(data)
            elif kind == _PAX:
                pax = _pax_records(data)
            continue
        name = _text(header[:100])
        if header[257:263] == b"ustar\0" and header[345] != 0:  # POSIX ustar: a prefix holds the path's start
            name = f"{_text(header[345:500])}/{name}"
        name = pax.get("path", long_name or name)
        member = Member(name.rstrip("/") if kind == _DIRECTORY else name, kind, size, stream)
        yield member
        member._finish()
        long_name, pax = None, {}
