"""One writer per stage: concurrent commands on one fresh workdir, versioned publishes, pins, format versions.

The concurrent tests start both commands while the test itself holds the
stage's lock, wait (bounded) until both say whom they wait for, then let go:
so the two really overlap, without a sleep. One of them makes the output, the
other waits for it and re-uses it; what is published equals a single run's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from tests.conftest import compose_config, synthetic_reviews, typed, write_aclimdb_archive
from workflow import locks, orchestrate
from workflow.artifacts import read_json, staged_output, write_json
from workflow.caching import why_outdated
from workflow.embeddings import output as word2vec_output
from workflow.embeddings import stage as word2vec_stage
from workflow.errors import ContractError
from workflow.preprocess import output as preprocess_output
from workflow.preprocess import stage as preprocess_stage
from workflow.preprocess.output import PreprocessOutput
from workflow.training.identity import run_name, why_retrain
from workflow.training.layout import FORMAT_VERSION as RUN_FORMAT_VERSION

pytestmark = pytest.mark.slow  # worker processes, logical devices or trainings

BEAM = ("beam.running_mode=in_memory", "beam.num_workers=1")
TRAINING = ("model=pooling", "embedding=random", "trainer.epochs=2", "trainer.batch_size=8", "trainer.min_epoch_examples=1",
            "trainer.learning_rate=0.01")
TIMING_AND_PROCESS = ("wall_time_s", "train_examples_per_s", "process_id", "config")  # config: names the workdir


def start(entry: str, log: Path, *arguments: str) -> subprocess.Popen:
    """A wf-* entry point in a process of its own, its output in ``log``."""
    return subprocess.Popen([sys.executable, "-c", f"from workflow.cli import {entry}; {entry}()", *arguments], cwd=log.parent,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, text=True)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def together(folder: Path, entry: str, tmp_path: Path, *arguments: str) -> list[str]:
    """Two identical commands, both made to wait on ``folder``'s lock before either may write; their outputs."""
    logs = [tmp_path / f"{entry}-{number}.log" for number in (1, 2)]
    with locks.exclusive(str(folder)):
        processes = [start(entry, log, *arguments) for log in logs]
        try:
            wait_for(lambda: all(f"{folder}: waiting for the run writing it: pid {os.getpid()}" in log.read_text() for log in logs),
                     "both commands to wait for the lock")
        except AssertionError:
            for process in processes:
                process.kill()
            raise
    for process, log in zip(processes, logs):
        assert process.wait(timeout=600) == 0, log.read_text()[-4000:]
    return [log.read_text() for log in logs]


def published_files(folder: Path) -> dict[str, bytes]:
    """Every file of a published stage folder, the manifest (timings, runner) aside."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "manifest.json"}


def test_two_wf_preprocess_at_once_make_the_output_once(tmp_path, tiny_archive):
    workdir = tmp_path / "work"
    outputs = together(workdir / "preprocess", "preprocess", tmp_path, f"data.path={tiny_archive}", f"workdir={workdir}", *BEAM)
    ran = [output for output in outputs if "preprocess   done in " in output]
    skipped = [output for output in outputs if "preprocess   skipped (up to date; written by the run it waited for)" in output]
    assert len(ran) == 1 and len(skipped) == 1, outputs
    assert "read 7 = written 7 + rejected 0" in ran[0] and "read 7" not in skipped[0]

    single = typed(compose_config(tmp_path / "single", f"data.path={tiny_archive}", *BEAM))
    preprocess_stage.run(single)
    assert published_files(workdir / "preprocess") == published_files(tmp_path / "single" / "preprocess")
    entries = sorted(path.name for path in workdir.iterdir())
    assert entries[0] == ".locks" and entries[1].startswith(".preprocess.v-") and entries[2:] == ["logs", "preprocess"], "one version, no staging"


def test_two_wf_train_at_once_train_once_and_equal_a_single_run(tmp_path):
    from workflow.training import stage as training_stage
    from workflow.training.model import load_classifier

    archive = write_aclimdb_archive(tmp_path / "reviews.tar.gz", synthetic_reviews(24, 8, 0))
    workdir, single = tmp_path / "work", tmp_path / "single"
    config = typed(compose_config(workdir, "data=imdb", f"data.path={archive}", "preprocess.min_count=1", *BEAM))
    preprocess_stage.run(config)
    os.makedirs(single)
    os.symlink(os.path.realpath(workdir / "preprocess"), single / "preprocess")
    name = run_name(typed(compose_config(workdir, *TRAINING)))

    outputs = together(workdir / "runs" / name, "train", tmp_path, f"workdir={workdir}", *TRAINING)
    reused = [output for output in outputs if "already finished with this configuration and these inputs" in output]
    assert len(reused) == 1 and sum(" epoch 2/2: " in output for output in outputs) == 1, outputs

    one_cfg = compose_config(single, *TRAINING)
    alone = training_stage.run(typed(one_cfg)).metrics.to_json()
    both = read_json(str(workdir / "runs" / name / "metrics.json"))
    drop = lambda metrics: {key: value for key, value in metrics.items() if key not in TIMING_AND_PROCESS}  # noqa: E731
    assert drop(both) == drop(alone)
    for mine, theirs in zip(load_classifier(str(workdir / "runs" / name / "export" / "model.keras")).get_weights(),
                            load_classifier(str(single / "runs" / name / "export" / "model.keras")).get_weights()):
        np.testing.assert_array_equal(mine, theirs)

    # A run of another format version is never re-used.
    identity = read_json(str(workdir / "runs" / name / "identity.json"))["key"]
    assert identity["format_version"] == RUN_FORMAT_VERSION
    assert why_retrain({**identity, "format_version": RUN_FORMAT_VERSION - 1}, identity, typed(one_cfg)) == "changed: format_version (0 -> 1)"


def test_a_pinned_version_outlives_a_new_publish_and_goes_with_the_next_one(make_config, tiny_archive):
    config = typed(make_config(f"data.path={tiny_archive}", "preprocess.min_count=1"))
    preprocess_stage.run(config)
    pointer = Path(config.workdir) / "preprocess"
    with preprocess_output.pinned(config.workdir) as pinned:
        first = Path(pinned.layout.root)
        assert first == pointer.resolve()
        test_shard = pinned.example_files("test")[0]
        before = Path(test_shard).read_bytes()
        preprocess_stage.run(typed(make_config(f"data.path={tiny_archive}", "preprocess.min_count=2")))
        assert pointer.resolve() != first, "the new version is published"
        assert Path(test_shard).read_bytes() == before and len(pinned.vocabulary()) > len(PreprocessOutput(config.workdir).vocabulary())
    preprocess_stage.run(config)
    versions = sorted(path.name for path in Path(config.workdir).glob(".preprocess.v-*"))
    assert versions == [pointer.resolve().name], "unpinned, the old versions are gone"


def test_another_recorded_format_version_re_runs_the_stage_and_is_never_read(make_config, tiny_archive, monkeypatch):
    config = typed(make_config(f"data.path={tiny_archive}", "preprocess.min_count=1", "word2vec.workers=1", "word2vec.vector_size=8",
                               "word2vec.epochs=1"))
    orchestrate.bring_up_to_date("preprocess", preprocess_stage, config)
    orchestrate.bring_up_to_date("word2vec", word2vec_stage, config)
    published = {stage: Path(config.workdir, stage).resolve() for stage in ("preprocess", "word2vec")}
    orchestrate.bring_up_to_date("preprocess", preprocess_stage, config)
    orchestrate.bring_up_to_date("word2vec", word2vec_stage, config)
    assert {stage: Path(config.workdir, stage).resolve() for stage in published} == published, "up to date: both skipped"

    monkeypatch.setattr(preprocess_stage, "FORMAT_VERSION", preprocess_output.FORMAT_VERSION + 1)
    assert why_outdated(preprocess_stage.recorded_key(config), preprocess_stage.key(config), config).startswith("changed: format_version")
    orchestrate.bring_up_to_date("preprocess", preprocess_stage, config)
    assert Path(config.workdir, "preprocess").resolve() != published["preprocess"]
    with pytest.raises(ContractError, match=rf"preprocessing format {preprocess_output.FORMAT_VERSION + 1}, this code reads format "
                                            rf"{preprocess_output.FORMAT_VERSION}: re-run wf-preprocess"):
        PreprocessOutput(config.workdir).manifest  # noqa: B018 - the reader refuses it too
    monkeypatch.undo()

    manifest_path = Path(config.workdir, "word2vec", "manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["key"]["format_version"] = word2vec_output.FORMAT_VERSION - 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ContractError, match="word2vec format 0, this code reads format 1: re-run wf-word2vec"):
        word2vec_output.Word2VecOutput(config.workdir).manifest  # noqa: B018
    preprocess_stage.run(config)  # back to the current format
    orchestrate.bring_up_to_date("word2vec", word2vec_stage, config)
    assert word2vec_output.Word2VecOutput(config.workdir).manifest["key"]["format_version"] == word2vec_output.FORMAT_VERSION


def test_an_unversioned_folder_is_swapped_in_whole_and_leaves_nothing_behind(tmp_path):
    """The report's publish: ``report/`` stays a real folder (TensorBoard lists it), replaced in one exchange."""
    report = tmp_path / "report"
    for number in range(3):
        with staged_output(str(report)) as staging:
            Path(staging, f"results-{number}.md").write_text("table")
            write_json(os.path.join(staging, "manifest.json"), {"number": number})
        assert report.is_dir() and not report.is_symlink()
        assert sorted(path.name for path in report.iterdir()) == ["manifest.json", f"results-{number}.md"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [".locks", "report"]
