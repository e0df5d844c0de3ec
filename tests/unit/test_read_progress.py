"""The Beam job's progress: each read task counts the input bytes it reads, to the total the submitter expects."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import pytest

from tests.conftest import TINY_REVIEWS, typed, write_aclimdb_folder
from workflow.preprocess import read_progress
from workflow.preprocess.read_progress import ProgressWatcher, TaskProgress, task_bytes
from workflow.preprocess.readers import corpus_tasks, read_task
from workflow.preprocess.settings import CorpusSettings

LINES = [json.dumps({"text": f"review number {i} " + "word " * (i % 40), "label": i % 2}) for i in range(3000)]


def tasks_of(make_config, *overrides: str, block_bytes: int = 64 << 20) -> tuple[CorpusSettings, list]:
    settings = CorpusSettings.of(typed(make_config(*overrides)).data)
    return settings, corpus_tasks(settings, 2, block_bytes)


def bytes_read(settings: CorpusSettings, task: tuple, progress_dir: Path, index: int) -> int:
    if task[0] == "lines":  # as the pipeline numbers a block's lines (its first line's number does not matter here)
        task = (*task[:3], (task[3], 0))
    with TaskProgress(str(progress_dir), index) as progress:
        for _ in read_task(task, settings):
            pass
    return progress.bytes


def test_archive_folder_and_whole_file_tasks_read_exactly_their_bytes(make_config, tiny_archive, tmp_path):
    folder = write_aclimdb_folder(tmp_path / "folder", TINY_REVIEWS)
    jsonl = tmp_path / "reviews.jsonl.gz"
    with gzip.open(jsonl, "wt") as handle:
        handle.write("\n".join(LINES) + "\n")
    corpora = {"archive": ("data=imdb", f"data.path={tiny_archive}"), "folder": ("data=imdb", f"data.path={folder}"),
               "gzip": ("data=jsonl", f"data.path={jsonl}")}
    for name, overrides in corpora.items():
        settings, tasks = tasks_of(make_config, *overrides)
        for index, task in enumerate(tasks):
            # Compressed inputs count their compressed bytes, as their file sizes do: the bar ends at 100%.
            assert bytes_read(settings, task, tmp_path / name, index) == task_bytes(task) > 0, (name, task)
    # Both archive parts read the whole archive: the total counts it twice.
    assert sum(task_bytes(task) for task in tasks_of(make_config, *corpora["archive"])[1]) == 2 * tiny_archive.stat().st_size


def test_blocks_of_a_line_file_read_about_their_own_range(make_config, tmp_path):
    path = tmp_path / "reviews.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    settings, tasks = tasks_of(make_config, "data=jsonl", f"data.path={path}", block_bytes=50_000)
    blocks = [task for task in tasks if task[0] == "lines"]
    assert len(blocks) >= 4 and sum(task_bytes(task) for task in blocks) == path.stat().st_size
    for index, task in enumerate(blocks):
        found = bytes_read(settings, task, tmp_path / "blocks", index)
        # A block reads to the end of its last line and a buffer ahead: its count is its range, give or take a buffer.
        assert task_bytes(task) <= found <= task_bytes(task) + (1 << 16) + 4096, (task, found)


def test_a_task_rewrites_its_count_at_most_once_a_second_and_the_watcher_sums_every_task(tmp_path, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(read_progress.time, "monotonic", lambda: clock[0])
    progress = TaskProgress(str(tmp_path), 3)
    progress.add(10)  # the first count is written at once
    progress.add(5)  # within the second: not yet
    assert json.loads((tmp_path / "00003.json").read_text()) == {"bytes": 10}
    clock[0] += 1.0
    progress.add(7)
    assert json.loads((tmp_path / "00003.json").read_text()) == {"bytes": 22}
    (tmp_path / "00004.json").write_text('{"bytes": 100}')
    monkeypatch.setattr(read_progress, "POLL_SECONDS", 0.01)
    seen, summed = [], threading.Event()

    def show(done: int) -> None:
        seen.append(done)
        summed.set()

    with ProgressWatcher(str(tmp_path), show):
        assert summed.wait(timeout=30)
    assert seen[0] == 122


@pytest.mark.parametrize("kind", ["refused"])
def test_an_entry_that_is_not_read_counts_nothing(kind):
    assert task_bytes((kind, "train", "text", ("/data/pipe", "a named pipe, not a regular file", "/data"))) == 0
