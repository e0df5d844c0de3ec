"""What every stage shares to write its outputs: files, digests, manifests, one writer, atomic publishing.

One writer per stage folder, and one step that readers see. A stage holds
the folder's writer lock (``<workdir>/.locks/<stage>.lock``, workflow/locks.py)
from "is it up to date?" to its publish, writes into a staging folder beside
the final one, ``manifest.json`` last, and publishes it as a version: the
staging folder is renamed to ``.<stage>.v-<id>`` and ``<workdir>/<stage>``, a
relative symlink, is replaced by one to the new version in a single
``os.replace``. A reader that opens ``<workdir>/<stage>/...`` sees the old
version or the new one, never half of each; readers that must see one version
for their whole life (a training run reads the test shards at its end)
resolve the link once and pin that version (a shared flock on
``.locks/.<stage>.v-<id>.pin``). Old versions are removed by the next writer
of the stage when no run pins them; under the lock, every staging folder is
an interrupted run's and is removed too. So a stage folder with a manifest is
finished, and a live run's staging folder is never touched::

    <workdir>/preprocess -> .preprocess.v-<id>   the pointer (a folder published by older code is replaced on the next publish)
    <workdir>/.preprocess.v-<id>/                the published version (an older one stays while a run pins it)
    <workdir>/.preprocess.staging-<id>/          a run's staging folder, while it runs
    <workdir>/.locks/preprocess.lock             writer lock: flock'ed by the writer, holding its pid, host, start time, command
    <workdir>/.locks/.preprocess.v-<id>.pin      shared flock of every run that reads that version
    <workdir>/runs/.locks/<run name>.lock        one writer per training run folder (runs are written in place, to resume)

The same holds for ``word2vec/`` and ``imported/<file name>/`` (its locks in
``imported/.locks/``). ``report/``, which no stage reads (people and
TensorBoard do; TensorBoard would list a version folder as a run of its
own), stays a real folder under the same lock, swapped with its staging
folder in one ``renameat2(RENAME_EXCHANGE)`` (two renames where the kernel or
filesystem lacks it).

Each stage folder holds its own layout, the file names it writes and reads:
``preprocess/layout.py``, ``embeddings/layout.py``, ``training/layout.py``.
This module is what they share: files on any Beam filesystem, digests,
manifests, staging and publishing.

The preprocessing folder may also be on an object store (``s3://``,
``gs://``): Beam workers write through ``apache_beam.io.filesystems.FileSystems``; this module through a
``Storage`` (workflow/storage.py) given the store's options by its caller (a local path loads no Beam).
One writer there is a lease object (``.locks/preprocess.lease-<token>.json``,
workflow/locks.py). A store has no rename and no symlink, so publishing is not
one step: it deletes the old manifest (the stage stops looking finished), then
every old object, then moves the new files, the manifest last. A reader sees
no manifest (unfinished) or a complete one, never a mix under one manifest;
one that read the old manifest before the publish may find its files gone and
fails on a missing file rather than reading new ones. Only wf-preprocess
writes to a store; every later stage needs a local workdir. Later stages open
these folders through each stage's reader (``PreprocessOutput``,
``Word2VecOutput``), which hands out only the files a manifest lists.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import logging
import os
import shutil
import uuid
from typing import Any, Iterator

from workflow import locks
from workflow.errors import ContractError
from workflow.storage import IN_JOB, FileInfo, Storage, is_local, join, split

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"




def stage_dir(workdir: str, stage: str) -> str:
    return join(workdir, stage)


class StageFile:
    """A file (or folder) name inside a stage folder, as an attribute of the stage's layout.

    ``vocab = StageFile("vocab.tsv")`` in a layout class with a ``root`` makes
    ``layout.vocab`` the path ``join(layout.root, "vocab.tsv")``.
    """

    def __init__(self, *parts: str):
        self._parts = parts

    def __get__(self, layout: Any, owner: type | None = None) -> Any:
        return self if layout is None else join(layout.root, *self._parts)  # on the class: the descriptor itself


def matching(pattern: str, storage: Storage = IN_JOB) -> list[FileInfo]:
    """The files a path or glob names (a local disk, or any Beam filesystem), sorted by path; [] when it names none.

    A filesystem that cannot be listed (no credentials, an unknown scheme) raises Beam's ``BeamIOError``.
    """
    return storage.match(pattern)


# --------------------------------------------------------------------------- files


def write_text(path: str, text: str, storage: Storage = IN_JOB) -> None:
    with storage.create(path) as handle:
        handle.write(text.encode("utf-8"))


def read_text(path: str, storage: Storage = IN_JOB) -> str:
    with storage.open(path) as handle:
        return handle.read().decode("utf-8")


def write_json(path: str, payload: Any, storage: Storage = IN_JOB) -> None:
    write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n", storage)


def read_json(path: str, storage: Storage = IN_JOB) -> Any:
    return json.loads(read_text(path, storage))


def file_sha256(path: str, storage: Storage = IN_JOB) -> str:
    """SHA-256 of a file's bytes (local, or any Beam filesystem)."""
    if is_local(path):
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    digest = hashlib.sha256()
    with storage.open(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: str, payload: Any) -> None:
    """Local JSON written to a temporary name and renamed: readers never see half a file."""
    temporary = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(temporary, path)


def read_manifest(stage_root: str, storage: Storage = IN_JOB) -> dict | None:
    """The stage's manifest, or None when the stage never finished."""
    path = join(stage_root, MANIFEST)
    return read_json(path, storage) if storage.exists(path) else None


def require_manifest(stage_root: str, command: str, format_name: str, format_version: int) -> dict:
    """The manifest of a finished stage in the format this code reads; ContractError telling what to run otherwise.

    ``format_version``: the stage's ``FORMAT_VERSION``, which its key records; ``format_name`` names it in the error.
    """
    manifest = read_manifest(stage_root)
    if manifest is None:
        raise ContractError(f"no finished stage in {stage_root} (no {MANIFEST}): run {command} first")
    recorded = manifest.get("key", {}).get("format_version")
    if recorded != format_version:
        raise ContractError(f"{join(stage_root, MANIFEST)} is in {format_name} format {recorded}, this code reads format "
                            f"{format_version}: re-run {command}")
    return manifest


def listed_files(root: str, storage: Storage = IN_JOB) -> dict[str, dict]:
    """``{name relative to root: {"sha256": ...}}`` for every file under ``root`` except the manifest.

    A stage records this in its manifest (written last), so readers hand out
    only listed files and can check them.
    """
    listed = {}
    for meta in matching(join(root, "**"), storage):
        name = meta.path[len(root.rstrip("/")) + 1:]
        if name != MANIFEST:
            listed[name] = {"sha256": file_sha256(meta.path, storage)}
    return listed


# --------------------------------------------------------------------------- staging and versions


@contextlib.contextmanager
def staged_output(final_dir: str, versioned: bool = False, storage: Storage = IN_JOB) -> Iterator[str]:
    """Yield a fresh staging folder; on success it replaces what ``final_dir`` shows.

    Holds ``final_dir``'s writer lock throughout (re-entrant: the orchestrator
    holds it around its up-to-date check too). The caller writes
    ``manifest.json`` last inside the staging folder. On an exception the
    staging folder is deleted and ``final_dir`` is untouched.

    ``versioned`` (a stage that later stages read: preprocess, word2vec): published as a version behind the
    ``final_dir`` symlink, which readers can pin. Otherwise (the report, read by people and TensorBoard, which
    would list a version folder as a run of its own) ``final_dir`` stays a real folder, swapped with the
    staging folder in one ``renameat2(RENAME_EXCHANGE)`` where the kernel and filesystem have it.
    ``storage``: the storage of an object store's ``final_dir`` (its options).
    """
    with locks.exclusive(final_dir, storage=storage):
        parent, name = split(final_dir.rstrip("/"))
        _remove_stale(parent, name, storage)
        staging = join(parent, f".{name}.staging-{uuid.uuid4().hex[:12]}")
        storage.mkdirs(staging)
        try:
            yield staging
        except BaseException:
            delete_tree(staging, storage)
            raise
        if not storage.exists(join(staging, MANIFEST)):
            delete_tree(staging, storage)
            raise RuntimeError(f"stage wrote no {MANIFEST} into {staging}; refusing to publish it")
        if not is_local(final_dir):
            _publish_objects(staging, final_dir, storage)
        elif versioned:
            _publish_version(staging, final_dir)
        else:
            _publish_folder(staging, final_dir)


def current_version(folder: str) -> str:
    """The version folder ``folder`` points to now (one readlink: a snapshot).

    ``folder`` itself when it is no pointer: on an object store, a folder
    published by older code (or copied), or nothing published yet.
    """
    if not is_local(folder):
        return folder
    try:
        target = os.readlink(folder.rstrip("/"))
    except OSError:  # not a symlink, or not there
        return folder
    return os.path.join(os.path.dirname(folder.rstrip("/")), target)


@contextlib.contextmanager
def pinned_version(folder: str) -> Iterator[str]:
    """The current version of a stage folder, kept on disk while the block runs (a publish may move the pointer on).

    Yields ``folder`` itself when it has no versions (see :func:`current_version`).
    """
    for _ in range(100):  # each retry means a publish removed the version between the readlink and the pin
        version = current_version(folder)
        if version == folder:
            yield folder
            return
        with locks.pinned(version) as present:
            if present:
                yield version
                return
    raise ContractError(f"{folder}: its version was replaced 100 times while being opened; is a publish looping?")


def _remove_stale(parent: str, name: str, storage: Storage = IN_JOB) -> None:
    """Under the writer lock: every staging folder is an interrupted run's; old versions go unless a run pins them."""
    if not is_local(parent):
        _delete_matching(join(parent, f".{name}.staging-*", "**"), storage)
        return
    if not os.path.isdir(parent):
        return
    current = os.path.basename(current_version(os.path.join(parent, name)))
    for entry in sorted(os.listdir(parent)):
        path = os.path.join(parent, entry)
        if entry.startswith((f".{name}.staging-", f".{name}.link-")):
            if os.path.islink(path):
                os.unlink(path)
            else:
                shutil.rmtree(path, ignore_errors=True)
        elif entry.startswith(f".{name}.v-") and entry != current:
            if not locks.try_remove(path, lambda version: shutil.rmtree(version, ignore_errors=True)):
                log.info("%s: kept, a running job still reads it (it is removed by the next publish after that job ends)", path)


def _publish_version(staging: str, final_dir: str) -> None:
    """Staging -> ``.<name>.v-<id>``, then the pointer ``final_dir`` moved to it in one os.replace."""
    parent, name = os.path.split(final_dir.rstrip("/"))
    token = staging.rsplit("-", 1)[1]
    version = os.path.join(parent, f".{name}.v-{token}")
    os.replace(staging, version)  # no reader knows either name yet
    link = os.path.join(parent, f".{name}.link-{token}")
    os.symlink(os.path.basename(version), link)
    if os.path.isdir(final_dir) and not os.path.islink(final_dir):
        # A real folder (published by older code, or a copied workdir): it becomes an old version. Once
        # per workdir, readers see no stage between these two renames.
        os.replace(final_dir, os.path.join(parent, f".{name}.v-{token}-replaced"))
    os.replace(link, final_dir)  # the one step readers see
    _remove_stale(parent, name)


def _publish_folder(staging: str, final_dir: str) -> None:
    """``final_dir`` replaced by ``staging``: one exchange of the two names where possible, else two renames."""
    if os.path.islink(final_dir):  # published as versions before: the pointer goes, its versions with the next stale sweep
        os.unlink(final_dir)
    if not os.path.exists(final_dir):
        os.replace(staging, final_dir)
    elif _exchange(staging, final_dir):
        shutil.rmtree(staging, ignore_errors=True)  # the old folder, now under the staging name
    else:  # no RENAME_EXCHANGE (not Linux, or a filesystem without it): readers may see no folder between the renames
        trash = f"{staging}.old"
        os.replace(final_dir, trash)
        os.replace(staging, final_dir)
        shutil.rmtree(trash, ignore_errors=True)


def _exchange(first: str, second: str) -> bool:
    """Swap two paths atomically (Linux ``renameat2(..., RENAME_EXCHANGE)``); False where it is not supported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), first, None, second)


def _publish_objects(staging: str, final_dir: str, store: Storage) -> None:
    """Object stores have neither folders nor renames (a rename is a copy and a delete, object by object).

    The old manifest goes first, so the stage stops looking finished; then
    every object of the old run, so none is left to be globbed; then the new
    files; the manifest last.
    """
    manifest = join(final_dir, MANIFEST)
    if store.exists(manifest):
        store.delete([manifest])
    _delete_matching(join(final_dir, "**"), store)
    files = [meta.path for meta in store.match(join(staging, "**")) if not meta.path.endswith("/" + MANIFEST)]
    store.rename(files, [final_dir + path[len(staging):] for path in files])
    store.rename([join(staging, MANIFEST)], [manifest])
    delete_tree(staging, store)


def delete_tree(path: str, storage: Storage = IN_JOB) -> None:
    """A folder and everything under it, local or on an object store; nothing when it is not there."""
    if is_local(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        _delete_matching(join(path, "**"), storage)


def _delete_matching(pattern: str, storage: Storage) -> None:
    paths = [meta.path for meta in storage.match(pattern)]
    if paths:
        storage.delete(paths)
