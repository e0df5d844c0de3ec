"""docs/embedding-layer.md runs: every ``python`` block, in order, in one namespace, on a trained workdir.

A ``python`` block followed by an ``output`` block must print exactly that;
blocks that read a workdir assert what they claim. Run as a script to see
what each block prints on a workdir of your own (how the guide's ``text``
blocks were made)::

    python -m tests.integration.test_guide runs/sample
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path
from typing import Iterator, NamedTuple

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "embedding-layer.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


class Block(NamedTuple):
    line: int
    code: str
    expected: str | None  # the following ``output`` block, if any


def blocks(markdown: str) -> list[Block]:
    fences = [(markdown.count("\n", 0, found.start()) + 1, found.group(1), found.group(2)) for found in FENCE.finditer(markdown)]
    found = []
    for position, (line, language, body) in enumerate(fences):
        if language == "python":
            following = fences[position + 1] if position + 1 < len(fences) else None
            found.append(Block(line, body, following[2] if following and following[1] == "output" else None))
    return found


def run_blocks() -> Iterator[tuple[Block, str]]:
    """Each block and what it printed, run in order in one namespace (EMBEDDING_GUIDE_WORKDIR names the workdir)."""
    namespace: dict = {"__name__": "guide"}
    for block in blocks(GUIDE.read_text(encoding="utf-8")):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(block.code, f"{GUIDE.name}:{block.line}", "exec"), namespace)
            except Exception as error:
                raise AssertionError(f"the block at {GUIDE.name} line {block.line} failed: {error!r}") from error
        yield block, printed.getvalue()


def test_every_block_of_the_guide_runs_and_prints_what_it_shows(workflow_run, monkeypatch):
    workdir, _ = workflow_run
    monkeypatch.setenv("EMBEDDING_GUIDE_WORKDIR", str(workdir))
    compared = 0
    for block, printed in run_blocks():
        if block.expected is not None:
            assert printed.rstrip() == block.expected.rstrip(), f"{GUIDE.name} line {block.line} printed:\n{printed}"
            compared += 1
    assert compared >= 8, "the guide's toy examples lost their output blocks"


if __name__ == "__main__":
    os.environ["EMBEDDING_GUIDE_WORKDIR"] = sys.argv[1]
    for block, printed in run_blocks():
        print(f"--- line {block.line}{' (compared)' if block.expected is not None else ''}\n{printed}", file=sys.__stdout__)
