"""Beam pipeline options from the ``beam`` config group.

The default runner is the FnApiRunner, chosen explicitly: Beam 2.77's
DirectRunner prefers the Prism runner, which downloads a binary at run time.
Any other runner (Dataflow, Flink, Spark, Portable) is named by ``beam.runner``
and configured through ``beam.options``, handed to Beam's own
``PipelineOptions.from_dictionary``;
the PortableRunner gets a local job service and worker pool when the options
name none (``portable.py``). Before a job goes to Flink or Spark, their job
server and master must answer (workflow/engines/endpoints.py), and a PROCESS
environment without a command gets this installation's ``wf-beam-worker``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator, Mapping

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.runners.runner import PipelineRunner
from omegaconf import OmegaConf

from workflow.config import BeamConfig, Config
from workflow.engines import endpoints
from workflow.errors import ConfigError
from workflow.preprocess import portable
from workflow.preprocess.leakage import split_sources
from workflow.preprocess.settings import CorpusSettings

FN_API_RUNNER = "FnApiRunner"
PORTABLE_RUNNER = "PortableRunner"
DATAFLOW_RUNNER = "DataflowRunner"
CLUSTER_RUNNERS = ("FlinkRunner", "SparkRunner")  # SDK workers on other machines, which may share a volume with this one


def pipeline_options(options: Mapping[str, Any], **runner_options: Any) -> PipelineOptions:
    """``beam.options`` (plus ``runner_options``) through Beam's own ``PipelineOptions.from_dictionary``.

    Null options are dropped (Beam would warn and skip them) and config lists
    become plain lists, which Beam passes as repeated flags
    (``experiments: [a, b]`` -> ``--experiments=a --experiments=b``); a 0 stays 0.
    """
    plain = OmegaConf.to_container(OmegaConf.create(dict(options))) if options else {}
    return PipelineOptions.from_dictionary({key: value for key, value in {**plain, **runner_options}.items() if value is not None})


def check_paths_reach_workers(config: Config) -> None:
    """Refuse, before any work, a runner whose workers cannot see the workdir or the inputs.

    The workers write the shards and the submitter reads them back: with a
    local path, Dataflow's workers would write to their own disks and the job
    would fail only when stats.json is read, after the whole run. Flink and
    Spark workers can share a volume with the submitter (docker/beam-cluster.yaml
    does), which the config says with ``beam.shared_workdir=true``, or the
    local cluster of ``wf-cluster``, whose job server and master are on this
    machine.
    """
    runner = config.beam.runner
    if runner != DATAFLOW_RUNNER and runner not in CLUSTER_RUNNERS:
        return
    named = {"workdir": config.workdir, **split_sources(CorpusSettings.of(config.data))}
    for key, path in named.items():
        if FileSystems.get_scheme(path) not in (None, "file"):
            continue
        if runner == DATAFLOW_RUNNER:
            raise ConfigError(f"{key}={path!r} is a local path, which Dataflow workers cannot see: use a gs:// path (beam.runner={runner})")
        if not (config.beam.shared_workdir or endpoints.on_this_machine(runner, config.beam.options)):
            raise ConfigError(f"{key}={path!r} is a local path and beam.runner={runner} runs its workers elsewhere: use an object store, "
                              "or set beam.shared_workdir=true if every worker sees this path (a shared volume)")
    wheel = config.beam.options.get("extra_package")
    if wheel and FileSystems.get_scheme(wheel) in (None, "file") and not os.path.exists(wheel):
        raise ConfigError(f"beam.options.extra_package={wheel!r}: no such file; build the package the workers install "
                          "with `pip wheel --no-deps -w dist .`")


@contextlib.contextmanager
def pipeline_setup(beam: BeamConfig, log_file: str | None = None) -> Iterator[tuple[PipelineRunner | str, PipelineOptions]]:
    """The runner (an instance or a name Beam resolves) and the pipeline options, valid inside the block.

    ``log_file``: where services started for the PortableRunner write.
    """
    if beam.runner == PORTABLE_RUNNER:
        with portable.local_services(dict(beam.options), log_file) as options:
            yield beam.runner, pipeline_options(options)
    elif beam.runner == FN_API_RUNNER:
        yield FnApiRunner(), pipeline_options(beam.options, direct_num_workers=beam.num_workers, direct_running_mode=beam.running_mode.value)
    elif beam.runner in CLUSTER_RUNNERS:
        endpoints.check_reachable(beam.runner, beam.options)
        process_command = beam.options.get("environment_type") == "PROCESS" and not beam.options.get("environment_config")
        yield beam.runner, pipeline_options(beam.options, **({"environment_config": endpoints.worker_command()} if process_command else {}))
    else:
        yield beam.runner, pipeline_options(beam.options)


def runner_description(beam: BeamConfig) -> str:
    """For the progress output: "FnApiRunner (multi_processing, 2 workers)", "PortableRunner (job service localhost:8099)"."""
    if beam.runner == FN_API_RUNNER:
        return f"{beam.runner} ({beam.running_mode.value}, {beam.num_workers} workers)"
    if beam.runner == PORTABLE_RUNNER:
        endpoint = beam.options.get("job_endpoint") or "started here, with an EXTERNAL worker pool"
        return f"{beam.runner} (job service {endpoint})"
    if beam.runner in CLUSTER_RUNNERS:
        named = ", ".join(f"{key} {beam.options[key]}" for key in ("job_endpoint", endpoints.master_option(beam.runner), "parallelism")
                          if beam.options.get(key))
        return f"{beam.runner} ({named})" if named else beam.runner
    return beam.runner
