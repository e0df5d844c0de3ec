"""Console entry points (``wf-preprocess``...): thin ``@hydra.main`` wrappers.

Each command prepares its process first (:func:`entry_point`: the config's
schema and resolvers registered, TensorFlow's environment, Beam's import
notice dropped from the log), then lets Hydra compose its config; the command
turns it into the one typed, read-only ``Config`` (compose.load), runs its
stage (wf-preprocess, wf-word2vec and wf-paragraph-vectors through the
orchestrator's locked up-to-date check: one that waited for another writer
of its stage skips it when that one left it up to date; wf-paragraph-vectors,
whose stage takes long, skips it whenever it is up to date), and turns a user error (bad input, bad
config value) into one line on stderr and exit status 2 instead of a
traceback.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Callable

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from workflow import compose, config_checks, console, stderr
from workflow.config import Config, ProgressDisplay, with_values
from workflow.errors import USER_ERROR_EXIT, log_traceback, user_error
from workflow.training import devices

BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"  # Hydra's default: one job after the other
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


def prepare_process() -> None:
    """What every command sets up before anything else runs: TensorFlow's environment (before anything loads it: quiet C++
    start-up, GPU memory as needed, device scatters; training/devices.py), the Beam import notice dropped from the
    log (stderr.py), and the config's schema and resolvers registered for Hydra (compose.py)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO/WARNING lines drown the progress output
    devices.tensorflow_environment()
    stderr.drop_beam_import_notice()
    compose.register()


def entry_point(task: Callable[[DictConfig], None]) -> Callable[[], None]:
    """``task`` as a console entry point: :func:`prepare_process`, then Hydra composes the config from the command line."""
    hydra_main = hydra.main(version_base="1.3", config_path=compose.CONFIG_PATH, config_name="config")(task)

    @functools.wraps(task)
    def start() -> None:
        prepare_process()
        hydra_main()

    return start


def run_stage(cfg: DictConfig, stage: Callable[[Config], object], command: str | None = None, tensorflow: bool = False) -> None:
    """Load ``cfg`` (compose.load: typed, checked, read-only), run ``stage`` on it, exit 2 with one line on a user error; a
    stage that returns an int exits with it.

    ``command``: the command's name when it needs a local workdir (every one but wf-preprocess).
    ``tensorflow``: import TensorFlow (quietly) once the config is valid, so a bad config fails at once.
    """
    try:
        config = compose.load(cfg)
        config_checks.require_writable_workdir(config.workdir)
        if command is not None:
            config_checks.require_local_workdir(config.workdir, command)
        if tensorflow:
            stderr.import_tensorflow_quietly(job_log_file())
        console.show_steps(config.terminal.steps)
        status = stage(config)
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


@entry_point
def preprocess(cfg: DictConfig) -> None:
    """Stage 1: corpus -> vocab.tsv, TFRecord splits, word2vec corpus, stats."""
    from workflow import orchestrate
    from workflow.preprocess import stage

    run_stage(cfg, lambda config: orchestrate.bring_up_to_date("preprocess", stage, config, always=True, describe=console.preprocess_summary,
                                                               log_file=job_log_file()))


@entry_point
def word2vec(cfg: DictConfig) -> None:
    """Stage 2: word vectors (trained or imported) -> embedding_matrix.npy, coverage, quality; then, when embedding.ngrams asks
    for pretrained n-gram rows, the n-gram stage beside them (skipped when up to date)."""
    run_stage(cfg, vectors_here, "wf-word2vec")


def vectors_here(config: Config) -> None:
    """wf-word2vec's stages: the vector source's, always; its n-gram stage's when the config reads pretrained n-gram rows."""
    from workflow import orchestrate
    from workflow.embeddings import ngram_stage, stage
    from workflow.training.identity import pretrained_ngrams

    orchestrate.bring_up_to_date("word2vec", stage, config, always=True, describe=console.word2vec_summary)
    if pretrained_ngrams(config):
        orchestrate.bring_up_to_date(orchestrate.ngram_stage_name(config.embedding.vectors), ngram_stage, config, describe=ngram_stage.summary)


@entry_point
def paragraph_vectors(cfg: DictConfig) -> None:
    """Paragraph vectors from the training-side reviews, and a regression on them whose predictions a combination averages
    with a network's (workflow/paragraphs/stage.py); skipped when up to date."""
    from workflow import orchestrate
    from workflow.paragraphs import output, stage

    run_stage(cfg, lambda config: orchestrate.bring_up_to_date(output.NAME, stage, config, describe=stage.summary), "wf-paragraph-vectors",
              tensorflow=True)  # the examples are TFRecords


@entry_point
def train(cfg: DictConfig) -> None:
    """Stage 3: the Keras Embedding classifier (frozen / finetune / random) under tf.distribute."""
    if HydraConfig.initialized() and HydraConfig.get().mode is RunMode.MULTIRUN:
        # One job of a sweep, trained in a process of its own (this one needs no TensorFlow) that logs as this job
        # does: a failure is raised, not exited, so that Hydra records it and runs the other jobs.
        run_stage(cfg, sweep_job, "wf-train")
    else:
        run_stage(cfg, train_here, "wf-train", tensorflow=True)


def sweep_job(config: Config) -> None:
    """One job of a Hydra multirun of wf-train, in a fresh process (processes.py). Jobs side by side (a launcher other than
    Hydra's basic one) show their progress as lines: their bars would be drawn over each other."""
    from workflow import processes

    if HydraConfig.get().launcher._target_ != BASIC_LAUNCHER and config.terminal.progress is ProgressDisplay.auto:
        config = with_values(config, {"terminal.progress": ProgressDisplay.lines})
    processes.train_or_raise(config, job_log_file(), job_logging())


def train_here(config: Config) -> None:
    """wf-train's one run, in this process, and its stage line: ``done in`` (with its test accuracy), or ``skipped`` when
    the run had finished with this key (it finished before this command started)."""
    from workflow.training import stage
    from workflow.training.identity import run_name

    started = time.time()
    run = stage.run(config)
    if run is None:  # a worker of a multi-worker run other than the chief: the chief reports
        return
    test = run.metrics.test
    accuracy = (f"test accuracy {test.accuracy:.4f}" if test is not None and test.accuracy is not None
                else "test not scored (trainer.score_test=false)" if not config.trainer.score_test else "no test split")
    name = run_name(config)
    if run.finished_at() < started:
        console.stage_line("training", f"skipped (up to date: {name} finished with this key; {accuracy})")
    else:
        console.stage_done("training", time.time() - started, f"{name}: {accuracy}")


def report_here(config: Config) -> None:
    """wf-report: the report, its stage line and the results table."""
    from workflow.report import stage

    with console.running("report", "asked for by name") as running:
        manifest = stage.run(config)
        running.summary = console.count(len(manifest["inputs"]["runs"]), "run")
    console.results(config.workdir)


@entry_point
def report(cfg: DictConfig) -> None:
    """Stage 4: results.md/.csv, figures, TensorBoard projector and insight over finished runs."""
    run_stage(cfg, report_here, "wf-report", tensorflow=True)


@entry_point
def run_all(cfg: DictConfig) -> None:
    """The whole workflow: preprocess -> word2vec -> train (a Hydra multirun over the sweep) -> report, skipping what is up to date."""
    from workflow import orchestrate

    overrides = HydraConfig.get().overrides
    run_stage(cfg, lambda config: orchestrate.run(config, job_log_file(), list(overrides.task), list(overrides.hydra)),
              "wf-run", tensorflow=True)  # the report needs it; its C++ start-up lines go to the log


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
