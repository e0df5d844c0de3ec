"""Console entry points (``wf-preprocess``...): thin ``@hydra.main`` wrappers.

Each one turns the composed config into the typed schema objects, checks
ranges, runs its stage (wf-preprocess and wf-word2vec through the
orchestrator's locked up-to-date check: one that waited for another writer
of its stage skips it when that one left it up to date), and turns a user
error (bad input, bad config value) into one line on stderr and exit status 2
instead of a traceback. The config tree is ``conf/`` at the top of the
checkout and travels inside the wheel as ``workflow/conf`` (:func:`config_tree`),
so an installed wheel finds it from any folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any import loads TensorFlow: its C++ INFO/WARNING lines drown the progress output
os.environ.setdefault("TF_DISABLE_SCATTER_OP_DETERMINISM", "1")  # GPU scatters of unique rows stay on the device: workflow/training/__init__.py
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # GPU memory as it is needed, in every process: workflow/training/devices.py

import importlib.util
import sys
import time
from pathlib import Path
from typing import Callable

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from workflow import config as schema
from workflow import config_checks, console
from workflow.errors import USER_ERROR_EXIT, log_traceback, user_error
from workflow.stderr import import_tensorflow_quietly  # before anything imports Beam: it drops Beam's import-time warning

schema.register()
CONFIG_MODULE = "workflow.conf"  # where a wheel carries the tree (pyproject.toml maps conf/ to it)
BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"  # Hydra's default: one job after the other
CHECKOUT_CONF = Path(__file__).resolve().parents[1] / "conf"  # where a checkout has it: beside workflow/
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


def config_tree() -> str:
    """Hydra's config path: the installed package's tree, or a checkout's top-level ``conf/``.

    A checkout's ``workflow`` package (the one the tests import) has no
    ``conf`` inside it, so it reads the tree beside it, the same files the
    wheel ships.
    """
    return f"pkg://{CONFIG_MODULE}" if importlib.util.find_spec(CONFIG_MODULE) is not None else str(CHECKOUT_CONF)


CONFIG_PATH = config_tree()


def run_stage(cfg: DictConfig, stage: Callable[[schema.Config, dict], object], command: str | None = None,
              tensorflow: bool = False) -> None:
    """Validate ``cfg``, run ``stage``, exit 2 with one line on a user error; a stage that returns an int exits with it.

    ``command``: the command's name when it needs a local workdir (every one but wf-preprocess).
    ``tensorflow``: import TensorFlow (quietly) once the config is valid, so a bad config fails at once.
    """
    try:
        config_checks.validate(cfg)
        config_checks.require_writable_workdir(cfg.workdir)
        if command is not None:
            config_checks.require_local_workdir(cfg.workdir, command)
        if tensorflow:
            import_tensorflow_quietly(job_log_file())
        resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        typed: schema.Config = OmegaConf.to_object(cfg)
        console.show_steps(typed.terminal.steps)
        status = stage(typed, resolved)
    except KeyboardInterrupt as interrupt:  # Ctrl-C: the stage left its published output as it was (artifacts.staged_output)
        log_traceback(interrupt)
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT)
    except Exception as error:  # noqa: BLE001 - reduced to one line when it is the user's to fix
        found = user_error(error)
        if found is None:
            raise
        log_traceback(error)
        print(f"error: {found}", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT)
    if isinstance(status, int) and status != 0:
        sys.exit(status)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def preprocess(cfg: DictConfig) -> None:
    """Stage 1: corpus -> vocab.tsv, TFRecord splits, word2vec corpus, stats."""
    from workflow import orchestrate
    from workflow.preprocess import stage

    run_stage(cfg, lambda config, resolved: orchestrate.bring_up_to_date("preprocess", stage, config, resolved, always=True,
                                                                         describe=console.preprocess_summary, log_file=job_log_file()))


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def word2vec(cfg: DictConfig) -> None:
    """Stage 2: word vectors (trained or imported) -> embedding_matrix.npy, coverage, quality; then, when embedding.ngrams asks
    for pretrained n-gram rows, the n-gram stage beside them (skipped when up to date)."""
    run_stage(cfg, vectors_here, "wf-word2vec")


def vectors_here(config: schema.Config, resolved: dict) -> None:
    """wf-word2vec's stages: the vector source's, always; its n-gram stage's when the config reads pretrained n-gram rows."""
    from workflow import orchestrate
    from workflow.embeddings import ngram_stage, stage
    from workflow.resolvers import pretrained_ngrams

    orchestrate.bring_up_to_date("word2vec", stage, config, resolved, always=True, describe=console.word2vec_summary)
    if pretrained_ngrams(config):
        orchestrate.bring_up_to_date(orchestrate.ngram_stage_name(config.embedding.vectors), ngram_stage, config, resolved,
                                     describe=ngram_stage.summary)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def train(cfg: DictConfig) -> None:
    """Stage 3: the Keras Embedding classifier (frozen / finetune / random) under tf.distribute."""
    from workflow import processes

    if HydraConfig.initialized() and HydraConfig.get().mode is RunMode.MULTIRUN:
        # One job of a sweep, trained in a process of its own (this one needs no TensorFlow) that logs as this job
        # does: a failure is raised, not exited, so that Hydra records it and runs the other jobs.
        if HydraConfig.get().launcher._target_ != BASIC_LAUNCHER and cfg.terminal.progress == schema.ProgressDisplay.auto:
            cfg.terminal.progress = schema.ProgressDisplay.lines  # jobs side by side: their bars would be drawn over each other
        run_stage(cfg, lambda config, resolved: processes.train_or_raise(config, resolved, job_log_file(), job_logging()), "wf-train")
    else:
        run_stage(cfg, train_here, "wf-train", tensorflow=True)


def train_here(config: schema.Config, resolved: dict) -> dict:
    """wf-train's one run, in this process, and its stage line: ``done in`` (with its test accuracy), or ``skipped`` when
    the run had finished with this key (its metrics.json is older than this command)."""
    from workflow import processes
    from workflow.training.layout import RunLayout, run_dir

    started = time.time()
    metrics = processes.train_job(config, resolved)
    test = metrics.get("test") or {}
    accuracy = (f"test accuracy {test['accuracy']:.4f}" if test.get("accuracy") is not None
                else "test not scored (trainer.score_test=false)" if not config.trainer.score_test else "no test split")
    finished = RunLayout(run_dir(config.workdir, config.trainer.run_name)).metrics
    if metrics and os.path.getmtime(finished) < started:
        console.stage_line("training", f"skipped (up to date: {config.trainer.run_name} finished with this key; {accuracy})")
    elif metrics:
        console.stage_done("training", time.time() - started, f"{config.trainer.run_name}: {accuracy}")
    return metrics


def report_here(config: schema.Config, resolved: dict) -> None:
    """wf-report: the report, its stage line and the results table."""
    from workflow.report import stage

    with console.running("report", "asked for by name") as running:
        manifest = stage.run(config, resolved)
        running.summary = console.count(len(manifest["inputs"]["runs"]), "run")
    console.results(config.workdir)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def report(cfg: DictConfig) -> None:
    """Stage 4: results.md/.csv, figures, TensorBoard projector and insight over finished runs."""
    run_stage(cfg, report_here, "wf-report", tensorflow=True)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def run_all(cfg: DictConfig) -> None:
    """The whole workflow: preprocess -> word2vec -> train (a Hydra multirun over the sweep) -> report, skipping what is up to date."""
    from workflow import orchestrate

    overrides = HydraConfig.get().overrides
    run_stage(cfg, lambda config, resolved: orchestrate.run(cfg, config, resolved, job_log_file(), list(overrides.task), list(overrides.hydra)),
              "wf-run", tensorflow=True)  # the report needs it; its C++ start-up lines go to the log


def compose(*overrides: str) -> DictConfig:
    """The config the entry points would compose with these overrides (for scripts, benchmarks and tests)."""
    initialize = (hydra.initialize_config_module(CONFIG_MODULE, version_base="1.3") if CONFIG_PATH.startswith("pkg://")
                  else hydra.initialize_config_dir(CONFIG_PATH, version_base="1.3"))
    with initialize:
        return hydra.compose("config", overrides=list(overrides))


def job_log_file() -> str:
    """The log file Hydra opened for this job (the Beam workers' output goes there too)."""
    hydra_config = HydraConfig.get()
    return str(Path(hydra_config.runtime.output_dir) / f"{hydra_config.job.name}.log")


def job_logging() -> dict:
    """This job's logging configuration (conf/config.yaml's ``hydra.job_logging``, resolved: its file handler writes
    :func:`job_log_file`), for the process a training job runs in (processes.py) to log as the job does."""
    return OmegaConf.to_container(HydraConfig.get().job_logging, resolve=True)


if __name__ == "__main__":
    preprocess()
