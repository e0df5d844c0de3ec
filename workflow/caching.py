"""Cache keys: what a stage's output depends on, compared with what its manifest recorded.

A stage's key is a plain JSON-able dict: the config values that change its
output and digests of the inputs it reads. The stage records the key in its
manifest (or a run in ``identity.json``); the next invocation recomputes it
and skips the stage only when the two are equal. Settings that cannot change
an output (logging and checkpoint cadence, report options) are never part of
a key, so changing them re-uses every result.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from typing import Any, Iterable

from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from workflow.artifacts import file_sha256, is_local


def plain(value: Any) -> Any:
    """A config object (dataclasses, enums, lists) as plain JSON values, e.g. for a key or a manifest."""
    if dataclasses.is_dataclass(value):
        return {item.name: plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def section(config_section: Any, *, without: Iterable[str] = ()) -> dict:
    """One config section as plain values, less the keys that cannot change an output."""
    values = plain(config_section)
    for key in without:
        values.pop(key)
    return values


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [found for key in sorted(set(old) | set(new)) for found in differences(old.get(key), new.get(key), f"{prefix}{key}.")]
    return [] if old == new else [f"{prefix.rstrip('.')} ({_short(old)} -> {_short(new)})"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:18] + "..." + text[-18:]


def why_outdated(recorded: dict | None, key: dict) -> str | None:
    """None when ``recorded`` equals ``key``; otherwise a short reason naming what changed."""
    if recorded is None:
        return "no finished output"
    changed = differences(recorded, key)
    if not changed:
        return None
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return "changed: " + "; ".join(changed[:3]) + more


def combined_digest(named_digests: Iterable[tuple[str, str]]) -> str:
    """One SHA-256 over ``(name, digest)`` pairs, in name order."""
    return hashlib.sha256("".join(f"{name}\0{digest}\n" for name, digest in sorted(named_digests)).encode()).hexdigest()


def files_digest(files: Iterable[FileMetadata]) -> dict:
    """Content digest of input files (as ``FileSystems.match`` lists them): ``{"files": n, "bytes": b, "sha256": ...}``.

    A local file's every byte is hashed, so an edit that keeps the size and
    the mtime still changes the digest (IMDB's 57 MB archive: 0.07 s; the
    same reviews as 100,000 files: 5.0 s; see docs/results.md). A file on an
    object store is named by the store's own checksum (S3's ETag, GCS's
    CRC32C, from ``FileSystems.checksum``), which changes with its content:
    nothing is downloaded to decide whether preprocessing must re-run.
    """
    digests, size = [], 0
    for meta in files:
        digests.append((meta.path, file_sha256(meta.path) if is_local(meta.path) else f"store:{FileSystems.checksum(meta.path)}"))
        size += meta.size_in_bytes
    return {"files": len(digests), "bytes": size, "sha256": combined_digest(digests)}
