"""Beam pipeline options from the ``beam`` config group.

The default runner is the FnApiRunner, chosen explicitly: Beam 2.77's
DirectRunner prefers the Prism runner, which downloads a binary at run time.
Any other runner (Dataflow, Flink, Spark, Portable) is named by ``beam.runner``
and configured through ``beam.options``, passed through as ``--key=value``.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.runners.runner import PipelineRunner

from workflow.config import BeamConfig

FN_API_RUNNER = "FnApiRunner"


def option_flags(options: dict) -> list[str]:
    """``{"project": "p", "streaming": True}`` -> ``["--project=p", "--streaming"]``."""
    flags = []
    for key, value in sorted(options.items()):
        if value is True:
            flags.append(f"--{key}")
        elif value not in (False, None):
            flags.append(f"--{key}={value}")
    return flags


def pipeline_setup(beam: BeamConfig) -> tuple[PipelineRunner | str, PipelineOptions]:
    """The runner (an instance or a name Beam resolves) and the pipeline options."""
    flags = option_flags(dict(beam.options))
    if beam.runner != FN_API_RUNNER:
        return beam.runner, PipelineOptions(flags)
    options = PipelineOptions(
        flags,
        direct_num_workers=beam.num_workers,
        direct_running_mode=beam.running_mode.value,
    )
    return FnApiRunner(), options
