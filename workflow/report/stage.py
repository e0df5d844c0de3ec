"""Run the report: tables, figures, projector and insight -> ``<workdir>/report/`` (manifest last).

Layout::

    results.md              summary per arm (mode, and vector source when several; mean ± std), every run, record counts, what the Embedding learned
    results.csv             one row per run
    learning_curves.png     loss and accuracy per epoch, every run
    accuracy_per_mode.png   test accuracy per mode, mean ± std and each seed
    accuracy_per_label_budget.png   test accuracy against labelled reviews, one line per mode (label-budget sweeps)
    insight.json            the data behind "What the Embedding layer learned"
    projector/              TensorBoard projector: the first source's vectors and each arm's trained table
    manifest.json
"""

from __future__ import annotations

import logging
import os
import time

from workflow import __version__, sweep
from workflow.artifacts import stage_dir, staged_output, write_json, write_text
from workflow.config import Config, vectors_source
from workflow.embeddings.output import Word2VecOutput
from workflow.embeddings.quality import small_corpus_notice
from workflow.errors import ContractError
from workflow.preprocess.output import PreprocessOutput
from workflow.report import insight, plots, tables
from workflow.report.markdown import render
from workflow.report.projector import write_projector
from workflow.report.runs import FinishedRun, find_runs, mode_rank
from workflow.training.model import embedding_matrix, load_classifier

STAGE = "report"
log = logging.getLogger(__name__)


def same_vocabulary(runs: list[FinishedRun], vocab_sha256: str) -> list[FinishedRun]:
    """The runs trained on this workdir's vocabulary (the others cannot share its tables and test set)."""
    kept = [run for run in runs if run.metrics["identity"]["inputs"]["vocab_sha256"] == vocab_sha256]
    for run in (run for run in runs if run not in kept):
        log.warning("%s was trained on another vocabulary: in the tables, not in the insight or projector", run.layout.root)
    return kept


def run(config: Config, resolved_config: dict, failed: list[dict] = ()) -> dict:
    """The report over the finished runs of ``report.runs``; ``failed`` lists the sweep's jobs that did not finish
    (``{"run", "log"}``), shown in results.md."""
    started = time.time()
    paths = list(config.report.runs) or [os.path.join(config.workdir, "runs")]
    try:
        runs = find_runs(paths)
    except FileNotFoundError as error:
        raise ContractError(f"{error}: run wf-train (or wf-run) first") from None
    if not runs:
        raise ContractError(f"no finished training run (metrics.json) under {', '.join(paths)}: run wf-train (or wf-run) first")
    preprocess = PreprocessOutput(config.workdir)
    vocab_sha256 = preprocess.vocab_sha256
    vocabulary = preprocess.vocabulary()
    # The first source the sweep compares is traced before and after fine-tuning. Through the contract
    # check: a matrix built from another vocabulary is an error, not a silent mismatch.
    source = sweep.vector_sources(config)[0]
    word2vec = Word2VecOutput(config.workdir, source)
    pretrained = word2vec.matrix(vocab_sha256, len(vocabulary)) if word2vec.exists() else None
    notice = small_corpus_notice(word2vec.coverage()["corpus_tokens"]) if pretrained is not None and word2vec.trained_here else None
    if notice:
        log.warning("small corpus: %s", notice)
    comparable = same_vocabulary(runs, vocab_sha256)
    log.info("report over %d run(s) (%d on this workdir's vocabulary) from %s", len(runs), len(comparable), ", ".join(paths))

    with staged_output(stage_dir(config.workdir, STAGE)) as staging:
        table = tables.rows(runs)
        summary = tables.summary(table)
        budgets = tables.label_budgets(summary)
        tables.write_csv(table, os.path.join(staging, "results.csv"))
        if len(budgets["labelled"]) > 1:
            plots.accuracy_per_label_budget(budgets, table, os.path.join(staging, "accuracy_per_label_budget.png"))
        plots.learning_curves(runs, os.path.join(staging, "learning_curves.png"))
        plots.accuracy_per_mode(summary, table, os.path.join(staging, "accuracy_per_mode.png"))
        settings = config.report
        explained = insight.explain(preprocess, [token for token, _ in vocabulary], pretrained, vectors_source(source), comparable,
                                    list(settings.probes), settings.neighbours, settings.example_tokens)
        write_json(os.path.join(staging, "insight.json"), explained)
        projected = {} if pretrained is None else {vectors_source(source): pretrained}
        first_of_arm: dict[str, FinishedRun] = {}
        for run in comparable:
            first_of_arm.setdefault(run.arm, run)
        for arm in sorted(first_of_arm, key=mode_rank):
            projected[first_of_arm[arm].name] = embedding_matrix(load_classifier(first_of_arm[arm].layout.export))
        shapes = write_projector(os.path.join(staging, "projector"), projected, vocabulary, settings.projector_tokens)
        write_text(os.path.join(staging, "results.md"),
                   render(summary, budgets, table, tables.training_markdown(runs), explained, preprocess.stats(), shapes, paths, config.workdir, list(failed), notice))
        manifest = {
            "stage": STAGE,
            "config": resolved_config,
            "inputs": {"runs": [run.layout.root for run in runs], "vocab_sha256": vocab_sha256},
            "outputs": {"summary": summary, "label_budgets": budgets, "projector": shapes, "failed_runs": list(failed)},
            "durations_s": {"total": round(time.time() - started, 2)},
            "versions": {"workflow": __version__},
        }
        write_json(os.path.join(staging, "manifest.json"), manifest)
    report_dir = stage_dir(config.workdir, STAGE)
    log.info("report: %s (%d runs, %.1f s)", os.path.join(report_dir, "results.md"), len(runs), time.time() - started)
    return manifest
