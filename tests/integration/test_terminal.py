"""What a person reads: a line per stage, each training job's epochs (a live bar on a terminal,
plain lines through a pipe), the results table, and no warning from an import; the details go to the log files."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.conftest import SMALL, run_name
from workflow.artifacts import read_json

IMPORT_NOISE = ("apitools not found", "absl::InitializeLog", "cpu_feature_guard", "oneDNN custom operations")
RESULTS_HEADER = re.compile(r"^mode +labelled reviews +test accuracy +seeds", re.MULTILINE)


def on_a_terminal(arguments: list[str], cwd: Path, timeout: float = 600) -> tuple[int, str]:
    """Run a command with a pseudo-terminal (160 columns) as its standard input, output and error; its status and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(arguments, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True,
                               env={**os.environ, "TERM": "xterm", "COLUMNS": "160"})
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal's other side has closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def stage_lines(output: str) -> dict[str, list[str]]:
    """The stage lines of an output, by stage: ``{"preprocess": ["done in 4.3 s (...)"], ...}`` (a terminal's ``running``
    line, which its stage's line replaced, aside)."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        match = re.match(r"^(preprocess|word2vec|training|report) {3,}(\S.*?)\s*$", line)
        if match and match.group(2).startswith("running ("):
            continue
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def test_through_a_pipe_a_line_per_stage_and_epoch_then_the_results(workflow_run):
    """The session's wf-run (3 modes, seed 0; its output captured through a pipe): no control characters, the stage
    lines, one line per epoch of each run, the results table, and a few dozen lines in all."""
    workdir, output = workflow_run
    assert "\x1b" not in output and "\r" not in output
    assert not [noise for noise in IMPORT_NOISE if noise in output], output[:2000]
    stages = stage_lines(output)
    assert re.fullmatch(r"done in \d+\.\d s \(read 503 = written 503 \+ rejected 0: \d+ train, \d+ validation, 100 test, 103 unlabelled; "
                        r"\d+ words\)", stages["preprocess"][0]), stages
    assert re.fullmatch(r"done in \d+\.\d s \(\d+ x 16 matrix; \d+\.\d% of corpus tokens have a vector\)", stages["word2vec"][0]), stages
    assert stages["training"][0].startswith("3 runs (their logs: ") and re.fullmatch(r"done in [\d.]+ (s|min) \(3 of 3 runs finished\)",
                                                                                     stages["training"][1]), stages
    assert re.fullmatch(r"done in \d+\.\d s \(3 runs\)", stages["report"][0]), stages
    for mode in ("frozen", "finetune", "random"):
        epochs = read_json(str(workdir / "runs" / run_name(mode) / "metrics.json"))["epochs_run"]
        assert len(re.findall(rf"^{run_name(mode)} epoch \d+/3: loss ", output, flags=re.MULTILINE)) == epochs
    assert not re.search(r" step \d+/\d+", output), "the per-step lines go to the log files only"
    table = output[RESULTS_HEADER.search(output).start():].splitlines()
    assert [line.split()[:2] for line in table[1:4]] == [["frozen", "261"], ["finetune", "261"], ["random", "261"]]
    assert all(re.fullmatch(r"\w+ +261 +0\.\d{4} +1", line) for line in table[1:4]), table
    assert f"Report:      {workdir / 'report' / 'results.md'}" in output
    lines = output.splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    log = Path(re.search(r"^Log: +(\S+)$", output, flags=re.MULTILINE).group(1)).read_text()
    assert "preprocess: runs (no finished output)" in log and "training 3 job(s); their logs:" in log, "the details: the log file"
    for mode in ("frozen", "finetune", "random"):  # each job logs to a file of its own, as in a process of its own
        job_log = Path(re.search(r"their logs: (\S+)/<run name>", output).group(1)) / run_name(mode) / "train.log"
        text = job_log.read_text()
        assert f"training {run_name(mode)} in this process" in text and f"{run_name(mode)} epoch 1/3: " in text
        assert f"{run_name(mode)} epoch 1/3: " not in log


def test_on_a_terminal_a_bar_per_training_job_and_the_same_lines(workflow_run, tmp_path):
    """wf-run under a pseudo-terminal, on a copy of the session's workdir with one new run to train: the stages it
    finds up to date say so, the training job draws a bar (which its epoch lines replace), the results follow."""
    workdir, _ = workflow_run
    copy = tmp_path / "work"
    for stage in ("preprocess", "word2vec"):
        shutil.copytree(workdir / stage, copy / stage)
    status, output = on_a_terminal([sys.executable, "-c", "from workflow.cli import run_all; run_all()", f"workdir={copy}", "data=imdb",
                                    f"data.path={workdir.parent / 'synthetic.tar.gz'}", "preprocess.min_count=1", *SMALL,
                                    "sweep.modes=[random]", "sweep.seeds=[1]", "trainer.epochs=2"], cwd=tmp_path)
    assert status == 0, output[-3000:]
    assert not [noise for noise in IMPORT_NOISE if noise in output], output[:2000]
    name = run_name("random", seed=1)
    assert re.search(rf"{name} epoch 1/2: +\d+%\|", output), "a tqdm bar: " + output[-3000:]
    output = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)  # the bar's and the stage lines' cursor moves
    stages = stage_lines(output)
    assert stages["preprocess"] == ["skipped (up to date)"] and stages["word2vec"] == ["skipped (up to date)"], stages
    assert stages["training"][0].startswith("1 run (their logs: ") and stages["report"][0].startswith("done in "), stages
    assert len(re.findall(rf"^{name} epoch \d/2: loss ", output.replace("\r", "\n"), flags=re.MULTILINE)) == 2
    table = output[RESULTS_HEADER.search(output).start():].splitlines()
    assert re.fullmatch(r"random +261 +0\.\d{4} +1", table[1].strip()), table
    assert f"Report:      {copy / 'report' / 'results.md'}" in output


def test_jobs_side_by_side_show_lines_unless_told_otherwise(make_config):
    """A launcher other than Hydra's basic one runs jobs side by side: the sweep asks them for lines (bars of parallel jobs
    would be drawn over each other), unless wf-run was given terminal.progress itself."""
    from tests.conftest import typed
    from workflow import sweep

    config = typed(make_config())
    arguments = lambda task, hydra: sweep.multirun_arguments(config, task, hydra, "/sweep")  # noqa: E731
    assert "terminal.progress=lines" in arguments([], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    assert "terminal.progress=lines" not in arguments([], []) and "terminal.progress=lines" not in arguments([], ["hydra/launcher=basic"])
    told = arguments(["terminal.progress=bar"], ["hydra/launcher=joblib"])
    assert "terminal.progress=bar" in told and "terminal.progress=lines" not in told


def test_run_names_follow_the_order_of_the_sweeps_jobs(make_config):
    """orchestrate reads the run folders in the order sweep.py's multirun trains them: both come from identity.sweep_axes."""
    from tests.conftest import run_name, typed
    from workflow import sweep
    from workflow.training.identity import sweep_run_names

    cfg = make_config("sweep.modes=[frozen,random]", "sweep.seeds=[0,1]", "sweep.label_budgets=[250,null]")
    names = sweep_run_names(typed(cfg))
    assert names == [run_name(mode, seed, labels=budget) for budget in (250, None) for mode in ("frozen", "random") for seed in (0, 1)]
    assert sweep.sweep_overrides(typed(cfg))[1:] == ["trainer.label_budget=250,null", "embedding.mode=frozen,random", "seed=0,1"]


def test_the_results_table_shows_the_spread_and_interval_only_over_seeds():
    from workflow.console import results_lines

    one = {"mode": "finetune", "labelled_reviews": 22400, "runs": 1, "test_accuracy": [0.8817, 0.0], "test_accuracy_interval": None}
    three = {**one, "mode": "random", "runs": 3, "test_accuracy": [0.8848, 0.0026], "test_accuracy_interval": [0.8783, 0.8913]}
    assert results_lines([{"number": 1, "differs_in": {}, "summary": [one]}]) == [
        "mode      labelled reviews  test accuracy  seeds", "finetune            22,400  0.8817             1"]
    lines = results_lines([{"number": 1, "differs_in": {"config.model.name": "cnn3"}, "summary": [one]},
                           {"number": 2, "differs_in": {"config.model.name": "pooling"}, "summary": [three]}])
    assert lines == ["mode      labelled reviews  test accuracy    seeds  95% CI (t, over seeds)",
                     "configuration 1: model.name=cnn3",
                     "finetune            22,400  0.8817               1",
                     "configuration 2: model.name=pooling",
                     "random              22,400  0.8848 ± 0.0026      3  0.8783 to 0.8913"]
