"""What a path of the config names: the file it names literally, or the entries its pattern matches, each classified.

Literal first: a path that exists is the file it names, whatever characters
it holds (``reviews[2023].csv`` is that file, not a pattern matching
``reviews2.csv``). Only a path that does not exist is a pattern, with Beam's
syntax (``*`` and ``?`` within a folder, ``[...]`` a class, ``**`` across
folders). To match a pattern whose text is also an existing file's name,
escape its characters: ``[[]`` is a literal ``[``.

Every local entry a pattern matches is classified before anything opens it
(``os.stat``, never ``open``): a regular file, or a symbolic link to one, is
read; anything else is :class:`Refused` with its reason: a folder (except
under ``**``, which walks into folders: there they are structure), a named
pipe (whose ``open`` would wait forever for a writer), a socket, a device, a
broken symbolic link, a link loop, a file this process may not read. The
readers count each refused entry as one rejected record, so a glob over a
million files from many sources reports what it could not read instead of
skipping it silently (Beam's own match drops broken links and folders and
lists pipes as files). A refused entry that the config names literally is
an ``InputError`` naming the config key. Paths on object stores (``gs://``,
``s3://``) are matched by Beam: their objects are always regular.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from typing import Iterable, Iterator, NamedTuple, Optional

from apache_beam.io.filesystem import FileSystem

from workflow.artifacts import is_local, join, matching
from workflow.errors import InputError
from workflow.storage import IN_JOB, FileInfo, Storage

_GLOB_START = re.compile(r"^[^[*?]*")  # the literal part of a pattern, as Beam's match takes it
FOLDER = "a folder, not a file"


class Refused(NamedTuple):
    """An entry a pattern matched that is not read: its path and why."""

    path: str
    reason: str


class Matched(NamedTuple):
    """The regular files a config path names (sorted by path), and the entries it matched that cannot be read."""

    files: list[FileInfo]
    refused: list[Refused]


def is_pattern(path: str) -> bool:
    return _GLOB_START.match(path).group(0) != path


def unreadable(path: str) -> Optional[str]:
    """None for a regular file (or a link to one) this process may read; otherwise why it is not read. Opens nothing."""
    try:
        status = os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symbolic link loop"
        if os.path.islink(path):
            return "a broken symbolic link (its target does not exist)"
        return f"cannot be read ({error.strerror})"
    mode = status.st_mode
    if stat.S_ISREG(mode):
        return None if os.access(path, os.R_OK) else "cannot be read (permission denied)"
    if stat.S_ISDIR(mode):
        return FOLDER
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    return "a device, not a regular file"


def matched(path: str, key: str, storage: Storage = IN_JOB) -> Matched:
    """The files ``path`` (the value of config key ``key``) names; InputError naming the key when it names none.

    A literal path that cannot be read (a folder, a pipe...) is an InputError
    too: the config named it, so it is not skipped. ``storage``: the store's options, for a path on one.
    """
    if not is_local(path) or path.startswith("file://"):
        return _on_store(path, key, storage)
    if os.path.lexists(path):
        reason = unreadable(path)
        if reason == FOLDER:
            raise InputError(f"{key}={path!r} is a folder: name the files in it, e.g. {key}={os.path.join(path, '*')!r}")
        if reason is not None:
            raise InputError(f"{key}={path!r}: {reason}")
        return Matched([_metadata(path)], [])
    if not is_pattern(path):
        raise InputError(f"{key}={path!r}: no such file or folder")
    found = _walk(path)
    if not found.files and not found.refused:
        raise InputError(f"{key}={path!r}: no file matches this pattern")
    return found


def _walk(pattern: str) -> Matched:
    """The entries ``pattern`` matches, in Beam's pattern syntax: the files Beam's match lists, and the folders, links
    and special files it drops (or lists as files). A pattern without ``**`` is not walked below its depth; one with
    ``**`` is walked through every folder, and its folders are not entries."""
    regex = re.compile(FileSystem.translate_pattern(pattern))
    literal = _GLOB_START.match(pattern).group(0)
    root = literal if literal.endswith("/") else os.path.dirname(literal)
    levels = None if "**" in pattern else pattern[len(root):].lstrip("/").count("/") + 1  # below root, where matches lie

    def candidates() -> Iterator[str]:
        for folder, folders, names in os.walk(root or "."):
            depth = 0 if folder == (root or ".") else os.path.relpath(folder, root or ".").count(os.sep) + 1
            if levels is not None and depth + 1 < levels:
                continue  # matches lie deeper
            entries = names if levels is None else folders + names  # under ``**`` a folder is walked into, not an entry
            if levels is not None:
                folders[:] = []  # nothing deeper can match
            for name in entries:
                path = os.path.join(folder, name) if root else os.path.relpath(os.path.join(folder, name))
                if regex.match(path):
                    yield path

    return _classified(candidates())


def _classified(paths: Iterable[str]) -> Matched:
    """``paths`` split into readable files (with their size) and refused entries, each sorted by path."""
    files, refused = [], []
    for path in paths:
        reason = unreadable(path)
        if reason is None:
            files.append(_metadata(path))
        else:
            refused.append(Refused(path, reason))
    return Matched(sorted(files, key=lambda meta: meta.path), sorted(refused))


def _metadata(path: str) -> FileInfo:
    status = os.stat(path)
    return FileInfo(path, status.st_size, status.st_mtime)


def _on_store(path: str, key: str, storage: Storage) -> Matched:
    try:
        if storage.exists(path):  # literal first, on a store too
            try:
                return Matched([storage.metadata(path)], [])
            except NotImplementedError:
                pass
        found = matching(path, storage)
    except (OSError, ValueError) as error:  # Beam's BeamIOError (an unreadable store), ValueError (an unknown scheme)
        raise InputError(f"{key}={path!r}: cannot be listed ({error})") from None
    if not found:
        raise InputError(f"{key}={path!r}: no such file or folder")
    return Matched(found, [])


def folder_entries(folder: str, suffix: str, storage: Storage = IN_JOB) -> Matched:
    """The entries of one folder (a literal path, not a pattern) whose names end with ``suffix``; nothing when it is absent."""
    if not is_local(folder) or folder.startswith("file://"):
        try:
            return Matched(matching(join(folder, f"*{suffix}"), storage), [])
        except (OSError, ValueError) as error:
            raise InputError(f"{folder}: cannot be listed ({error})") from None
    if not os.path.isdir(folder):
        return Matched([], [])
    return _classified(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(suffix))
