"""The installed package stands alone: the wheel carries the config tree and the sample, and its entry
points compose their config from any folder, with no checkout in sight."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_carries_its_config_and_its_entry_points_run_from_any_folder(tmp_path):
    source = tmp_path / "source"  # a copy, so that building leaves no build/ or .egg-info in the checkout
    for folder in ("workflow", "conf"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-v",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    # A quiet install: setuptools says nothing of the project's own packaging (a folder it would leave out, a deprecation).
    assert not [line for line in (build.stdout + build.stderr).splitlines()
                if "would be ignored" in line or "SetuptoolsDeprecationWarning" in line], build.stdout[-3000:]
    (wheel,) = (tmp_path / "dist").glob("embedding_workflow-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    config_files = {f"workflow/{path.relative_to(ROOT)}" for path in (ROOT / "conf").rglob("*.yaml")}  # conf/ ships as workflow/conf/
    assert config_files and config_files <= packaged, sorted(config_files - packaged)
    assert "workflow/sample_data/aclImdb_sample.tar.gz" in packaged

    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}  # ahead of any editable install of the checkout
    composed = subprocess.run([str(site / "bin" / "wf-preprocess"), "--cfg", "job", "--resolve"], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=300)
    assert composed.returncode == 0, composed.stderr[-3000:]
    assert f"path: {site / 'workflow' / 'sample_data' / 'aclImdb_sample.tar.gz'}" in composed.stdout
    assert "workdir: runs/sample\n" in composed.stdout, "the schema's defaults, resolved, from the installed package"
    assert "  run_name: null\n" in composed.stdout, "a run is named after what it trains (training/identity.py), not in the config"
