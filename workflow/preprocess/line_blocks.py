"""Large JSONL and text files read in byte ranges by many workers, every line still numbered as in its file.

As in Beam's ``ReadFromText``, an uncompressed file is cut into blocks of
``block_bytes`` and a line belongs to the block its first byte lies in, so a
single large file is read by as many workers as it has blocks and no worker
holds more than one line at a time. Unlike ``ReadFromText``, each line keeps
its number: a record without an id is named ``<file>:<line>``, whichever
worker read it. A first pass counts the newlines of every block but the last
of each file (``bytes.count``, at disk speed); the sums of the blocks before
give each block the number of its first line. A compressed file (``.gz``)
cannot be entered in the middle and is one block, read to its verified end
(compressed.py): a truncated or corrupt stream fails the job naming the file
and the last line read before the damage. Lines end at ``\\n`` only
(``\\r\\n`` too, since the ``\\r`` is stripped later), as JSON Lines defines.
"""

from __future__ import annotations

from typing import Iterator, Optional

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.errors import InputError
from workflow.preprocess.compressed import DamagedStream, damaged, is_compressed, open_input

Block = tuple[str, int, Optional[int]]  # path, first byte, end byte (None: to the end of the file)
COUNT_CHUNK = 8 << 20


def file_blocks(path: str, size: int, block_bytes: int) -> list[Block]:
    """The blocks of one file, of equal size and at most ``block_bytes``: ``[(path, 0, b), (path, b, 2b), ..., (path, kb, None)]``.

    Equal, not ``block_bytes`` and a remainder: a 66 MB file in 64 MB blocks
    would be one large task and one tiny one, and a worker given the large
    ones finishes last. One block when compressed.
    """
    if is_compressed(path) or size <= block_bytes:
        return [(path, 0, None)]
    count = -(-size // block_bytes)
    starts = [size * block // count for block in range(count)]
    return [(path, start, end) for start, end in zip(starts, starts[1:])] + [(path, starts[-1], None)]


def count_newlines(block: Block) -> tuple[str, tuple[int, int]]:
    """``(path, (start, newlines in [start, end)))`` of a block that has an end."""
    path, start, end = block
    count = 0
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            chunk = handle.read(min(COUNT_CHUNK, left))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return path, (start, count)


def numbered(block: Block, counts: dict[str, list[tuple[int, int]]]) -> tuple[Block, int]:
    """``(block, newlines before it in its file)``, from the counts of every earlier block."""
    path, start, _ = block
    return block, sum(count for other, count in dict(counts[path]).items() if other < start)


def read_block(block_and_newlines: tuple[Block, int]) -> Iterator[tuple[str, int, bytes]]:
    """``(path, line number, line bytes)`` of every line that starts in the block; InputError naming the file when it
    cannot be read, or when its compressed stream breaks (after the lines before the damage)."""
    (path, start, end), newlines_before = block_and_newlines
    last = newlines_before
    try:
        for path, last, line in _lines(path, start, end, newlines_before):
            yield path, last, line
    except DamagedStream as error:
        raise damaged(path, error, last) from error
    except OSError as error:
        raise InputError(f"{path}: cannot read ({type(error).__name__}: {error})") from error


def _lines(path: str, start: int, end: Optional[int], newlines_before: int) -> Iterator[tuple[str, int, bytes]]:
    number = newlines_before + 1  # of the line that starts right after the newlines before ``start``
    with open_input(path) as handle:  # a compressed file is a single block from 0
        position = start
        if start > 0:
            handle.seek(start - 1)
            if handle.read(1) != b"\n":  # ``start`` is inside a line that the previous block reads
                position += len(handle.readline())
                number += 1
        while end is None or position < end:
            line = handle.readline()
            if not line:
                return
            yield path, number, line
            position += len(line)
            number += 1
