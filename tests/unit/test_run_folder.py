"""Which folder a training run uses when a finished run of another configuration holds its name (run_folder.py)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from workflow.training.layout import RunLayout
from workflow.training.run_folder import RunFolder, next_run_dir, open_run_folder, publish_run

KEY = {"key_version": 1, "seed": 0}


def finished(root: Path, key: dict) -> None:
    root.mkdir(parents=True)
    (root / "identity.json").write_text(json.dumps({"key": key}))
    (root / "metrics.json").write_text("{}")


def test_a_run_finished_beside_the_name_takes_it_when_publishing_stopped_between_the_renames(tmp_path: Path, monkeypatch):
    final = RunLayout(str(tmp_path / "runs" / "taken"))
    beside = Path(next_run_dir(final, KEY))
    finished(Path(final.root), {"key_version": 1, "seed": 1})
    finished(beside, KEY)
    renames: list[str] = []

    def crash_after_the_first(source: str, target: str, replace=os.replace) -> None:  # as a kill between the two renames
        renames.append(source)
        if len(renames) > 1:
            raise KeyboardInterrupt
        replace(source, target)

    monkeypatch.setattr(os, "replace", crash_after_the_first)
    with pytest.raises(KeyboardInterrupt):
        publish_run(RunFolder(RunLayout(str(beside)), final, "another seed"))
    monkeypatch.undo()
    assert not Path(final.root).exists() and len(list((tmp_path / "kept-runs").iterdir())) == 1
    with contextlib.ExitStack() as held:
        folder, done = open_run_folder(final, KEY, config=None, chief=True, held=held)
    assert done and folder == RunFolder(final, final), "the finished run is re-used, not trained again"
    assert json.loads(Path(final.identity).read_text())["key"] == KEY and not beside.exists()
