"""Cache keys: what a stage's output depends on, compared with what its manifest recorded.

A stage's key is a plain JSON-able dict: the config values that change its
output and digests of the inputs it reads. The stage records the key in its
manifest (or a run in ``identity.json``); the next invocation recomputes it
and skips the stage only when the two match (:func:`why_outdated`).
Settings that cannot change an output (``metadata=OPERATIONAL`` in
workflow/config.py: logging and checkpoint cadence) are never part of a key,
so changing them re-uses every result.

A key holds a config section whole, under ``config.<section>`` (:func:`section`),
so a setting added to the schema later is in every key computed since. The
rule that keeps earlier results: **a setting a recorded key lacks was added
after it was written, and the output it describes was made as the setting's
default makes it**. So a recorded key that lacks a setting matches a config
that holds the setting at its default, and no other (:func:`with_later_settings`).
A new setting therefore defaults to what the code did before it; a change
of what existing settings produce is a change of the stage's format version.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from typing import Any, Iterable

from workflow.artifacts import file_sha256, is_local
from workflow.storage import IN_JOB, FileInfo, Storage
from workflow.config import Config, operational, plain


def section(config_section: Any, *, without: Iterable[str] = ()) -> dict:
    """One config section as plain values, less its operational settings and the keys in ``without`` (what this stage's
    output does not depend on)."""
    values = plain(config_section)
    for key in (*operational(type(config_section)), *without):
        values.pop(key)
    return values


def with_later_settings(recorded: dict, key: dict, config: Config) -> dict:
    """``recorded`` with each setting it lacks that ``key`` holds at its default (settings added since it was written).

    ``config``: the config ``key`` was computed from; its sections' types give the defaults.
    """
    recorded = copy.deepcopy(recorded)
    found = recorded.get("config")
    for name, values in key.get("config", {}).items():
        current = getattr(config, name, None)
        if isinstance(found, dict) and isinstance(found.get(name), dict) and isinstance(values, dict) and dataclasses.is_dataclass(current):
            _add_defaults(found[name], values, type(current)())
    return recorded


def _add_defaults(recorded: dict, values: dict, defaults: Any) -> None:
    names = {item.name for item in dataclasses.fields(defaults)}
    for name, value in values.items():
        if name not in names:
            continue
        default = getattr(defaults, name)
        if name not in recorded and plain(default) == value:
            recorded[name] = value
        elif isinstance(recorded.get(name), dict) and isinstance(value, dict) and dataclasses.is_dataclass(default):
            _add_defaults(recorded[name], value, default)


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [found for key in sorted(set(old) | set(new)) for found in differences(old.get(key), new.get(key), f"{prefix}{key}.")]
    return [] if old == new else [f"{prefix.rstrip('.')} ({_short(old)} -> {_short(new)})"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:18] + "..." + text[-18:]


def why_outdated(recorded: dict | None, key: dict, config: Config) -> str | None:
    """None when ``recorded`` matches ``key`` (computed from ``config``; see the module docstring); otherwise a short reason
    naming what changed."""
    if recorded is None:
        return "no finished output"
    changed = differences(with_later_settings(recorded, key, config), key)
    if not changed:
        return None
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return "changed: " + "; ".join(changed[:3]) + more


def combined_digest(named_digests: Iterable[tuple[str, str]]) -> str:
    """One SHA-256 over ``(name, digest)`` pairs, in name order."""
    return hashlib.sha256("".join(f"{name}\0{digest}\n" for name, digest in sorted(named_digests)).encode()).hexdigest()


def files_digest(files: Iterable[FileInfo], storage: Storage = IN_JOB) -> dict:
    """Content digest of input files (as ``artifacts.matching`` lists them): ``{"files": n, "bytes": b, "sha256": ...}``.

    A local file's every byte is hashed, so an edit that keeps the size and
    the mtime still changes the digest (IMDB's 57 MB archive: 0.07 s; the
    same reviews as 100,000 files: 5.0 s; see docs/results.md). A file on an
    object store is named by the store's own checksum (S3's ETag, GCS's
    CRC32C, from ``storage``: the store's options), which changes with its content:
    nothing is downloaded to decide whether preprocessing must re-run.
    """
    digests, size = [], 0
    for meta in files:
        digests.append((meta.path, file_sha256(meta.path) if is_local(meta.path) else f"store:{storage.checksum(meta.path)}"))
        size += meta.size_in_bytes
    return {"files": len(digests), "bytes": size, "sha256": combined_digest(digests)}
