"""Run the preprocessing stage: staging folder, Beam job, stats check, manifest last.

Its cache key (:func:`key`) is what the output depends on: the ``data`` and
``preprocess`` config sections (less the data set's display name), a
content digest of every input file and the entries its patterns match that
are no readable files. The read layout is in it (each read task
writes its own files: task_outputs.py); the Beam runner, its options and the
number of workers are not: every runner writes the same bytes. For an aclImdb
folder the url files that name each labelled review's film (films.tsv) are
in it too. The key also holds ``FORMAT_VERSION`` (preprocess/output.py),
bumped whenever what the stage writes changes, so that no output of an older
format is re-used. Computing it checks that no file is in two splits; a run
checks, before any work, that every CSV header holds the fields the config
names.

A job that cannot write (a full disk, a permission) fails with one line
naming the path (``StorageError``); the staging folder goes, the published
output stays as it was, and the lock is released (artifacts.staged_output).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import platform
import time
from typing import Iterator

import apache_beam as beam

from workflow import __version__
from workflow.artifacts import delete_tree, is_local, join, listed_files, matching, read_json, read_manifest, staged_output, write_json
from workflow.caching import combined_digest, files_digest, section
from workflow.config import Config, CorpusFormat, carved_test_fraction, carved_validation_fraction, plain
from workflow.console import StageProgress
from workflow.errors import ConfigError, EmptyCorpusError
from workflow.preprocess.aclimdb import ACLIMDB_SPLITS, is_archive
from workflow.preprocess.counting import describe_reasons
from workflow.preprocess.films import folder_films, url_files
from workflow.preprocess.films_tsv import read_films, write_films
from workflow.preprocess.job_metrics import OUTCOMES, counter_name, job_counters
from workflow.preprocess.layout import SPLITS, TRAINING_SIDE, PreprocessLayout
from workflow.preprocess.leakage import check_split_sources
from workflow.preprocess.options import check_paths_reach_workers, pipeline_setup, runner_description
from workflow.preprocess.output import FORMAT_VERSION, STAGE, PreprocessOutput
from workflow.preprocess.output import folder as output_folder
from workflow.preprocess.pipeline import ALL_SPLITS, build_pipeline
from workflow.preprocess.read_progress import ProgressWatcher
from workflow.preprocess.readers import check_csv_headers, input_files
from workflow.preprocess.settings import CorpusSettings, JobSettings
from workflow.stderr import stderr_to
from workflow.storage import Storage
from workflow.storage import split as split_path

log = logging.getLogger(__name__)
REJECTED_KEPT = "preprocess-rejected"  # <workdir>/preprocess-rejected/: the rejections of a corpus that was all rejected


def storage(config: Config) -> Storage:
    """The stage's files: its inputs and its output folder, on local disks or on an object store that ``beam.options``
    configures (an S3 endpoint, a GCS project), the options the Beam job runs with."""
    return Storage(config.beam.options)


def key(config: Config) -> dict:
    """What the preprocessing output depends on (see the module docstring)."""
    check_paths_reach_workers(config)
    files = storage(config)
    corpus = CorpusSettings.of(config.data)
    check_split_sources(corpus)
    inputs = input_files(corpus, files)
    film_files = config.data.format is CorpusFormat.aclimdb and not is_archive(config.data.path)  # an archive's digest covers its own
    return {
        "format_version": FORMAT_VERSION,
        "config": {
            "data": section(config.data, without=("name",)),
            "preprocess": section(config.preprocess),
        },
        # the entries that are not read are each a rejected record: one that appears or goes changes the output
        "inputs": {**files_digest(inputs.files, files), "unread": {path: reason for path, reason in inputs.refused}},
        **({"films": files_digest(url_files(config.data.path, storage=files), files)} if film_files else {}),
    }


def job_settings(config: Config) -> JobSettings:
    """What the Beam job reads of the config, as plain values (preprocess/settings.py): built here, on the driver."""
    return JobSettings.of(config, carved_validation_fraction(config), carved_test_fraction(config))


def folder(config: Config) -> str:
    """``<workdir>/preprocess``: what the stage publishes, and locks while it decides and runs (one writer; on an object
    store a lease object there, through :func:`storage`)."""
    return output_folder(config.workdir)


def recorded_key(config: Config) -> dict | None:
    """The key ``<workdir>/preprocess`` was made with; None when it never finished."""
    manifest = read_manifest(PreprocessOutput(config.workdir).layout.root, storage(config))
    return None if manifest is None else manifest.get("key")


def run(config: Config, stage_key: dict | None = None, log_file: str | None = None) -> dict:
    """Run the Beam job into ``<workdir>/preprocess``; returns the manifest.

    ``stage_key``: :func:`key`, when the caller computed it already.
    ``log_file``: where the Beam SDK workers' own output goes (their INFO lines
    would drown the progress output); None leaves it on the terminal.
    """
    started = time.time()
    files = storage(config)
    stage_key = stage_key or key(config)
    check_csv_headers(CorpusSettings.of(config.data), files)  # before any work (the key reads no byte of an input: a store's checksums)
    inputs = stage_key["inputs"]
    final_dir = folder(config)
    log.info("preprocess: %d input file(s), %.1f MB, runner %s -> %s", inputs["files"], inputs["bytes"] / 1e6, runner_description(config.beam), final_dir)
    films, films_in_archives = validation_groups(config, files)
    with staged_output(final_dir, versioned=True, storage=files) as staging:
        layout = PreprocessLayout(staging)
        pipeline_started = time.time()
        with stderr_to(log_file), pipeline_setup(config.beam, log_file) as (runner, options):
            pipeline = beam.Pipeline(runner=runner, options=options)
            input_bytes = build_pipeline(pipeline, job_settings(config), layout, films, films_in_archives)
            with showing_progress(config, layout, input_bytes):
                result = pipeline.run()
                result.wait_until_finish()
            counters = job_counters(result)  # while a job service started for the job still answers
        pipeline_seconds = time.time() - pipeline_started
        delete_tree(layout.spill_dir, files)
        delete_tree(layout.progress_dir, files)
        record_films(config, layout, files, inputs["files"])
        stats = read_json(layout.stats, files)
        check_counters(counters, stats)
        check_not_empty(config, stats, layout, files)
        manifest = {
            "stage": STAGE,
            "key": stage_key,
            "config": plain(config),
            "counts": {**stats["totals"], "vocabulary_size": stats["vocabulary_size"]},
            "outputs": listed_outputs(staging, files),
            "beam_counters": counters,  # what the runner's UI showed (job_metrics.py), equal to stats.json's counts
            "validation_split": stats["validation_split"],
            "tokenizer": dataclasses.asdict(config.preprocess.tokenizer),  # what the exported model must reproduce
            "durations_s": {"pipeline": round(pipeline_seconds, 2), "total": round(time.time() - started, 2)},
            "runner": config.beam.runner,
            "versions": {"workflow": __version__, "python": platform.python_version(), "apache_beam": beam.__version__},
        }
        write_json(layout.manifest, manifest, files)
    log_summary(stats, final_dir, manifest["durations_s"]["total"])
    return manifest


@contextlib.contextmanager
def showing_progress(config: Config, layout: PreprocessLayout, input_bytes: int) -> Iterator[None]:
    """While the job runs: how much of its input the read tasks have read (read_progress.py), as a live bar on a
    terminal or a line a minute through a pipe; nothing for a workdir on an object store (tasks count there only
    on local storage)."""
    if not is_local(config.workdir) or input_bytes == 0:
        yield
        return
    with StageProgress("preprocess", input_bytes, "B", config.terminal.progress) as progress:
        with ProgressWatcher(layout.progress_dir, lambda done: progress.update(done, "reading the input" if done < input_bytes
                                                                             else "input read, writing the examples")):
            yield


def check_not_empty(config: Config, stats: dict, layout: PreprocessLayout, files: Storage) -> None:
    """EmptyCorpusError when no training-side document was written, ConfigError when no token reached the vocabulary.

    An empty corpus whose records were all rejected keeps its rejections: ``rejected/`` and ``stats.json`` move to
    ``<workdir>/preprocess-rejected/`` (the staging folder is deleted with the error), and the error names the most
    frequent reasons.
    """
    if sum(stats["splits"][split]["records_written"] for split in TRAINING_SIDE) == 0:
        totals = stats["totals"]
        if totals["records_rejected"] == 0:
            raise EmptyCorpusError(f"empty corpus: no training-side document in {config.data.path!r} ({totals['records_read']} records read)")
        kept = keep_rejections(layout, join(config.workdir, REJECTED_KEPT), files)
        raise EmptyCorpusError(f"empty corpus: no training-side document in {config.data.path!r}: {totals['records_rejected']:,} of "
                               f"{totals['records_read']:,} records rejected, most often {describe_reasons(stats['rejected_reasons'])}; "
                               f"every rejection: {kept}")
    if stats["vocabulary_size"] <= 2:  # <pad> and <unk> only
        train = stats["splits"]["train"]
        raise ConfigError(f"preprocess.min_count={config.preprocess.min_count}: no token occurs that often in the training-side text "
                          f"(train: {train['tokens']:,} tokens, {train['distinct_tokens']:,} distinct); lower it")


def keep_rejections(layout: PreprocessLayout, kept: str, files: Storage) -> str:
    """Move the staging folder's rejections and stats.json to ``kept`` (replacing what was there); its rejected file."""
    delete_tree(kept, files)
    sources = [meta.path for meta in matching(layout.rejected_glob, files)] + [layout.stats]
    files.mkdirs(kept)
    files.rename(sources, [join(kept, split_path(path)[1]) for path in sources])
    return join(kept, split_path(layout.rejected)[1])


def listed_outputs(staging: str, storage: Storage) -> dict:
    """The manifest's ``outputs``: every file with its SHA-256, and one digest of the examples and one of the corpus."""
    files = listed_files(staging, storage)
    examples = [name for name in files if name.startswith(tuple(f"examples/{split}-" for split in SPLITS))]
    corpus = [name for name in files if name.startswith("corpus/")]
    return {
        "files": files,
        "examples_sha256": combined_digest((name, files[name]["sha256"]) for name in examples),
        "corpus_sha256": combined_digest((name, files[name]["sha256"]) for name in corpus),
    }


def check_counters(counters: dict[str, int], stats: dict) -> None:
    """The job's Beam counters must equal stats.json's counts: two independent tallies of one job.

    A runner that reports no counters at all (not every portable runner
    does) is logged, not failed: stats.json is the record.
    """
    if not counters:
        log.warning("preprocess: runner reported no Beam counters; stats.json holds the counts")
        return
    expected = {counter_name(split, outcome): row[f"records_{outcome}"]
                for split, row in stats["splits"].items() for outcome in OUTCOMES if row[f"records_{outcome}"]}
    if counters != expected:
        raise AssertionError(f"Beam counters {counters} differ from stats.json {expected}")


def validation_groups(config: Config, files: Storage) -> tuple[dict[str, str], bool]:
    """How validation is carved out of train: ``(films read now, whether archive tasks learn them)``.

    By film for aclImdb when ``preprocess.validation_by_film`` (films.py): a
    folder's url files are read here; an archive's are learned by each task
    from its own stream. By review otherwise: ``({}, False)``.
    """
    if config.data.format is not CorpusFormat.aclimdb or not config.preprocess.validation_by_film:
        return {}, False
    if is_archive(config.data.path):
        return {}, True
    return folder_films(config.data.path, storage=files), False


def record_films(config: Config, layout: PreprocessLayout, files: Storage, input_count: int) -> None:
    """films.tsv: the film of each labelled aclImdb review (films.py), for the report's film-clustered bootstrap;
    none for other corpora, or without url files. An archive's is written by the job (its tasks stream the url files)."""
    if config.data.format is not CorpusFormat.aclimdb:
        return
    if is_archive(config.data.path):
        films = read_films(layout.films, files) if files.exists(layout.films) else {}
        if films and input_count > 1:
            log.warning("films.tsv holds the films of the first of the %d archives data.path matched: their reviews share names", input_count)
    else:
        films = folder_films(config.data.path, ACLIMDB_SPLITS, files)
        if films:
            write_films(layout.films, films, files)
    if films:
        log.info("films.tsv: %d labelled reviews of %d films", len(films), len(set(films.values())))


def log_summary(stats: dict, final_dir: str, seconds: float) -> None:
    """A readable table of the split counts (the same numbers as stats.json)."""
    log.info("%-10s %9s %9s %9s %11s %8s %6s", "split", "read", "written", "rejected", "tokens", "oov", "p50")
    for split in ALL_SPLITS:
        row = stats["splits"][split]
        log.info(
            "%-10s %9d %9d %9d %11d %7.2f%% %6s",
            split, row["records_read"], row["records_written"], row["records_rejected"], row.get("tokens", 0),
            100 * row.get("oov_rate", 0.0), row.get("length", {}).get("p50", "-"),
        )
    totals = stats["totals"]
    log.info(
        "read %d = written %d + rejected %d; vocabulary %d tokens; %.1f s -> %s",
        totals["records_read"], totals["records_written"], totals["records_rejected"], stats["vocabulary_size"], seconds, final_dir,
    )
    if totals["records_rejected"]:
        log.warning("%s of %s records rejected, most often %s (every one: %s)", f"{totals['records_rejected']:,}", f"{totals['records_read']:,}",
                    describe_reasons(stats["rejected_reasons"]), PreprocessLayout(final_dir).rejected)
    carved = stats["validation_split"]
    if carved["grouped_by"] == "film":
        log.info("validation carved by film: %d training reviews of %d films (train/urls_*.txt)", carved["reviews_with_film"], carved["films"])
    else:
        log.info("validation carved by review (no film grouping: not aclImdb, preprocess.validation_by_film=false, or no train/urls_*.txt)")
