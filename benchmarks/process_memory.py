"""Run a command and sample the peak resident memory of it and of every process it starts.

``VmHWM`` (the kernel's high-water mark of resident memory) is read from
``/proc`` for the command's whole process tree twice a second, so Beam's SDK
worker processes are measured as well as the command itself. Shared by the
preprocessing benchmarks.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def peak_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_sampled(command: list[str], log_path: Path) -> tuple[float, list[int]]:
    """Wall seconds of ``command`` and the peak RSS (MB) of each of its processes, sorted.

    Its output goes to ``log_path``; SystemExit naming it when the command fails.
    """
    peaks: dict[int, float] = {}
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                for pid in descendants(process.pid):
                    peak = peak_rss_mb(pid)
                    if peak is not None:
                        peaks[pid] = max(peaks.get(pid, 0.0), peak)
                done.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"command failed (its output: {log_path}): {' '.join(command)}")
    return seconds, sorted(round(value) for value in peaks.values())
