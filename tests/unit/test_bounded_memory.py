"""Large inputs and outputs in bounded memory: a file read in byte blocks yields every line once, with its number in
the file, whatever the block size; a shard is sorted through spilled runs."""

from __future__ import annotations

import gzip
import random
import re

from workflow.preprocess.line_blocks import count_newlines, file_blocks, numbered, read_block
from workflow.preprocess.shards import sorted_items

CONTENT = b'{"a": 1}\n\n{"b": "two"}\r\nno newline inside a very long line of text, longer than a block\n\n\nlast line without a newline'


def lines_in_blocks(path: str, size: int, block_bytes: int) -> list[tuple[int, bytes]]:
    blocks = file_blocks(path, size, block_bytes)
    counts: dict[str, list] = {}
    for block in blocks[:-1]:
        file, start_and_count = count_newlines(block)
        counts.setdefault(file, []).append(start_and_count)
    counts.setdefault(path, [])
    return [(number, line) for block in blocks for _, number, line in read_block(numbered(block, counts))]


def test_every_block_size_reads_each_line_once_with_its_number(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(CONTENT)
    expected = list(enumerate(re.findall(rb"[^\n]*\n|[^\n]+$", CONTENT), start=1))
    assert expected[-1] == (7, b"last line without a newline")
    for block_bytes in range(1, len(CONTENT) + 2):
        assert lines_in_blocks(str(path), len(CONTENT), block_bytes) == expected, block_bytes


def test_a_compressed_file_is_one_block(tmp_path):
    path = tmp_path / "lines.txt.gz"
    path.write_bytes(gzip.compress(CONTENT))
    assert file_blocks(str(path), 10_000, 10) == [(str(path), 0, None)]
    assert [line for _, line in lines_in_blocks(str(path), 10_000, 10)] == re.findall(rb"[^\n]*\n|[^\n]+$", CONTENT)


def test_a_shard_sorted_through_spilled_runs_is_in_the_order_of_an_in_memory_sort():
    """The shard writer never holds a whole shard: 40-byte runs spill to files and merge into the same order."""
    rng = random.Random(0)
    parts = [[(f"doc{rng.randrange(1000):04d}", bytes(rng.randrange(256) for _ in range(rng.randrange(20)))) for _ in range(30)]
             for _ in range(7)]
    expected = sorted(item for part in parts for item in part)
    assert list(sorted_items(parts, spill_bytes=40)) == expected == list(sorted_items(parts))
