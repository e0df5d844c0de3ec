"""A runner whose workers cannot see the workdir or the inputs is refused before any work (preprocess/options.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import typed
from workflow.errors import ConfigError
from workflow.preprocess.options import check_paths_reach_workers, pipeline_options


def test_dataflow_with_a_local_workdir_is_refused_naming_the_key(make_config):
    config = typed(make_config("beam=dataflow", "beam.options.project=p", "data.path=gs://bucket/corpus.tar.gz"))
    with pytest.raises(ConfigError, match=r"^workdir='.*' is a local path, which Dataflow workers cannot see"):
        check_paths_reach_workers(config)


def test_dataflow_with_a_local_input_is_refused_even_with_a_store_workdir(make_config, tmp_path):
    config = typed(make_config("beam=dataflow", "beam.options.project=p", "workdir=gs://bucket/work", "data=csv",
                               "data.path=gs://bucket/train.csv", "data.splits.test=/home/me/test.csv"))
    with pytest.raises(ConfigError, match=r"^data\.splits\.test='/home/me/test.csv' is a local path"):
        check_paths_reach_workers(config)
    on_the_store = ("beam=dataflow", "beam.options.project=p", "workdir=gs://bucket/work", "data.path=gs://bucket/corpus.tar.gz")
    with pytest.raises(ConfigError, match=r"^beam\.options\.extra_package='dist/embedding_workflow-.*\.whl': no such file; build .*pip wheel"):
        check_paths_reach_workers(typed(make_config(*on_the_store)))
    wheel = tmp_path / "embedding_workflow-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    check_paths_reach_workers(typed(make_config(*on_the_store, f"beam.options.extra_package={wheel}")))  # every path on the store: accepted


@pytest.mark.parametrize("runner", ["flink", "spark"])
def test_flink_and_spark_take_a_local_path_only_when_the_config_says_it_is_shared(make_config, runner):
    local = ("beam.options.job_endpoint=jobs:8099", "data.path=/data/corpus.tar.gz")
    with pytest.raises(ConfigError, match=r"beam\.shared_workdir=true"):
        check_paths_reach_workers(typed(make_config(f"beam={runner}", *local)))
    check_paths_reach_workers(typed(make_config(f"beam={runner}", *local, "beam.shared_workdir=true")))


def test_the_local_and_portable_runners_need_no_shared_storage(make_config):
    check_paths_reach_workers(typed(make_config()))
    check_paths_reach_workers(typed(make_config("beam=portable")))


def test_wf_preprocess_stops_with_one_line_before_submitting_to_dataflow(tmp_path):
    process = subprocess.run(
        [sys.executable, "-c", "from workflow.cli import preprocess; preprocess()", "beam=dataflow", "beam.options.project=p",
         f"workdir={tmp_path / 'work'}"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert process.returncode == 2, process.stderr[-2000:]
    assert process.stderr.startswith(f"error: workdir='{tmp_path / 'work'}' is a local path, which Dataflow workers cannot see")
    assert len(process.stderr.strip().splitlines()) == 1
    entries = sorted(entry.name for entry in (tmp_path / "work").iterdir())
    assert entries == [".locks", "logs"], "no stage folder, no staging: nothing was run (the stage's lock file is left, empty)"


def test_options_reach_beam_through_from_dictionary_with_zeros_lists_and_nulls():
    from apache_beam.options.pipeline_options import DebugOptions, WorkerOptions
    from omegaconf import OmegaConf

    options = pipeline_options(OmegaConf.create({"max_num_workers": 0, "experiments": ["a", "b=1"], "region": None}))
    assert options.view_as(WorkerOptions).max_num_workers == 0, "a 0 is an option, not an absent one"
    assert options.view_as(DebugOptions).experiments == ["a", "b=1"], "a list is repeated flags, not --experiments=['a', 'b=1']"
    assert "region" not in options.get_all_options(drop_default=True)
