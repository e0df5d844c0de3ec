"""Process-level GPU settings: memory taken as it is needed, and GPUs of their own for sweep jobs run side by side.

Memory. TensorFlow's GPU allocator reserves nearly all of a GPU's memory the
first time a process uses it, so a second process on that GPU (a parallel
sweep job, the report, a notebook) runs out. ``TF_FORCE_GPU_ALLOW_GROWTH=true``
makes it take memory as the process needs it. The allocator reads the
variable when it is created, so it must be in the environment before the
first GPU op; child processes inherit it. Every entry point sets it
(:func:`grow_gpu_memory`) unless it is set already:
``TF_FORCE_GPU_ALLOW_GROWTH=false`` keeps TensorFlow's default.

Parallel jobs. ``hydra/launcher=joblib`` runs ``hydra.launcher.n_jobs``
training jobs at once on one machine, and each would build MirroredStrategy
over every GPU. Each job takes the lowest free of ``n_jobs`` slots (a lock
file in the sweep folder, held until its training process exits), and that
process sees only the slot's GPUs (``CUDA_VISIBLE_DEVICES``, :func:`slot_gpus`):
with G GPUs and n <= G slots, slot k gets GPUs ``k*(G//n)`` to
``(k+1)*(G//n) - 1`` (the ``G mod n`` left over stay idle, so that every job
has as many replicas, and the same global batch); with n > G, slot k shares
GPU ``k mod G``. A job sees only the GPUs of ``CUDA_VISIBLE_DEVICES`` when it is
set, all of ``/dev/nvidia<N>`` otherwise. Launchers that place jobs
themselves (submitit's, whose SLURM and local executors set
``CUDA_VISIBLE_DEVICES``) and the basic launcher (one job at a time) are left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
from typing import Callable, Iterator, Mapping, MutableMapping

log = logging.getLogger(__name__)

MEMORY_GROWTH = "TF_FORCE_GPU_ALLOW_GROWTH"
VISIBLE = "CUDA_VISIBLE_DEVICES"
SLOTS_FOLDER = ".gpu-slots"
_STARTING = threading.Lock()  # one job at a time changes this process's environment to start its child


def grow_gpu_memory(environ: MutableMapping[str, str] = os.environ) -> None:
    """GPU memory taken as needed by this process and its children, unless ``TF_FORCE_GPU_ALLOW_GROWTH`` says otherwise."""
    environ.setdefault(MEMORY_GROWTH, "true")


def tensorflow_environment(environ: MutableMapping[str, str] = os.environ) -> None:
    """What TensorFlow reads from the environment once per process, set (unless set already) before it does: GPU memory
    as it is needed (:func:`grow_gpu_memory`), and GPU scatters on the device.

    ``TF_DISABLE_SCATTER_OP_DETERMINISM``: with op determinism on and it unset, a GPU scatter (resource_variable_ops.cc's
    DoScatter) copies the whole variable to the host, scatters there and copies it back: three times per fine-tuned
    table per step in the lazy Adam update. Every scatter of the training step writes indices made unique first
    (optimizer.sum_duplicate_rows; tests/unit/test_steps.py checks the step's graph), and a scatter of unique indices is
    deterministic on the device. Every command sets both when its process starts (workflow/cli.py), and a training run
    when it starts (training/stage.py), for runs started from a script or a notebook.
    """
    environ.setdefault("TF_DISABLE_SCATTER_OP_DETERMINISM", "1")
    grow_gpu_memory(environ)


def machine_gpus(environ: Mapping[str, str] = os.environ, dev: str = "/dev") -> list[str]:
    """The GPUs a process started here may use: ``CUDA_VISIBLE_DEVICES``'s entries when it is set, else ``0..N-1`` for
    the N ``/dev/nvidia<N>`` devices (without starting CUDA, which would fix this process's devices)."""
    if VISIBLE in environ:
        return [] if environ[VISIBLE].strip() in ("", "-1") else [gpu.strip() for gpu in environ[VISIBLE].split(",")]
    try:
        count = sum(1 for name in os.listdir(dev) if re.fullmatch(r"nvidia\d+", name))
    except OSError:
        count = 0
    return [str(index) for index in range(count)]


def slot_gpus(gpus: list[str], slot: int, slots: int) -> list[str]:
    """The GPUs of job slot ``slot`` of ``slots`` (see the module docstring)."""
    if slots <= len(gpus):
        share = len(gpus) // slots
        return gpus[slot * share:(slot + 1) * share]
    return [gpus[slot % len(gpus)]]


def parallel_jobs(launcher: Mapping) -> int:
    """How many jobs ``launcher`` (``hydra.launcher``) runs at once on this machine without placing them on GPUs itself."""
    if "joblib" not in str(launcher.get("_target_", "")):
        return 1
    import joblib

    return joblib.effective_n_jobs(launcher.get("n_jobs"))


@contextlib.contextmanager
def job_slot(folder: str, slots: int) -> Iterator[int]:
    """The lowest of ``slots`` slots no other job holds, held until the block ends (waits for one when all are taken)."""
    os.makedirs(folder, exist_ok=True)
    handles, slot = [], None
    try:
        for candidate in range(slots):
            handles.append(open(os.path.join(folder, f"slot-{candidate}.lock"), "a"))
            try:
                fcntl.flock(handles[-1], fcntl.LOCK_EX | fcntl.LOCK_NB)
                slot = candidate
                break
            except BlockingIOError:
                continue
        if slot is None:  # more jobs than slots (a launcher that runs more than it said): wait for one
            slot = os.getpid() % slots
            fcntl.flock(handles[slot], fcntl.LOCK_EX)
        yield slot
    finally:
        for handle in handles:
            handle.close()  # releases its lock


def _start(process) -> None:
    process.start()


@contextlib.contextmanager
def sweep_job_gpus() -> Iterator[Callable]:
    """:func:`job_gpus` for this Hydra job, from its launcher's settings and in its sweep folder (outside a sweep:
    ``start(process)`` only starts it)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        yield _start
        return
    hydra = HydraConfig.get()
    with job_gpus(hydra.launcher, os.path.join(hydra.sweep.dir, SLOTS_FOLDER)) as start:
        yield start


@contextlib.contextmanager
def job_gpus(launcher: Mapping, folder: str, gpus: list[str] | None = None) -> Iterator[Callable]:
    """``start(process)``: starts a training job's process seeing only the GPUs of this job's slot (of the slots in
    ``folder``) when ``launcher`` runs jobs side by side; the slot is held until the block ends. ``gpus``: the
    machine's (default: :func:`machine_gpus`)."""
    gpus = machine_gpus() if gpus is None else gpus
    slots = parallel_jobs(launcher)
    if slots <= 1 or not gpus:
        yield _start
        return
    with job_slot(folder, slots) as slot:
        visible = ",".join(slot_gpus(gpus, slot, slots))
        log.info("%d jobs side by side on %d GPU(s): this one (slot %d) sees GPU(s) %s", slots, len(gpus), slot, visible)

        def start(process) -> None:
            with _STARTING:
                before = os.environ.get(VISIBLE)
                os.environ[VISIBLE] = visible
                try:
                    process.start()  # a spawned process inherits the environment as it is now
                finally:
                    if before is None:
                        del os.environ[VISIBLE]
                    else:
                        os.environ[VISIBLE] = before

        yield start
