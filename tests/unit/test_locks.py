"""The writer lock and the version pins (workflow/locks.py), across real processes.

Processes synchronise through files and the locks themselves, each wait
bounded; no test sleeps for a fixed time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from workflow import locks
from workflow.artifacts import pinned_version
from workflow.storage import Storage

# A second process: "hold" takes the lock and keeps it until <signals>/release exists; "wait" takes it (waiting) and says whether it waited.
CHILD = """
import logging, pathlib, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
from workflow import locks
folder, mode, signals = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
with locks.exclusive(folder) as waited:
    if mode == "hold":
        (signals / "held").touch()
        deadline = time.monotonic() + 120
        while not (signals / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    else:
        (signals / "acquired").write_text(str(waited))
"""


def child(folder: Path, mode: str, signals: Path) -> subprocess.Popen:
    signals.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-c", CHILD, str(folder), mode, str(signals), "--tag", "child"],
                            stderr=open(signals / f"{mode}.log", "w"), text=True)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_second_writer_waits_saying_who_holds_the_lock_then_goes_on(tmp_path):
    folder = tmp_path / "work" / "preprocess"
    with locks.exclusive(str(folder)) as waited:
        assert waited is False
        waiter = child(folder, "wait", tmp_path / "signals")
        log = tmp_path / "signals" / "wait.log"
        wait_for(lambda: "waiting for" in log.read_text(), "the second writer to say it waits")
        message = log.read_text()
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in message
        assert str(tmp_path / "work" / ".locks" / "preprocess.lock") in message and os.path.basename(sys.argv[0]) in message
        assert not (tmp_path / "signals" / "acquired").exists()
    assert waiter.wait(timeout=60) == 0
    assert (tmp_path / "signals" / "acquired").read_text() == "True"


def test_without_waiting_a_second_writer_refuses_in_one_line_and_a_dead_holder_releases_the_lock(tmp_path):
    folder = tmp_path / "work" / "word2vec"
    signals = tmp_path / "signals"
    holder = child(folder, "hold", signals)
    try:
        wait_for(lambda: (signals / "held").exists(), "the child to hold the lock")
        with pytest.raises(locks.StageBusy) as refused:
            with locks.exclusive(str(folder), wait=False):
                pass
        message = str(refused.value)
        assert len(message.splitlines()) == 1 and message.startswith(f"{folder} is being written by pid {holder.pid} on host ")
        assert "--tag child" in message, "the holder's command line"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    with locks.exclusive(str(folder), wait=False) as waited:  # the kernel dropped the dead process's lock
        assert waited is False


def test_the_lock_is_re_entrant_within_a_process(tmp_path):
    folder = str(tmp_path / "report")
    with locks.exclusive(folder), locks.exclusive(folder) as again:
        assert again is False
    with locks.exclusive(folder, wait=False):
        pass


def test_a_pinned_version_is_not_removed_until_its_pin_is_released(tmp_path):
    version = tmp_path / ".preprocess.v-0123"
    version.mkdir()
    (tmp_path / "preprocess").symlink_to(version.name)
    removed = []
    with pinned_version(str(tmp_path / "preprocess")) as pinned:
        assert pinned == str(version)
        assert not locks.try_remove(str(version), removed.append)
    assert locks.try_remove(str(version), removed.append) and removed == [str(version)]
    assert not Path(locks.pin_path(str(version))).exists()


def test_a_lease_on_an_object_store_refuses_a_second_writer_and_ignores_an_expired_one(monkeypatch):
    boto3 = pytest.importorskip("boto3", reason="the [aws] extra (apache-beam[aws]) is not installed")
    moto_server = pytest.importorskip("moto.server", reason="moto[server] (in the [test] extra) is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(name, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket="leases")
        store = Storage({})  # the store's options, given to the lock (none here: the endpoint is in the environment)
        folder = "s3://leases/work/preprocess"
        lock = locks.lock_path(folder)
        assert lock == "s3://leases/work/.locks/preprocess.lock"
        client.put_object(Bucket="leases", Key="work/.locks/preprocess.lease-dead.json", Body=b'{"pid": 1, "renewed": 0}')
        # Two writers in one process stand for two processes (the re-entrant front door would let this one in).
        with locks._lease(lock, folder, wait=False, storage=store) as waited:
            assert waited is False
            with pytest.raises(locks.StageBusy, match=rf"^{folder} is being written by pid {os.getpid()} on host .*lease s3://"):
                with locks._lease(lock, folder, wait=False, storage=store):
                    pass
        listed = client.list_objects_v2(Bucket="leases", Prefix="work/.locks/").get("Contents", [])
        assert listed == [], "the expired lease is removed, the released one deleted"
    finally:
        server.stop()
