"""The trainer through its command line: replicas, workers, resume after kill -9, multirun, bad overrides.

Each test starts fresh ``wf-train`` processes, because a TensorFlow process
fixes its devices (two logical CPUs here) and cluster when it starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.conftest import compose_config, synthetic_reviews, typed, write_aclimdb_archive
from workflow.artifacts import read_json
from workflow.training.layout import RunLayout
from workflow.embeddings import stage as word2vec_stage
from workflow.preprocess import stage as preprocess_stage
from workflow.training.model import load_classifier

pytestmark = pytest.mark.slow  # worker processes, logical devices or trainings

SMALL_RUN = ("word2vec.workers=1", "word2vec.vector_size=16", "word2vec.epochs=5", "trainer.min_epoch_examples=1")
# The default dropout (0.5) stays on: its masks follow each example's row in the global batch, so every layout matches.
# A label budget below the training split (about 270 reviews): it is read with tf.data, which initialises TensorFlow, so
# logical devices and a worker's collectives must be set up before it ("Virtual devices cannot be modified after being
# initialized", "Collective ops must be configured at program startup"); every layout below trains on the same 200.
BUDGET = 200
# One epoch (12 steps): one device and two replicas sum a batch's gradients in another order, and Adam turns a rounding
# difference in a gradient near 0 into a whole step of either sign. After one epoch the weights agree within 2.1e-5 on
# an AMD EPYC; after two they differed by up to 2.8e-2 in a few convolution weights there (1.3e-5 on an Intel Xeon).
EXACT = (*SMALL_RUN, "trainer.epochs=1", "trainer.learning_rate=0.01", f"trainer.label_budget={BUDGET}")
TRAIN = "from workflow.cli import train; train()"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("distributed")
    archive = write_aclimdb_archive(root / "synthetic.tar.gz", synthetic_reviews(150, 50, 100, seed=1))
    workdir = root / "work"
    config = typed(compose_config(workdir, "data=imdb", f"data.path={archive}", "preprocess.min_count=1", *SMALL_RUN))
    preprocess_stage.run(config)
    word2vec_stage.run(config)
    return workdir


def wf_train(workdir: Path, *overrides: str, env: dict | None = None, **popen) -> subprocess.Popen:
    flags = [argument for argument in overrides if argument.startswith("-")]
    command = [sys.executable, "-c", TRAIN, *flags, f"workdir={workdir}", *[o for o in overrides if o not in flags]]
    popen.setdefault("stdout", subprocess.PIPE)
    return subprocess.Popen(command, cwd=workdir.parent, env={**os.environ, **(env or {})}, text=True,
                            stderr=subprocess.STDOUT, **popen)


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=300)
    output = output or ""  # empty when the output went to a file
    assert process.returncode == 0, output[-3000:]
    return output


def weights(workdir: Path, run_name: str) -> list[np.ndarray]:
    model = load_classifier(RunLayout(os.path.join(workdir, "runs", run_name)).export)
    return [keras.ops.convert_to_numpy(weight) for weight in model.weights]


def metrics(workdir: Path, run_name: str) -> dict:
    return read_json(RunLayout(os.path.join(workdir, "runs", run_name)).metrics)


@pytest.fixture(scope="module")
def two_replicas(workdir) -> str:
    """MirroredStrategy over two logical CPU devices, 8 examples per replica."""
    finish(wf_train(workdir, *EXACT, "strategy=mirrored", "strategy.logical_devices=2", "trainer.batch_size=8", "trainer.run_name=two"))
    return "two"


def test_one_and_two_replicas_reach_the_same_weights(workdir, two_replicas):
    finish(wf_train(workdir, *EXACT, "strategy=mirrored", "strategy.logical_devices=1", "trainer.batch_size=16", "trainer.run_name=one"))
    one, two = metrics(workdir, "one"), metrics(workdir, two_replicas)
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert one["global_batch_size"] == two["global_batch_size"] == 16
    assert one["examples"]["train"] == two["examples"]["train"] == BUDGET
    # Two replicas sum their gradients in another order than one device: weights differ by float rounding (EXACT).
    for single, mirrored in zip(weights(workdir, "one"), weights(workdir, two_replicas), strict=True):
        np.testing.assert_allclose(single, mirrored, rtol=1e-4, atol=5e-5)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def start_workers(workdir: Path, *overrides: str, other_output: Path | None = None) -> list[subprocess.Popen]:
    """Two ``wf-train strategy=multiworker`` processes on 127.0.0.1; the chief's output is piped, the other's
    goes to ``other_output`` (a file, so that an unread pipe cannot block it) or is piped too."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        popen = {"stdout": open(other_output, "w")} if index and other_output else {}
        workers.append(wf_train(workdir, *overrides, "strategy=multiworker",
                                env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}, **popen))
    return workers


def test_two_worker_processes_train_like_two_replicas(workdir, two_replicas):
    for worker in start_workers(workdir, *EXACT, "trainer.batch_size=8", "trainer.run_name=multi"):
        finish(worker)
    result = metrics(workdir, "multi")
    assert result["replicas"] == 2 and result["strategy"].startswith("MultiWorkerMirroredStrategy")
    assert result["examples"]["train"] == BUDGET
    assert not (workdir / "runs" / "multi" / ".worker-1").exists(), "the other worker cleans up its checkpoints"
    for multi, mirrored in zip(weights(workdir, "multi"), weights(workdir, two_replicas), strict=True):
        np.testing.assert_allclose(multi, mirrored, rtol=1e-4, atol=1e-5)


def test_two_workers_killed_mid_epoch_resume_from_the_chiefs_checkpoint(workdir, tmp_path):
    # terminal.steps=true: the "checkpoint ... saved" lines, which go to the log file only by default, on the output too
    command = (*SMALL_RUN, "trainer.epochs=2", "trainer.batch_size=4", "trainer.checkpoint_every_steps=10", "terminal.steps=true")
    chief, other = start_workers(workdir, *command, "trainer.run_name=workers-killed", other_output=tmp_path / "other.log")
    for line in chief.stdout:  # wait for a mid-epoch checkpoint of epoch 2, then kill both workers
        if re.search(r"checkpoint .* saved \(epoch 2, step [1-9]", line):
            for worker in (chief, other):
                worker.send_signal(signal.SIGKILL)
            break
    for worker in (chief, other):
        worker.wait(timeout=60)
        assert worker.returncode == -signal.SIGKILL, "training finished before it could be killed"
    layout = RunLayout(os.path.join(workdir, "runs", "workers-killed"))
    interrupted = read_json(layout.state)
    assert not os.path.exists(layout.metrics) and interrupted["epoch"] == 1

    restarted = start_workers(workdir, *command, "trainer.run_name=workers-killed", other_output=tmp_path / "other-again.log")
    outputs = [finish(worker) for worker in restarted]
    resumed_from = f"resuming from ckpt-{interrupted['global_step']}: epoch 2, step {interrupted['step_in_epoch']}"
    assert resumed_from in outputs[0] and resumed_from in (tmp_path / "other-again.log").read_text(), "both workers resume from the chief's checkpoint"
    assert not (Path(layout.root) / ".worker-1").exists(), "the other worker cleans up its own saves"
    # Uninterrupted, the same global batch on two logical devices of one process trains the same weights (two workers
    # equal two replicas: test_two_worker_processes_train_like_two_replicas).
    finish(wf_train(workdir, *command, "strategy=mirrored", "strategy.logical_devices=2", "trainer.run_name=replicas-straight"))
    for after_resume, straight in zip(weights(workdir, "workers-killed"), weights(workdir, "replicas-straight"), strict=True):
        np.testing.assert_allclose(after_resume, straight, rtol=1e-4, atol=1e-5)
    # Re-running the finished run ends cleanly on both workers, nothing trained.
    again = [finish(worker) for worker in start_workers(workdir, *command, "trainer.run_name=workers-killed")]
    assert all("already finished with this configuration" in output for output in again)


def test_kill_9_mid_epoch_then_same_command_resumes(workdir):
    """Killed and resumed with 8 steps per call, against 1 step per call uninterrupted: the same weights and history, bit for bit."""
    # terminal.steps=true: the "checkpoint ... saved" lines, which go to the log file only by default, on the output too
    command = (*SMALL_RUN, "trainer.epochs=2", "trainer.batch_size=4", "trainer.checkpoint_every_steps=10", "terminal.steps=true")
    process = wf_train(workdir, *command, "trainer.steps_per_loop=8", "trainer.run_name=killed")
    for line in process.stdout:  # wait for the first mid-epoch checkpoint of epoch 2
        if re.search(r"checkpoint .* saved \(epoch 2, step [1-9]", line):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "training finished before it could be killed"
    layout = RunLayout(os.path.join(workdir, "runs", "killed"))
    assert not os.path.exists(layout.metrics), "a killed run must not look finished"
    interrupted = read_json(layout.state)
    assert interrupted["epoch"] == 1 and interrupted["step_in_epoch"] > 0

    output = finish(wf_train(workdir, *command, "trainer.steps_per_loop=8", "trainer.run_name=killed"))
    assert f"resuming from ckpt-{interrupted['global_step']}: epoch 2, step {interrupted['step_in_epoch']}" in output
    assert "epoch 1/2" not in output, "the first epoch is not trained again"
    resumed = metrics(workdir, "killed")
    finish(wf_train(workdir, *command, "trainer.run_name=uninterrupted"))
    reference = metrics(workdir, "uninterrupted")
    assert resumed["epochs_run"] == reference["epochs_run"] == 2
    # Same batches in the same order and the dropout generator's state restored: the same model.
    assert resumed["history"] == reference["history"]
    for after_resume, straight in zip(weights(workdir, "killed"), weights(workdir, "uninterrupted"), strict=True):
        np.testing.assert_array_equal(after_resume, straight)


def test_multirun_jobs_run_in_separate_processes(workdir):
    output = finish(wf_train(workdir, "-m", *SMALL_RUN, "embedding=frozen,random", "trainer.epochs=1", "seed=5"))
    frozen, random = metrics(workdir, "frozen-cnn3-word2vec-rownorm-seed5"), metrics(workdir, "random-cnn3-word2vec-seed5")
    assert frozen["mode"] == "frozen" and random["mode"] == "random"
    assert frozen["process_id"] != random["process_id"]
    job_logs = sorted((workdir / "multirun").glob("*/*/*.log"))
    assert len(job_logs) == 2 and all("done in" in log.read_text() for log in job_logs), output[-2000:]


def test_bad_override_fails_before_training_and_names_the_key(workdir):
    bad_value = wf_train(workdir, "trainer.batch_size=0")
    output = bad_value.communicate(timeout=120)[0]
    assert bad_value.returncode == 2 and "error: trainer.batch_size=0: must be >= 1" in output
    bad_choice = wf_train(workdir, "model.encoder=transformer")
    output = bad_choice.communicate(timeout=120)[0]
    assert bad_choice.returncode == 1 and "model.encoder" in output
    assert not list((workdir / "runs").glob("finetune-*-seed0"))
