"""Beam pipeline options from the ``beam`` config group.

The default runner is the FnApiRunner, chosen explicitly: Beam 2.77's
DirectRunner prefers the Prism runner, which downloads a binary at run time.
Any other runner (Dataflow, Flink, Spark, Portable) is named by ``beam.runner``
and configured through ``beam.options``, passed through as ``--key=value``;
the PortableRunner gets a local job service and worker pool when the options
name none (``portable.py``).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.runners.runner import PipelineRunner

from workflow.config import BeamConfig
from workflow.preprocess import portable

FN_API_RUNNER = "FnApiRunner"
PORTABLE_RUNNER = "PortableRunner"


def option_flags(options: dict) -> list[str]:
    """``{"project": "p", "streaming": True}`` -> ``["--project=p", "--streaming"]``."""
    flags = []
    for key, value in sorted(options.items()):
        if value is True:
            flags.append(f"--{key}")
        elif value not in (False, None):
            flags.append(f"--{key}={value}")
    return flags


def use_filesystem_options(beam: BeamConfig) -> None:
    """Give this process's Beam filesystems the pipeline options (an S3 endpoint, a GCS project...).

    Beam's S3 filesystem will not even list a bucket without them, and the
    stage touches its input and its workdir before a pipeline exists.
    """
    FileSystems.set_options(PipelineOptions(option_flags(dict(beam.options))))


@contextlib.contextmanager
def pipeline_setup(beam: BeamConfig, log_file: str | None = None) -> Iterator[tuple[PipelineRunner | str, PipelineOptions]]:
    """The runner (an instance or a name Beam resolves) and the pipeline options, valid inside the block.

    ``log_file``: where services started for the PortableRunner write.
    """
    if beam.runner == PORTABLE_RUNNER:
        with portable.local_services(dict(beam.options), log_file) as options:
            yield beam.runner, PipelineOptions(option_flags(options))
    elif beam.runner == FN_API_RUNNER:
        options = PipelineOptions(
            option_flags(dict(beam.options)),
            direct_num_workers=beam.num_workers,
            direct_running_mode=beam.running_mode.value,
        )
        yield FnApiRunner(), options
    else:
        yield beam.runner, PipelineOptions(option_flags(dict(beam.options)))


def runner_description(beam: BeamConfig) -> str:
    """For the progress output: "FnApiRunner (multi_processing, 2 workers)", "PortableRunner (job service localhost:8099)"."""
    if beam.runner == FN_API_RUNNER:
        return f"{beam.runner} ({beam.running_mode.value}, {beam.num_workers} workers)"
    if beam.runner == PORTABLE_RUNNER:
        endpoint = beam.options.get("job_endpoint") or "started here, with an EXTERNAL worker pool"
        return f"{beam.runner} (job service {endpoint})"
    return beam.runner
