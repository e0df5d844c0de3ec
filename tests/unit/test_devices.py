"""GPU memory growth in every process, and disjoint GPUs for sweep jobs side by side (fake device lists: no GPU here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workflow.training.devices import MEMORY_GROWTH, VISIBLE, job_gpus, job_slot, machine_gpus, parallel_jobs, slot_gpus

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("start", ["import workflow.cli; workflow.cli.prepare_process()",
                                   "from workflow.training import devices; devices.tensorflow_environment()"])
def test_every_entry_point_grows_gpu_memory_unless_the_user_said_otherwise(start):
    """Every command's process (cli.py; wf-predict), and every training run (training/stage.py), starts with this."""
    show = f"{start}; import os; print(os.environ['{MEMORY_GROWTH}'])"
    environment = {name: value for name, value in os.environ.items() if name != MEMORY_GROWTH}
    for preset, expected in ((None, "true"), ("false", "false")):
        env = environment if preset is None else {**environment, MEMORY_GROWTH: preset}
        shown = subprocess.run([sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
        assert shown.strip() == expected


@pytest.mark.parametrize("gpus,slots,expected", [
    (8, 4, [[0, 1], [2, 3], [4, 5], [6, 7]]),
    (8, 3, [[0, 1], [2, 3], [4, 5]]),  # 6 and 7 idle: every job gets as many replicas
    (4, 4, [[0], [1], [2], [3]]),
    (2, 4, [[0], [1], [0], [1]]),  # more jobs than GPUs: shared
])
def test_slots_get_equal_disjoint_shares_of_the_gpus(gpus, slots, expected):
    names = [f"GPU-{index}" for index in range(gpus)]
    assert [slot_gpus(names, slot, slots) for slot in range(slots)] == [[names[index] for index in share] for share in expected]


def test_the_machines_gpus_are_cuda_visible_devices_or_the_nvidia_device_files(tmp_path):
    for name in ("nvidia0", "nvidia1", "nvidia2", "nvidiactl", "nvidia-uvm", "nvidia-modeset"):
        (tmp_path / name).touch()
    assert machine_gpus({}, dev=str(tmp_path)) == ["0", "1", "2"]
    assert machine_gpus({VISIBLE: "3,5"}, dev=str(tmp_path)) == ["3", "5"]
    assert machine_gpus({VISIBLE: ""}, dev=str(tmp_path)) == machine_gpus({VISIBLE: "-1"}, dev=str(tmp_path)) == []
    assert machine_gpus({}, dev=str(tmp_path / "missing")) == []


def test_only_a_launcher_that_runs_jobs_side_by_side_gets_slots():
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": 3}) == 3
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": -1}) == os.cpu_count()
    assert parallel_jobs({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}) == 1
    assert parallel_jobs({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher", "gpus_per_node": 1}) == 1


class FakeProcess:
    """Records the CUDA_VISIBLE_DEVICES a spawned process would inherit when it starts."""

    def start(self) -> None:
        self.visible = os.environ.get(VISIBLE)


def test_jobs_side_by_side_start_their_processes_on_disjoint_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv(VISIBLE, "0,1,2,3")
    launcher = {"_target_": JOBLIB, "n_jobs": 2}
    first, second, third = FakeProcess(), FakeProcess(), FakeProcess()
    with job_gpus(launcher, str(tmp_path)) as start_first, job_gpus(launcher, str(tmp_path)) as start_second:
        start_first(first)
        start_second(second)
        assert os.environ[VISIBLE] == "0,1,2,3", "this process's own environment is left as it was"
    with job_gpus(launcher, str(tmp_path)) as start_third:  # the first slot is free again
        start_third(third)
    assert (first.visible, second.visible, third.visible) == ("0,1", "2,3", "0,1")
    sequential = FakeProcess()
    with job_gpus({"_target_": JOBLIB, "n_jobs": 1}, str(tmp_path)) as start:
        start(sequential)
    assert sequential.visible == "0,1,2,3"


def test_a_slot_is_held_until_its_job_ends(tmp_path):
    with job_slot(str(tmp_path), 3) as first, job_slot(str(tmp_path), 3) as second:
        with job_slot(str(tmp_path), 3) as third:
            assert (first, second, third) == (0, 1, 2)
        with job_slot(str(tmp_path), 3) as again:
            assert again == 2
