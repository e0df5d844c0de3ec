"""wf-run's training sweep through a second Hydra launcher: submitit's local executor (``hydra/launcher=submitit_local``).

submitit_local is what submitit_slurm runs on a cluster, less Slurm: every
job is pickled into ``<sweep dir>/.submitit/<job id>/`` and started as a
process of its own (``python -m submitit.core._submit``), which writes its
own ``<job id>_0_log.out``/``.err`` there; all jobs start at once. The
launcher's settings go to wf-run as they would on a cluster
(``hydra.launcher.*``) and wf-run hands them on to the training multirun
(workflow/sweep.py). The jobs are those of the joblib test
(test_workflow_run.py): a run folder left corrupt makes one job fail, by a
means the test controls.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL, run_name
from workflow.artifacts import read_json

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None,
    reason="hydra-submitit-launcher is not installed (the slurm extra: pip install '.[slurm]'; the test extra has it)")


def test_the_sweep_through_submitit_local_runs_each_job_in_a_process_of_its_own_and_survives_a_failed_job(workflow_run, tmp_path):
    workdir, _ = workflow_run
    copy = tmp_path / "work"
    for stage in ("preprocess", "word2vec"):
        shutil.copytree(workdir / stage, copy / stage)
    failing = copy / "runs" / run_name("finetune")  # a run folder left corrupt by something else: that job fails
    failing.mkdir(parents=True)
    (failing / "identity.json").write_text("{")
    process = subprocess.run([sys.executable, "-c", "from workflow.cli import run_all; run_all()", f"workdir={copy}", "data=imdb",
                              f"data.path={workdir.parent / 'synthetic.tar.gz'}", "preprocess.min_count=1", *SMALL,
                              "sweep.modes=[finetune,random]", "hydra/launcher=submitit_local",
                              # A job that hangs is ended (SIGTERM, then SIGKILL) after this, not after the default 60 minutes.
                              "hydra.launcher.timeout_min=10"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = process.stdout + process.stderr
    assert process.returncode == 1, output[-3000:]
    assert "word2vec     skipped (up to date)" in output
    # Hydra's own lines go to wf-run's log file: the launcher that ran the jobs is named there.
    hydra_lines = Path(re.search(r"^Log: +(\S+)$", output, flags=re.MULTILINE).group(1)).read_text()
    assert "Submitit 'local' sweep output dir" in hydra_lines
    assert re.search(r"training sweep: wf-train -m .* hydra/launcher=submitit_local ", hydra_lines)
    # The job that could run trained the run the basic launcher trained (workflow_run), to the same result.
    sequential = read_json(str(workdir / "runs" / run_name("random") / "metrics.json"))
    parallel = read_json(str(copy / "runs" / run_name("random") / "metrics.json"))
    assert parallel["identity"] == sequential["identity"] and parallel["test"] == sequential["test"]
    assert not (failing / "metrics.json").exists()
    results = (copy / "report" / "results.md").read_text()
    assert re.search(r"\| random \| \d+ \| 1 \(0\) \|", results) and "## Failed runs" in results
    sweep_dir = Path(re.search(r"their logs: (\S+)/<run name>", output).group(1))
    trainers = set()
    for mode in ("finetune", "random"):
        log = sweep_dir / run_name(mode) / "train.log"
        text = log.read_text()
        trainers.add(re.search(rf"training {run_name(mode)} in process (\d+)", text).group(1))
        if mode == "finetune":
            assert "JSONDecodeError" in text and f"`{log}`" in results and f"Failed:      {run_name(mode)}: {log}" in output
        else:
            assert "JSONDecodeError" not in text and "done in" in text
    assert len(trainers) == 2
    # submitit's own account: one folder per job, named by its job id (the pid of the job's process on the local
    # executor), each with the job's own log; both jobs ended normally, since Hydra records a failed job's error
    # as the job's result.
    jobs = sorted((sweep_dir / ".submitit").glob("*/*_0_log.out"))
    assert len(jobs) == 2 and len({job.parent.name for job in jobs}) == 2, jobs
    for job in jobs:
        assert "Job completed successfully" in job.read_text(), job.read_text()[-2000:]
    assert not trainers & {job.parent.name for job in jobs}, "each job trains in a fresh process of its own, below submitit's"
