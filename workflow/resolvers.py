"""The ``${...}`` resolvers of the config tree: paths (``${sample_data:}``, ``${local_dir:...}``, ``${package_wheel:}``)
and a run's folder name (``${run_name:}``, for a Hydra sweep's job folders: workflow/sweep.py).

Registered by ``workflow.compose.register``.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from typing import Any

from omegaconf import OmegaConf

from workflow import __version__
from workflow.training import identity

SAMPLE_ARCHIVE = "aclImdb_sample.tar.gz"


def sample_path() -> str:
    """Path of the bundled aclImdb sample shipped inside the package."""
    return str(resources.files("workflow") / "sample_data" / SAMPLE_ARCHIVE)


def run_name(*, _root_: Any) -> str:
    """The run folder the composed config trains into (training/identity.py ``run_name``)."""
    return identity.run_name(_root_)


def local_dir(workdir: str) -> str:
    """``workdir`` itself, or ``outputs/<scheme>/<bucket>/<path>`` for an object-store workdir: Hydra's logs are local files.

    A local workdir Hydra could not make its log folder in (a file, a read-only folder) gives the system's temporary
    folder instead, so that the command starts and says what is wrong with the workdir in one line
    (config_checks.require_writable_workdir) instead of Hydra's traceback.
    """
    scheme, separator, rest = workdir.partition("://")
    if separator:
        return os.path.join("outputs", scheme, rest.strip("/"))
    if unwritable_workdir(workdir) is not None:
        return os.path.join(tempfile.gettempdir(), "embedding-workflow", "unwritable-workdir")
    return workdir


def unwritable_workdir(workdir: str) -> str | None:
    """Why a local ``workdir`` cannot be written (or made), or None: checked on the folder, or on the nearest existing
    folder above it."""
    if os.path.lexists(workdir) and not os.path.isdir(workdir):
        return "is a file, not a folder"
    existing = os.path.abspath(workdir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"cannot be made: {existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written: {existing} is read-only (a read-only filesystem, or no write permission)"
    return None


def package_wheel() -> str:
    """The wheel ``pip wheel --no-deps -w dist .`` builds of this version: what Dataflow's workers install."""
    return f"dist/embedding_workflow-{__version__}-py3-none-any.whl"


RESOLVERS = {
    "sample_data": sample_path,
    "run_name": run_name,
    "local_dir": local_dir,
    "package_wheel": package_wheel,
}


def register() -> None:
    """Register every resolver of :data:`RESOLVERS` with OmegaConf (idempotent)."""
    for name, resolver in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
