"""No import-time or key-time side effects: what a module loads and what computing a key changes.

A training process, the report's run finder and serving load neither Beam nor Hydra; the config's schema loads no
Hydra; importing the module that drops Beam's import notice installs nothing until an entry point asks; and the
preprocessing key reads a store with the options it is given, leaving Beam's process-wide filesystem options alone.
"""

from __future__ import annotations

import subprocess
import sys

from apache_beam.io.filesystems import FileSystems

from tests.conftest import typed
from workflow.preprocess import stage

LOADED = """
import logging, sys
import {modules}
print(sorted(name for name in ("apache_beam", "hydra", "omegaconf") if name in sys.modules), len(logging.getLogger().filters))
"""


def loaded(*modules: str) -> str:
    """What importing ``modules`` in a fresh interpreter loads of Beam, Hydra and OmegaConf, and the root logger's filters."""
    found = subprocess.run([sys.executable, "-c", LOADED.format(modules=", ".join(modules))], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr[-2000:]
    return found.stdout.strip()


def test_training_the_report_finder_and_serving_load_neither_beam_nor_hydra():
    assert loaded("workflow.training.stage", "workflow.training.output", "workflow.report.runs", "workflow.serving.predict") == "[] 0"


def test_the_schema_and_the_log_filter_module_have_no_import_time_effects():
    assert loaded("workflow.config", "workflow.training.identity", "workflow.stderr") == "[] 0"


def test_the_preprocessing_key_leaves_beams_process_wide_options_alone(make_config, tiny_archive, monkeypatch):
    monkeypatch.setattr(FileSystems, "_pipeline_options", None)
    config = typed(make_config(f"data.path={tiny_archive}", "+beam.options.s3_endpoint_url=http://127.0.0.1:9"))
    assert stage.storage(config).options["s3_endpoint_url"] == "http://127.0.0.1:9", "the store's options travel with the stage"
    stage.key(config)
    stage.folder(config)
    assert FileSystems._pipeline_options is None
