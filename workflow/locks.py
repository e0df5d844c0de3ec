"""One writer per stage folder: an exclusive lock beside it, and shared pins on published versions.

Local disk: ``fcntl.flock`` on ``<folder's parent>/.locks/<name>.lock``. The
kernel drops a flock when its process dies (however it dies), so a crash
never leaves a stage locked. The holder writes who it is (pid, host, start
time, command) into the lock file, so that a second writer can say whom it is
waiting for. Lock files are never deleted: deleting one while another process
waits on it would let a third take a fresh file, and two would write.

Object store (``s3://``, ``gs://``): no flock and no conditional create
through Beam's filesystems, so a single-writer rule is enforced by a check. A
writer puts a lease object with a unique token
(``.locks/<name>.lease-<token>.json``), lists the leases, and goes ahead only
when no other live lease is there; otherwise it deletes its own and waits (or
refuses). With the stores' strong read-after-write listing (S3, GCS), two
writers can both back off, never both go ahead: the later of the two puts
sees the earlier one. A lease is live while its holder renews it
(every ``LEASE_SECONDS / 3``, from a thread); one not renewed for
``LEASE_SECONDS`` belongs to a dead process (or one paused that long, and
clocks must agree to well within that) and is removed.

Locks are re-entrant within a process (its threads count as one holder: no
stage runs two writers in threads): the orchestrator holds a stage's lock
around "is it up to date? else run", and the stage's own publish takes it
again without deadlocking itself.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import logging
import os
import random
import shlex
import socket
import sys
import threading
import time
import uuid
from typing import Callable, Iterator

from workflow.errors import ContractError
from workflow.storage import IN_JOB, Storage, is_local, join, split

log = logging.getLogger(__name__)
LOCKS = ".locks"
LEASE_SECONDS = 300.0
_held: dict[str, int] = {}  # lock path -> depth, for the locks this process holds
_held_guard = threading.Lock()


class StageBusy(ContractError):
    """Another live run is writing the stage folder (raised when the caller asked not to wait)."""


def lock_path(folder: str) -> str:
    """``<parent>/.locks/<name>.lock`` for the stage (or run) folder ``folder``."""
    parent, name = split(folder.rstrip("/"))
    return join(parent, LOCKS, f"{name}.lock")


def pin_path(version: str) -> str:
    """``<parent>/.locks/<version folder name>.pin``: readers hold it shared, the remover exclusive."""
    parent, name = os.path.split(version.rstrip("/"))
    return os.path.join(parent, LOCKS, f"{name}.pin")


def holder_record() -> dict:
    """Who this process is, as a waiting writer reports it."""
    command = shlex.join([os.path.basename(sys.argv[0]), *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "command": command}


def describe(holder: dict | None) -> str:
    """``pid 123 on host h since 2026-12-01T21:00:00Z (wf-preprocess ...)``, or what is known of it."""
    if not holder:
        return "another process (it has not written who it is yet)"
    return f"pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('started')} ({holder.get('command')})"


@contextlib.contextmanager
def exclusive(folder: str, wait: bool = True, storage: Storage = IN_JOB) -> Iterator[bool]:
    """Hold the writer lock of ``folder``; yields whether this call had to wait for another writer.

    ``wait=False``: StageBusy (one line naming the holder and the lock file) instead of waiting.
    ``storage``: the storage of a folder on an object store (its options), where the lock is a lease object.
    """
    path = lock_path(folder)
    with _held_guard:
        depth = _held.get(path, 0)
        _held[path] = depth + 1
    try:
        if depth:
            yield False  # this process holds it already
            return
        with (_flock(path, folder, wait) if is_local(path) else _lease(path, folder, wait, storage)) as waited:
            yield waited
    finally:
        with _held_guard:
            _held[path] -= 1
            if not _held[path]:
                del _held[path]


@contextlib.contextmanager
def _flock(path: str, folder: str, wait: bool) -> Iterator[bool]:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by exec'd children (Beam's workers)
    try:
        waited = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe(_read_holder(fd))
            if not wait:
                raise StageBusy(f"{folder} is being written by {holder}; lock {path}") from None
            log.warning("%s: waiting for the run writing it: %s (lock %s)", folder, holder, path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            waited = True
            log.info("%s: lock acquired after waiting", folder)
        record = json.dumps(holder_record()).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        yield waited
        os.ftruncate(fd, 0)  # still holding it: nobody reads a finished holder as the current one
    finally:
        os.close(fd)  # releases the lock


def _read_holder(fd: int) -> dict | None:
    try:
        return json.loads(os.pread(fd, 1 << 16, 0) or b"null")
    except ValueError:  # the holder is writing it right now
        return None


@contextlib.contextmanager
def pinned(version: str) -> Iterator[bool]:
    """Hold a shared pin on a published version folder; yields whether the folder is still there.

    A publisher removes an old version only when it can take the pin exclusively
    (:func:`try_remove`), so a version stays on disk while any run pins it. A reader
    that resolved the pointer just before a publish may find its version removed
    in between: then this yields False and the reader resolves again.
    """
    path = pin_path(version)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # blocks only while a remover holds it, i.e. while the folder goes
        yield os.path.isdir(version)
    finally:
        os.close(fd)


def try_remove(version: str, remove: Callable[[str], object]) -> bool:
    """``remove(version)`` when no run pins it (non-blocking); False, leaving it, when one does."""
    path = pin_path(version)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        remove(version)
        os.unlink(path)  # a reader blocked on this inode wakes to find the folder gone, and resolves again
        return True
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- object stores


@contextlib.contextmanager
def _lease(path: str, folder: str, wait: bool, storage: Storage) -> Iterator[bool]:
    prefix = path[: -len(".lock")] + ".lease-"
    token = uuid.uuid4().hex
    mine = f"{prefix}{token}.json"
    record = holder_record()
    waited, said = False, False
    while True:
        _write_lease(mine, record, storage)
        others = [lease for lease in _live_leases(prefix, storage) if lease["path"] != mine]
        if not others:
            break
        storage.delete([mine])
        holder = describe(others[0])
        if not wait:
            raise StageBusy(f"{folder} is being written by {holder}; lease {others[0]['path']}")
        if not said:
            log.warning("%s: waiting for the run writing it: %s (lease %s)", folder, holder, others[0]["path"])
            said = True
        waited = True
        time.sleep(random.uniform(1.0, 5.0))  # jittered: two writers that saw each other do not retry in step
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(mine, record, stop, storage), name=f"lease {mine}", daemon=True)
    renewer.start()
    try:
        yield waited
    finally:
        stop.set()
        renewer.join()
        storage.delete([mine])


def _write_lease(path: str, record: dict, storage: Storage) -> None:
    with storage.create(path) as handle:
        handle.write(json.dumps({**record, "renewed": time.time()}).encode())


def _renew(path: str, record: dict, stop: threading.Event, storage: Storage) -> None:
    while not stop.wait(LEASE_SECONDS / 3):
        _write_lease(path, record, storage)


def _live_leases(prefix: str, storage: Storage) -> list[dict]:
    """Every live lease under ``prefix`` (oldest first); expired ones are deleted on the way."""
    live, expired = [], []
    for metadata in storage.match(prefix + "*.json"):
        try:
            with storage.open(metadata.path) as handle:
                lease = json.loads(handle.read())
        except Exception:  # noqa: BLE001 - released between the listing and the read (each store raises its own error)
            continue
        if time.time() - lease.get("renewed", 0) > LEASE_SECONDS:
            expired.append(metadata.path)
        else:
            live.append({**lease, "path": metadata.path})
    if expired:
        log.warning("removing expired lease(s) of dead writers: %s", ", ".join(expired))
        storage.delete(expired)
    return sorted(live, key=lambda lease: lease["renewed"])
