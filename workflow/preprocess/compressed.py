"""Compressed inputs read to their verified end: a truncated or corrupt stream is an error, never a shorter file.

Beam's own decompression (``FileSystems.open`` with the compression detected
from the name) stops quietly where a truncated stream ends: a ``.jsonl.gz``
cut in half reads as a shorter, whole-looking file. Here every compressed
input is read through a decoder that checks the stream's end marker (and,
for gzip, its CRC and length): ``.gz`` (ISA-L's ``igzip``, as the archive
reader), ``.bz2``, ``.xz`` and ``.lzma`` (the standard library's), and
``.deflate`` (a zlib stream, as Beam writes it). A damaged stream raises
:class:`DamagedStream` at the point it breaks, which the readers turn into
an ``InputError`` naming the file (:func:`damaged`). A
``.zst`` file is refused with a one-line reason (no zstd decoder ships
with the workflow). The compression is decided by the file name, as Beam
decides it.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import BinaryIO, Callable

from apache_beam.io.filesystem import CompressionTypes
from isal import igzip, isal_zlib

from workflow.errors import InputError
from workflow.preprocess.read_progress import counted
from workflow.storage import IN_JOB, Storage

CHUNK = 1 << 20
# What a decoder raises when its stream is damaged: a truncated stream (EOFError), bad data or a bad checksum.
STREAM_ERRORS = (EOFError, zlib.error, isal_zlib.error, lzma.LZMAError, OSError)


class DamagedStream(Exception):
    """A compressed stream that is truncated or corrupt; the message says which and where the decoder stopped."""


class _ZlibStream(io.RawIOBase):
    """A ``.deflate`` file (a zlib stream): decompressed as it is read; EOFError when it ends before its end marker."""

    def __init__(self, raw: BinaryIO):
        self._raw, self._decoder, self._pending = raw, zlib.decompressobj(), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if self._decoder.eof:
                return 0
            chunk = self._raw.read(CHUNK)
            if not chunk:
                raise EOFError("compressed stream ended before its end marker")
            self._pending = self._decoder.decompress(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


_DECODERS: dict[CompressionTypes, Callable[[BinaryIO], BinaryIO]] = {
    CompressionTypes.GZIP: lambda raw: igzip.IGzipFile(fileobj=raw, mode="rb"),
    CompressionTypes.BZIP2: lambda raw: bz2.BZ2File(raw, mode="rb"),
    CompressionTypes.LZMA: lambda raw: lzma.LZMAFile(raw, mode="rb"),
    CompressionTypes.DEFLATE: lambda raw: io.BufferedReader(_ZlibStream(raw), CHUNK),
}


def compression(path: str) -> CompressionTypes:
    """The compression a file's name says (``.gz``, ``.bz2``, ``.xz``/``.lzma``, ``.deflate``, ``.zst``), as Beam reads it."""
    return CompressionTypes.detect_compression_type(path)


def is_compressed(path: str) -> bool:
    return compression(path) is not CompressionTypes.UNCOMPRESSED


def check_supported(path: str, key: str) -> None:
    """InputError naming ``key`` for a compression this module cannot verify (zstd)."""
    if is_compressed(path) and compression(path) not in _DECODERS:
        raise InputError(f"{key}: {path}: {compression(path)} compression is not supported (decompress it, or recompress it "
                         "with gzip, bzip2 or xz)")


class _Guarded(io.RawIOBase):
    """A decoder whose damage errors become :class:`DamagedStream` (readline and iteration go through ``readinto``)."""

    def __init__(self, decoded: BinaryIO, path: str, close_with: BinaryIO):
        self._decoded, self._path, self._raw = decoded, path, close_with

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._decoded.readinto(buffer)
        except STREAM_ERRORS as error:
            if isinstance(error, OSError) and error.errno is not None:
                raise  # the disk's error, not the stream's: the reader names it as it names any other
            kind = "truncated" if isinstance(error, EOFError) else "corrupt"
            raise DamagedStream(f"{kind} {compression(self._path)} stream ({type(error).__name__}: {error})") from error

    def close(self) -> None:
        if not self.closed:
            try:
                self._decoded.close()
            finally:
                self._raw.close()
        super().close()


def damaged(path: str, error: DamagedStream, lines_read: int) -> InputError:
    """The one-line error of a damaged stream: the file, the damage, and how far the reader had got (the decoder reads
    ahead, so the damage lies at or after that line)."""
    where = f"detected after line {lines_read}" if lines_read else "detected before its first line was read"
    return InputError(f"{path}: {error}, {where}: repair or remove the file")


def open_input(path: str, storage: Storage = IN_JOB) -> BinaryIO:
    """The bytes of an input file, decompressed (and verified to their end) when its name says it is compressed.

    Iterating or ``readline`` on it yields lines as a plain file does; a damaged
    stream raises :class:`DamagedStream` where it breaks. ``storage``: the store's options, for a path on one (read
    tasks: the job's).
    """
    raw = counted(storage.open(path))  # the read task's progress (read_progress.py)
    decoder = _DECODERS.get(compression(path))
    if decoder is None:
        if is_compressed(path):
            raw.close()
            raise InputError(f"{path}: {compression(path)} compression is not supported")
        return raw
    return io.BufferedReader(_Guarded(decoder(raw), path, raw), CHUNK)
