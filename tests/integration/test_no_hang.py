"""No hang, ever: a full disk, a failing worker or Ctrl-C ends the job with one line, the last published output intact.

Before: with the workdir (and so the log) on a full filesystem, a Beam SDK
worker whose bundle failed printed the traceback to its standard error, the
log file; the print raised ENOSPC, the failure report was never sent, and
``wf-preprocess`` waited forever. Every test that could hang runs the job in
a process of its own with a timeout that fails the test (and kills the
process group) instead of blocking.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import typed
from tests.integration.test_one_writer import wait_for
from tests.integration.test_preprocess_stage import run
from workflow import locks
from workflow.errors import StorageError, user_error
from workflow.preprocess import stage, task_outputs
from workflow.stderr import stderr_to

TIMEOUT = 180  # seconds: a job here takes under 15; past this it hangs


def finished(process: subprocess.Popen, timeout: float = TIMEOUT) -> tuple[int, str, str]:
    """``(exit status, stdout, stderr)``; the test fails, and the process group is killed, when it does not end in time."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"the job did not end within {timeout} s: it hangs")
    return process.returncode, stdout, stderr


def started(arguments: list[str], cwd: Path) -> subprocess.Popen:
    """The command in a session of its own, with SIGINT at its default: a shell that starts pytest in the background
    makes it ignored, a disposition children inherit, and Python then installs no KeyboardInterrupt handler."""
    return subprocess.Popen(arguments, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wf_preprocess(*overrides: str, cwd: Path) -> subprocess.Popen:
    return started([sys.executable, "-m", "workflow.cli", *overrides], cwd)


def reviews_jsonl(path: Path, count: int) -> Path:
    rng = random.Random(count)
    words = [f"w{number}" for number in range(3000)]
    with open(path, "w") as handle:
        for number in range(count):
            handle.write(json.dumps({"id": f"r{number}", "text": " ".join(rng.choices(words, k=40)), "label": rng.choice(["pos", "neg"])}) + "\n")
    return path


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str, instead: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``folder``; the test is skipped, naming the test that runs ``instead``, where this
    sandbox may not mount one (mounting needs root or CAP_SYS_ADMIN)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip() or 'mount failed'}); {instead} covers the same path")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_standard_error_never_refuses_a_write_when_the_log_cannot_take_it():
    """/dev/full refuses every write with ENOSPC: through stderr_to, a child's megabyte of standard error and this
    process's own print go through, and the child ends."""
    with stderr_to("/dev/full"):
        print("x" * 100_000, file=sys.stderr)
        child = subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('y' * (1 << 20)); sys.stderr.flush(); print('done')"],
                               capture_output=False, stdout=subprocess.PIPE, text=True, timeout=60)
    assert (child.returncode, child.stdout) == (0, "done\n")


@pytest.mark.slow
def test_a_failing_worker_whose_log_is_full_ends_the_job_in_one_line(tmp_path):
    """The hang itself, without a full filesystem: SDK worker processes whose standard error is /dev/full, and a bundle
    that fails (a truncated .jsonl.gz). The job ends, naming the file."""
    corpus = tmp_path / "reviews.jsonl.gz"
    corpus.write_bytes(__import__("gzip").compress(reviews_jsonl(tmp_path / "reviews.jsonl", 400).read_bytes())[:3000])
    script = textwrap.dedent(f"""
        from tests.conftest import compose_config, typed
        from workflow.errors import user_error
        from workflow.preprocess import stage
        config = typed(compose_config({str(tmp_path / 'work')!r}, "data=jsonl", "data.path={corpus}",
                                      "beam.running_mode=multi_processing", "beam.num_workers=2"))
        try:
            stage.run(config, log_file="/dev/full")
        except Exception as error:
            print("error:", user_error(error))
    """)
    status, stdout, stderr = finished(started([sys.executable, "-c", script], Path(__file__).resolve().parents[2]))
    assert status == 0, stderr[-3000:]
    assert stdout.strip().startswith(f"error: {corpus}: truncated gzip stream"), stdout + stderr[-3000:]


def test_a_fake_enospc_in_a_worker_ends_the_job_naming_the_path(make_config, tiny_archive, tmp_path, monkeypatch):
    """A write that fails with ENOSPC in the middle of the job (always runs: no filesystem to fill): one StorageError
    naming where and why, the published output as it was, no staging folder, the lock released."""
    before = run(make_config, f"data.path={tiny_archive}")
    manifest = Path(before.manifest).read_bytes()
    writes = []

    def full(self, key: str, data: bytes) -> None:
        writes.append(key)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(task_outputs._LazyFiles, "write", full)
    config = typed(make_config(f"data.path={tiny_archive}", "preprocess.min_count=1"))
    with pytest.raises(Exception) as raised:
        stage.run(config)
    found = user_error(raised.value)
    assert isinstance(found, StorageError) and str(found).startswith(f"cannot write {tmp_path / 'work'}/.preprocess.staging-")
    assert str(found).endswith(": No space left on device") and writes
    assert Path(before.manifest).read_bytes() == manifest
    assert not list((tmp_path / "work").glob(".preprocess.staging-*"))
    with locks.exclusive(before.root, wait=False):
        pass


@pytest.mark.slow
def test_a_full_filesystem_ends_wf_preprocess_in_one_line_and_keeps_the_last_output(make_config, tmp_path, tiny_archive):
    """The reported run: workdir and log on a small filesystem that the job (two SDK worker processes) fills. Exit 2,
    one line naming the cause, the output published before still there and whole, the lock free."""
    corpus = reviews_jsonl(tmp_path / "big.jsonl", 6_000)  # 1.5 MB in, more than the filesystem holds out
    with small_filesystem(tmp_path / "small", "400k", "test_a_fake_enospc_in_a_worker_ends_the_job_naming_the_path") as small:
        workdir = small / "work"
        manifest = Path(run(make_config, f"data.path={tiny_archive}", f"workdir={workdir}").manifest).read_bytes()
        status, stdout, stderr = finished(wf_preprocess("data=jsonl", f"data.path={corpus}", f"workdir={workdir}", cwd=tmp_path))
        assert status == 2 and stderr.splitlines() == [stderr.strip()], stderr[-3000:]
        assert stderr.startswith(f"error: cannot write {workdir}/.preprocess.staging-") and "No space left on device" in stderr
        assert (workdir / "preprocess" / "manifest.json").read_bytes() == manifest
        assert not list(workdir.glob(".preprocess.staging-*"))
        with locks.exclusive(str(workdir / "preprocess"), wait=False):
            pass


@pytest.mark.slow
def test_ctrl_c_during_the_beam_job_is_one_line_and_leaves_nothing_that_looks_finished(tmp_path):
    corpus = reviews_jsonl(tmp_path / "big.jsonl", 40_000)
    workdir = tmp_path / "work"
    process = wf_preprocess("data=jsonl", f"data.path={corpus}", f"workdir={workdir}", cwd=tmp_path)
    logs = lambda: list(workdir.glob("logs/*/*/*.log"))  # noqa: E731
    wait_for(lambda: bool(logs()) and "input file(s)" in logs()[0].read_text(), "the job to start", timeout=TIMEOUT)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: the whole foreground process group, Beam's workers too
    status, stdout, stderr = finished(process)
    assert (status, stderr) == (130, "interrupted\n"), stderr[-3000:]
    assert not (workdir / "preprocess").exists() and not list(workdir.glob(".preprocess.staging-*"))
    assert "KeyboardInterrupt" in logs()[0].read_text(), "the traceback goes to the log file"
    with locks.exclusive(str(workdir / "preprocess"), wait=False):
        pass
