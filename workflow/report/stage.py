"""Run the report: tables, figures, projector and insight -> ``<workdir>/report/`` (layout.py; manifest last).

Its input is finished runs (training/output.py), ``report.runs`` or the runs
wf-run's sweep finished, and the preprocessing and vector outputs they were
trained from; people read what it writes, and code reads its manifest
through ``ReportOutput`` (output.py).
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from workflow import __version__
from workflow.artifacts import staged_output, write_json, write_text
from workflow.config import Config, plain
from workflow.embeddings.layout import source_name
from workflow.embeddings.output import Word2VecOutput
from workflow.embeddings.quality import small_corpus_notice
from workflow.errors import ContractError
from workflow.preprocess.output import PreprocessOutput
from workflow.report import insight, ngram_rows, plots, tables
from workflow.report import statistics as intervals
from workflow.report.layout import STAGE, ReportLayout
from workflow.report.markdown import render
from workflow.report.output import FORMAT_VERSION, folder
from workflow.report.projector import projected_tables, write_projector
from workflow.report.runs import Configuration, FinishedRun, find_runs, group_configurations
from workflow.training.identity import vector_sources
from workflow.training.layout import RUNS

log = logging.getLogger(__name__)


def same_vocabulary(runs: list[FinishedRun], vocab_sha256: str) -> list[FinishedRun]:
    """The runs trained on this workdir's vocabulary (the others cannot share its tables and test set)."""
    kept = [run for run in runs if run.metrics.identity["inputs"]["vocab_sha256"] == vocab_sha256]
    for run in (run for run in runs if run not in kept):
        log.warning("%s was trained on another vocabulary: in the tables, not in the insight or projector", run.root)
    return kept


def configuration_block(configuration: Configuration, table: list[dict], outcomes: dict, staging: ReportLayout, alone: bool) -> dict:
    """One configuration's part of the report (see markdown.render), its figures written into ``staging``."""
    number = None if alone else configuration.number
    rows = [row for row in table if row["configuration"] == configuration.number]
    summary = tables.summary(rows)
    budgets = tables.label_budgets(summary)
    found = tables.comparisons(configuration.runs, outcomes)
    figures = {"per_mode": ReportLayout.figure("accuracy_per_mode", number),
               "per_label_budget": ReportLayout.figure("accuracy_per_label_budget", number)}
    if len(budgets["labelled"]) > 1:
        plots.accuracy_per_label_budget(budgets, rows, found, staging.figure_path(figures["per_label_budget"]))
    plots.accuracy_per_mode(summary, rows, found, staging.figure_path(figures["per_mode"]))
    return {"number": configuration.number, "heading": None if alone else tables.configuration_heading(configuration),
            "differs_in": configuration.heading, "summary": summary, "budgets": budgets, "found": found,
            "comparisons": tables.comparisons_markdown(found) if found else "",
            "training": tables.training_markdown(configuration.runs), "validation": all(run.has_validation for run in configuration.runs),
            "figures": figures}


def with_intervals(summary: list[dict], rows: list[dict]) -> list[dict]:
    """The summary entries, each with the 95% t-interval over seeds of its test accuracy (None with one seed)."""
    entries = []
    for entry in summary:
        accuracies = [row["test_accuracy"] for row in rows if row["test_accuracy"] is not None and (row["labelled_reviews"], row["mode"])
                      == (entry["labelled_reviews"], entry["mode"])]
        interval = intervals.t_interval(np.array(accuracies)) if len(accuracies) > 1 else None
        entries.append({**entry, "test_accuracy_interval": interval})
    return entries


def run(config: Config, runs: list[str] = (), failed: list[dict] = ()) -> dict:
    """The report over the finished runs under ``runs`` (run folders or folders holding them; by default ``report.runs``,
    or ``<workdir>/runs``); ``failed`` lists the sweep's jobs that did not finish (``{"run", "log"}``), shown in
    results.md. Returns the manifest (read back by report/output.py)."""
    started = time.time()
    paths = list(runs) or list(config.report.runs) or [os.path.join(config.workdir, RUNS)]
    try:
        runs, configurations = group_configurations(find_runs(paths))
    except FileNotFoundError as error:
        raise ContractError(f"{error}: run wf-train (or wf-run) first") from None
    if not runs:
        raise ContractError(f"no finished training run (metrics.json) under {', '.join(paths)}: run wf-train (or wf-run) first")
    preprocess = PreprocessOutput(config.workdir)
    comparable = same_vocabulary(runs, preprocess.vocab_sha256)
    log.info("report over %d run(s) (%d on this workdir's vocabulary) from %s", len(runs), len(comparable), ", ".join(paths))
    # The first source the sweep compares is traced before and after fine-tuning.
    source, vocabulary = vector_sources(config)[0], preprocess.vocabulary()
    pretrained, notice = pretrained_table(config.workdir, source, preprocess.vocab_sha256, len(vocabulary))

    with staged_output(folder(config.workdir)) as staging_root:
        staging = ReportLayout(staging_root)
        table = tables.rows(runs)
        tables.write_csv(table, staging.results_csv)
        outcomes = {run.root: found for run in runs if (found := run.output.predictions("test")) is not None}
        blocks = [configuration_block(configuration, table, outcomes, staging, len(configurations) == 1) for configuration in configurations]
        ngram_found = ngram_rows.comparisons(runs, outcomes)
        plots.learning_curves(runs, staging.learning_curves)
        settings = config.report
        explained = insight.explain(preprocess, [token for token, _ in vocabulary], pretrained, source_name(source), comparable,
                                    list(settings.probes), settings.neighbours, settings.example_tokens)
        write_json(staging.insight, explained)
        shapes = projector(staging, config.workdir, preprocess, source, pretrained, comparable, settings.projector_tokens)
        write_text(staging.results_md,
                   render(blocks, table, explained, preprocess.stats(), shapes, paths, config.workdir, list(failed), notice,
                          tables.comparisons_markdown(ngram_found, between="configurations") if ngram_found else ""))
        manifest = report_manifest(plain(config), runs, preprocess.vocab_sha256, blocks, ngram_found, table, shapes, list(failed), started)
        write_json(staging.manifest, manifest)
    log.info("report: %s (%d runs, %.1f s)", ReportLayout(folder(config.workdir)).results_md, len(runs), time.time() - started)
    return manifest


def pretrained_table(workdir: str, source: str | None, vocab_sha256: str, vocabulary_size: int) -> tuple[np.ndarray | None, str | None]:
    """The matrix of vector source ``source`` (None when that stage never ran) and, for word2vec trained on a small
    corpus, the notice results.md leads with. Through the contract check: a matrix built from another vocabulary is an
    error, not a silent mismatch."""
    word2vec = Word2VecOutput(workdir, source)
    if not word2vec.exists():
        return None, None
    pretrained = word2vec.matrix(vocab_sha256, vocabulary_size)
    notice = small_corpus_notice(word2vec.coverage()["corpus_tokens"]) if word2vec.trained_here else None
    if notice:
        log.info("small corpus: %s", notice)  # the word2vec stage warned when it trained them; results.md says it first
    return pretrained, notice


def projector(staging: ReportLayout, workdir: str, preprocess: PreprocessOutput, source: str | None, pretrained: np.ndarray | None,
              comparable: list[FinishedRun], tokens: int) -> dict:
    """projector/: the source's pretrained table and the trained table of each arm's first run, with their metadata
    columns (projector.py); their shapes."""
    tables_shown = projected_tables(workdir, preprocess, source_name(source), pretrained, comparable)
    return write_projector(staging.projector, tables_shown, preprocess.vocabulary(), tokens)


def report_manifest(config_record: dict, runs: list[FinishedRun], vocab_sha256: str, blocks: list[dict], ngram_found: list[dict],
                    table: list[dict], shapes: dict, failed: list[dict], started: float) -> dict:
    """manifest.json (its reader: report/output.py); ``ngram_found``: pretrained n-gram rows against random ones
    (ngram_rows.py), across configurations."""
    configurations = [{"number": block["number"], "differs_in": block["differs_in"],
                       "summary": with_intervals(block["summary"], [row for row in table if row["configuration"] == block["number"]]),
                       "label_budgets": block["budgets"], "comparisons": tables.comparisons_json(block["found"])} for block in blocks]
    return {
        "stage": STAGE,
        "format_version": FORMAT_VERSION,
        "config": config_record,
        "inputs": {"runs": [run.root for run in runs], "vocab_sha256": vocab_sha256},
        "outputs": {"configurations": configurations, "ngram_rows_comparisons": tables.comparisons_json(ngram_found),
                    "projector": shapes, "failed_runs": failed},
        "durations_s": {"total": round(time.time() - started, 2)},
        "versions": {"workflow": __version__},
    }
