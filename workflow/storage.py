"""Files on a local disk or an object store, with the options a store needs passed in, never set process-wide.

A local path (no scheme) is handled by the operating system, and loads no
Beam. A path with a scheme (``s3://``, ``gs://``) goes to Beam's filesystem
for that scheme, built from this ``Storage``'s options: ``beam.options``, the
Beam pipeline options that configure it (an S3 endpoint, credentials, a GCS
project). Beam's own ``FileSystems`` keeps those options in a process-wide
variable; a ``Storage`` carries them, so a stage's key, its lock and its
Beam workers read a store with the options they were given, whatever ran
before in the process. Beam is imported only when a store's path is used.

The operations are Beam's, with its semantics for local paths (a pattern:
``*`` and ``?`` within a folder, ``**`` across folders, ``[...]`` a class;
``split`` of a local path makes it absolute), so paths and listings are the
ones Beam's ``FileSystems`` gave. Files are opened as raw bytes: a caller
that reads a compressed file decompresses it itself (preprocess/compressed.py).
A ``Storage`` pickles as its options: Beam's workers build their own filesystem from them. Code that runs
inside a Beam job, whose worker Beam configured from the pipeline's options, uses ``IN_JOB``.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Any, BinaryIO, Iterable, Mapping, NamedTuple

_SCHEME = re.compile(r"(?P<scheme>[a-zA-Z][-a-zA-Z0-9+.]*)://")  # Beam's FileSystems.URI_SCHEMA_PATTERN
_GLOB_START = re.compile(r"^[^[*?]*")  # the literal part of a pattern


class FileInfo(NamedTuple):
    """A file a listing found (the fields of Beam's ``FileMetadata``)."""

    path: str
    size_in_bytes: int
    last_updated_in_seconds: float


def scheme(path: str) -> str | None:
    found = _SCHEME.match(path.strip())
    return found.group("scheme") if found else None


def is_local(path: str) -> bool:
    """A path on this machine's disks: no scheme, or ``file://``."""
    return scheme(path) in (None, "file")


def _on_disk(path: str) -> bool:
    """A path the operating system opens as it is (``file://`` paths go through Beam's local filesystem, as before)."""
    return scheme(path) is None


def join(base: str, *parts: str) -> str:
    """Beam's ``FileSystems.join``: ``os.path.join`` locally, ``/`` between the parts on a store."""
    if is_local(base):
        return os.path.join(base, *parts)
    path = base
    for part in parts:
        path = path.rstrip("/") + "/" + part.lstrip("/")
    return path


def split(path: str) -> tuple[str, str]:
    """Beam's ``FileSystems.split``: ``(head, tail)``; a local head is absolute, a store's keeps its ``scheme://``."""
    if is_local(path):
        return os.path.split(os.path.abspath(path))
    path = path.strip()
    prefix = len(scheme(path)) + 3
    last = path.rfind("/", prefix)
    return (path, "") if last < 0 else (path[:last], path[last + 1:])


def pattern_regex(pattern: str) -> re.Pattern:
    """A pattern in Beam's syntax as a regular expression over whole paths: ``*`` = ``[^/\\\\]*``, ``**`` = ``.*``,
    ``?`` = one character, ``[...]`` a class (``[!...]`` its complement); no escapes (Beam's FileSystem.translate_pattern)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        character = pattern[i]
        i += 1
        if character == "*":
            if i < n and pattern[i] == "*":
                out.append(".*")
                i += 1
            else:
                out.append(r"[^/\\]*")
        elif character == "?":
            out.append(".")
        elif character == "[":
            j = i + 1 if i < n and pattern[i] == "!" else i
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out.append(r"\[")
            else:
                inside = pattern[i:j].replace("\\", "\\\\")
                i = j + 1
                inside = "^" + inside[1:] if inside[0] == "!" else "\\" + inside if inside[0] == "^" else inside
                out.append(f"[{inside}]")
        else:
            out.append(re.escape(character))
    return re.compile(r"(?ms)" + "".join(out) + r"\Z")


def is_pattern(path: str) -> bool:
    return _GLOB_START.match(path).group(0) != path


class Storage:
    """Files of local paths and of stores, the stores configured by ``options`` (Beam pipeline options, plain values)."""

    def __init__(self, options: Mapping[str, Any] | None = None):
        self.options = {key: value for key, value in dict(options or {}).items() if value is not None}
        self._stores: dict[str, Any] = {}  # scheme -> Beam's filesystem, built when first used

    def __getstate__(self) -> dict:
        return {"options": self.options}

    def __setstate__(self, state: dict) -> None:
        self.options, self._stores = state["options"], {}

    def __repr__(self) -> str:
        return f"Storage({self.options!r})"

    def _store(self, path: str) -> Any:
        """Beam's filesystem for ``path``'s scheme, built with this storage's options (Beam is imported here)."""
        name = scheme(path)
        if name not in self._stores:
            from apache_beam.io.filesystem import FileSystem
            from apache_beam.io.filesystems import FileSystems  # noqa: F401 - registers Beam's filesystems (its io package's imports)
            from apache_beam.options.pipeline_options import PipelineOptions

            systems = [system for system in FileSystem.get_all_subclasses() if system.scheme() == name]
            if not systems:
                raise ValueError(f"{path}: no filesystem for {name}:// (is the apache-beam extra for it installed?)")
            self._stores[name] = systems[0](pipeline_options=PipelineOptions.from_dictionary(self.options))
        return self._stores[name]

    # ------------------------------------------------------------------ reading

    def exists(self, path: str) -> bool:
        return os.path.exists(path) if _on_disk(path) else self._store(path).exists(path)

    def metadata(self, path: str) -> FileInfo:
        if _on_disk(path):
            status = os.stat(path)
            return FileInfo(path, status.st_size, status.st_mtime)
        found = self._store(path).metadata(path)
        return FileInfo(found.path, found.size_in_bytes, found.last_updated_in_seconds)

    def checksum(self, path: str) -> str:
        """A store's own checksum of an object (S3's ETag, GCS's CRC32C), which changes with its content."""
        return self._store(path).checksum(path)

    def match(self, pattern: str) -> list[FileInfo]:
        """The files a path or pattern names, sorted by path ([] when none); a store that cannot be listed raises Beam's
        ``BeamIOError`` (an OSError)."""
        if not _on_disk(pattern):
            (result,) = self._store(pattern).match([pattern])
            found = [FileInfo(meta.path, meta.size_in_bytes, meta.last_updated_in_seconds) for meta in result.metadata_list]
        else:
            pattern = pattern + "*" if pattern.endswith(("/", "\\")) else pattern
            if is_pattern(pattern):
                found = list(self._local_matches(pattern))
            else:
                found = [self.metadata(pattern)] if os.path.exists(pattern) else []
        return sorted(found, key=lambda info: info.path)

    @staticmethod
    def _local_matches(pattern: str) -> Iterable[FileInfo]:
        """Every file under the folder of the pattern's literal start that the pattern matches (Beam's local match)."""
        regex = pattern_regex(pattern)
        root = os.path.dirname(_GLOB_START.match(pattern).group(0))
        if not os.path.exists(root):
            return
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                if regex.match(path):
                    try:
                        status = os.stat(path)
                    except OSError:  # gone since the listing
                        continue
                    yield FileInfo(path, status.st_size, status.st_mtime)

    def open(self, path: str) -> BinaryIO:
        """The file's bytes as stored (no decompression)."""
        if _on_disk(path):
            return open(path, "rb")
        from apache_beam.io.filesystem import CompressionTypes

        return self._store(path).open(path, compression_type=CompressionTypes.UNCOMPRESSED)

    # ------------------------------------------------------------------ writing

    def create(self, path: str) -> BinaryIO:
        """A new file (its folders made locally; on a store, written when closed)."""
        if _on_disk(path):
            folder = os.path.dirname(path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            return open(path, "wb")
        from apache_beam.io.filesystem import CompressionTypes

        return self._store(path).create(path, compression_type=CompressionTypes.UNCOMPRESSED)

    def mkdirs(self, path: str) -> None:
        if _on_disk(path):
            os.makedirs(path, exist_ok=True)
        else:
            self._store(path).mkdirs(path)

    def rename(self, sources: list[str], destinations: list[str]) -> None:
        if sources and not _on_disk(sources[0]):
            self._store(sources[0]).rename(sources, destinations)
            return
        for source, destination in zip(sources, destinations, strict=True):
            os.rename(source, destination)

    def delete(self, paths: list[str]) -> None:
        """Delete files (and local folders, whole)."""
        if paths and not _on_disk(paths[0]):
            self._store(paths[0]).delete(paths)
            return
        for path in paths:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)


class ProcessStorage(Storage):
    """Stores as this process's Beam ``FileSystems`` has them configured: in a Beam worker, by the options of the pipeline
    it runs (Beam sets them there). What code that runs inside the Beam job uses; a driver passes its own ``Storage``."""

    def __init__(self) -> None:
        super().__init__()

    def _store(self, path: str) -> Any:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.get_filesystem(path)


LOCAL = Storage()  # local paths need no options
IN_JOB = ProcessStorage()
