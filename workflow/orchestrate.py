"""``wf-run``: every stage in order, each skipped when it says it is up to date.

The orchestrator knows no stage's rules: it asks each stage for its cache
key (``stage.key(config)``, declared beside the stage's code) and for the key
its manifest recorded (``stage.recorded_key(config)``), and runs the stage,
with that key, only when the two differ (workflow/caching.py ``why_outdated``), holding the lock of the stage's
folder (``stage.folder(config)``, on the storage ``stage.storage(config)`` gives) from the comparison to the publish, so that
concurrent runs on one workdir (two commands, or a Hydra launcher's parallel
jobs) make each output once; the embedding stage once per vector
source (``sweep.vectors``, or ``embedding.vectors``), each followed by its
n-gram stage when a run starts n-gram rows from pretrained vectors
(``embedding.ngrams``, ``sweep.ngrams``); then the paragraph-vector stage when the
network reads paragraph vectors (``model.paragraph_vectors``). The training jobs
(sources x ``sweep.label_budgets`` x ``sweep.ngrams`` x ``sweep.modes`` x ``sweep.seeds``: training/identity.py)
are trained one after the other in this process, or, when wf-run was given a Hydra launcher
(or a strategy that needs a fresh process), are one Hydra multirun of
``wf-train`` launched by it, each job in a process of its own (``sweep.py``);
either way each job has a log of its own, and a job that finds its run
finished with the same key re-uses it. A failed job does
not stop the others: the report covers the runs that finished and lists the
failed ones, and the command exits 1 at the end.
"""

from __future__ import annotations

import logging
import os
import time
from types import ModuleType
from typing import Callable

from workflow import console, locks, sweep
from workflow.caching import why_outdated
from workflow.config import Config, with_values
from workflow.embeddings.layout import source_name
from workflow.training.identity import pretrained_ngrams, sweep_run_names, vector_sources
from workflow.training.output import RunOutput

log = logging.getLogger(__name__)


def bring_up_to_date(name: str, stage: ModuleType, config: Config, always: bool = False,
                     describe: Callable[[Config], str] | None = None, **run_options) -> None:
    """Run ``stage`` unless its manifest records the key it has now; say which, and why, in the stage's line
    (workflow/console.py: ``skipped (up to date)``, or ``done in 21.3 s (<describe(config)>)``).

    One critical section: the writer lock of the stage's folder (``stage.folder(config)``,
    workflow/locks.py) is held from the key check to the publish, so a second run of the
    same stage waits, saying for whom, then finds the stage up to date and skips it.
    ``always`` (wf-preprocess, wf-word2vec: a stage asked for by name) runs it even when
    up to date, unless this call waited for the writer that just brought it up to date.
    The key is computed once (it hashes every input file) and handed to the run.
    """
    with locks.exclusive(stage.folder(config), storage=stage.storage(config)) as waited:
        stage_key = stage.key(config)
        why = why_outdated(stage.recorded_key(config), stage_key, config)
        if why is None and (waited or not always):
            log.info("%s: up to date (its manifest records this key%s), skipped", name, "; written by the run it waited for" if waited else "")
            console.stage_line(name, "skipped (up to date" + ("; written by the run it waited for)" if waited else ")"))
            return
        why = why or "asked for by name"
        log.info("%s: runs (%s)", name, why)
        with console.running(name, why) as running:
            stage.run(config, stage_key=stage_key, **run_options)
            changed = why if why.startswith("changed") else None  # "no finished output", "asked for by name": no news
            running.summary = "; ".join(part for part in (describe(config) if describe else None, changed) if part) or None


def ngram_stage_name(vectors: str | None) -> str:
    """The n-gram stage's name in its line: ``ngrams``, or ``ngrams <source>`` beside an imported file's vectors."""
    return "ngrams" if vectors is None else f"ngrams {source_name(vectors)}"


def run(config: Config, log_file: str, task_overrides: list[str], hydra_overrides: list[str]) -> int:
    """The whole workflow for ``config.workdir``; the exit status (1 when a training job failed).

    ``task_overrides`` and ``hydra_overrides``: wf-run's command line, which the training sweep inherits.
    """
    from workflow.embeddings import ngram_stage
    from workflow.embeddings import stage as word2vec_stage
    from workflow.paragraphs import output as paragraph_output
    from workflow.paragraphs import stage as paragraph_stage
    from workflow.preprocess import stage as preprocess_stage

    started = time.time()
    bring_up_to_date("preprocess", preprocess_stage, config, describe=console.preprocess_summary, log_file=log_file)
    for vectors in vector_sources(config):
        source = with_values(config, {"embedding.vectors": vectors})
        name = "word2vec" if vectors is None else f"vectors {vectors}"
        bring_up_to_date(name, word2vec_stage, source, describe=console.word2vec_summary)
        if word2vec_stage.refresh_quality(source):
            log.info("%s: quality settings changed, quality.json re-evaluated (vectors kept)", name)
            console.stage_line(name, "quality.json re-evaluated (word2vec.quality changed; the vectors kept)")
        if pretrained_ngrams(config):
            bring_up_to_date(ngram_stage_name(vectors), ngram_stage, source, describe=ngram_stage.summary)
    if config.model.paragraph_vectors:
        bring_up_to_date(paragraph_output.NAME, paragraph_stage, config, describe=paragraph_stage.summary)
    finished, failed = train(config, log_file, task_overrides, hydra_overrides)
    if finished:
        report(config, finished, failed)
    log.info("workflow done in %.0f s: %d of %d training jobs finished", time.time() - started, len(finished), len(finished) + len(failed))
    lines = [f"Failed:      {job['run']}: {job['log']}" for job in failed] + [f"Log:         {log_file}"]
    console.terminal.write("\n".join(lines))
    return 1 if failed else 0


def train(config: Config, log_file: str, task_overrides: list[str], hydra_overrides: list[str]) -> tuple[list[str], list[dict]]:
    """The training sweep (sweep.py); the run folders that finished, and ``{"run", "log"}`` of each job that did not."""
    names = sweep_run_names(config)
    sweep_dir = os.path.join(os.path.dirname(log_file), "train")
    log.info("training %d job(s); their logs: %s/<run name>/%s", len(names), sweep_dir, sweep.JOB_LOG)
    console.stage_line("training", f"{console.count(len(names), 'run')} (their logs: {sweep.job_log(sweep_dir, '<run name>')})")
    started = time.time()
    if sweep.trains_here(config, hydra_overrides):
        sweep.train_here(config, sweep_dir)
    else:
        status = sweep.launch(config, task_overrides, hydra_overrides, sweep_dir, log_file)
        if status != 0:
            log.error("the training sweep exited with status %d; Hydra's account of it: %s", status, log_file)
    finished, failed = [], []
    for name in names:
        run = RunOutput.named(config.workdir, name)
        if run.finished:
            finished.append(run.root)
        else:
            failed.append({"run": name, "log": sweep.job_log(sweep_dir, name)})
            log.info("training %s did not finish; its log: %s", name, failed[-1]["log"])  # the terminal: a Failed: line at the end
    console.stage_done("training", time.time() - started, f"{len(finished)} of {console.count(len(names), 'run')} finished")
    return finished, failed


def report(config: Config, finished: list[str], failed: list[dict]) -> None:
    """The report on this sweep's runs (not on everything in <workdir>/runs, unless ``report.runs`` says otherwise), its
    line, and the results table."""
    from workflow.report import stage as report_stage

    with console.running("report", console.count(len(finished), "finished run")) as running:
        manifest = report_stage.run(config, runs=list(config.report.runs) or finished, failed=failed)
        running.summary = console.count(len(manifest["inputs"]["runs"]), "run")
    console.results(config.workdir)
