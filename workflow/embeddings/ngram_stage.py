"""Run the n-gram stage for one vector source: the annotated corpus, vectors for the n-gram rows, coverage, manifest last.

Output: ``<workdir>/ngrams/<vector source>/`` (ngram_layout.py), read through
``NgramOutput`` (ngram_output.py). wf-run (and wf-word2vec) bring it up to
date, after the source's word2vec stage, when ``embedding.ngrams`` or
``sweep.ngrams`` asks for pretrained n-gram rows.

Its cache key (:func:`key`) is the ``ngrams`` section, the bucket counts of the
tables (``model.bigram_buckets``, ``model.trigram_buckets``), the digests of
the vocabulary and of the corpus shards, and the digest of the token matrix
the n-gram vectors are learned beside (ngram_vectors.py); ``FORMAT_VERSION``
(ngram_output.py) is in it too.

One writer per folder: :func:`run` publishes through ``staged_output`` (the
folder's writer lock), pins the preprocessing version it reads, and checks
that its inputs are the ones its key was computed from.
"""

from __future__ import annotations

import logging
import os
import platform
import time

import gensim
import numpy as np

from workflow import __version__
from workflow.artifacts import file_sha256, is_local, read_manifest, staged_output, write_json
from workflow.caching import combined_digest, section
from workflow.config import Config, plain
from workflow.console import StageProgress
from workflow.embeddings.ngram_corpus import AnnotatedCorpus, KeySpace
from workflow.embeddings.ngram_layout import ORDER_NAMES, NgramLayout
from workflow.embeddings.ngram_output import FORMAT_VERSION, STAGE, NgramOutput, NgramRows, ngrams_dir, table_buckets
from workflow.embeddings.ngram_vectors import train_ngram_vectors
from workflow.embeddings.output import Word2VecOutput
from workflow.embeddings.stage import check_same_preprocessing
from workflow.errors import ConfigError, ContractError
from workflow.preprocess import output as preprocess_output
from workflow.preprocess.output import PreprocessOutput
from workflow.storage import LOCAL, Storage

log = logging.getLogger(__name__)


def key(config: Config) -> dict:
    """What the n-gram vectors depend on (see the module docstring)."""
    preprocess = PreprocessOutput(config.workdir)
    return {
        "format_version": FORMAT_VERSION,
        "config": {"ngrams": section(config.ngrams), "buckets": {ORDER_NAMES[order]: count for order, count in table_buckets(config).items()}},
        "inputs": {"vocab_sha256": preprocess.vocab_sha256, "corpus_sha256": preprocess.corpus_sha256,
                   "token_matrix_sha256": Word2VecOutput(config.workdir, config.embedding.vectors).matrix_sha256},
    }


def folder(config: Config) -> str:
    """The folder this stage publishes (and locks) for ``embedding.vectors``."""
    return ngrams_dir(config.workdir, config.embedding.vectors)


def storage(config: Config) -> Storage:
    """The stage's files: a local workdir (the command requires one), so no store's options."""
    return LOCAL


def recorded_key(config: Config) -> dict | None:
    """The key the folder was made with (whatever its format); None when it never finished."""
    manifest = read_manifest(NgramOutput(config.workdir, config.embedding.vectors).layout.root)
    return None if manifest is None else manifest.get("key")


def summary(config: Config) -> str:
    """The stage line's account: ``100,000 bigram rows, 87,302 with a vector: 99.1% of bigram occurrences``."""
    coverage = NgramOutput(config.workdir, config.embedding.vectors).coverage()
    return "; ".join(f"{table['buckets']:,} {name} rows, {table['buckets_with_vector']:,} with a vector: "
                     f"{100 * table['occurrence_coverage']:.1f}% of {name} occurrences" for name, table in coverage["tables"].items())


def run(config: Config, stage_key: dict | None = None) -> dict:
    """N-gram vectors -> ``<workdir>/ngrams/<vector source>``; returns the manifest (``stage_key``: :func:`key`, if computed already)."""
    started = time.time()
    if not is_local(config.workdir):
        raise ContractError(f"workdir={config.workdir!r}: the n-gram stage needs a local workdir (gensim reads local files)")
    stage_key = stage_key or key(config)
    tables = table_buckets(config)
    if not tables:
        raise ConfigError("the n-gram stage needs n-gram rows: set model.bigram_buckets (or model.trigram_buckets) > 0")
    with preprocess_output.pinned(config.workdir) as preprocess, staged_output(folder(config), versioned=True) as staging:
        check_same_preprocessing(preprocess, stage_key)
        vocabulary = preprocess.vocabulary()
        token_rows = Word2VecOutput(config.workdir, config.embedding.vectors)
        if token_rows.matrix_sha256 != stage_key["inputs"]["token_matrix_sha256"]:
            raise ContractError(f"{token_rows.layout.root}: the token matrix was published anew since this stage's key was computed: run it again")
        token_matrix = token_rows.matrix(preprocess.vocab_sha256, len(vocabulary))
        keys = KeySpace(len(vocabulary), tables)
        corpus_file = os.path.join(staging, ".annotated.txt")
        annotating = time.time()
        annotated = annotate(preprocess.corpus_files(), corpus_file, vocabulary, keys, config)
        annotating = time.time() - annotating
        log.info("n-grams: %s, dim %d, window %d tokens, %d epochs, %d workers on %s keys", "skip-gram" if config.ngrams.sg else "CBOW",
                 token_matrix.shape[1], config.ngrams.window, config.ngrams.epochs, config.ngrams.workers, f"{annotated.items:,}")
        with StageProgress(STAGE, annotated.items * config.ngrams.epochs, " words", config.terminal.progress) as progress:
            found, words_per_second = train_ngram_vectors(corpus_file, annotated.counts, token_matrix, keys, config.ngrams, progress)
        os.remove(corpus_file)
        layout = NgramLayout(staging)
        files = write_tables(layout, found)
        write_json(layout.coverage, coverage_of(annotated, keys, found))
        manifest = {
            "stage": STAGE,
            "key": stage_key,
            "config": plain(config),
            "inputs": {"vocab_sha256": preprocess.vocab_sha256, "corpus_sha256": preprocess.corpus_sha256,
                       "token_matrix_sha256": token_rows.matrix_sha256, "vector_source": token_rows.manifest["inputs"]["vectors"]},
            "outputs": {"dim": int(token_matrix.shape[1]), "buckets": {str(order): count for order, count in tables.items()},
                        "files": files, "rows_sha256": combined_digest(files.items())},
            "words_per_second": round(words_per_second),
            "durations_s": {"annotate": round(annotating, 2), "total": round(time.time() - started, 2)},
            "versions": {"workflow": __version__, "python": platform.python_version(), "gensim": gensim.__version__, "numpy": np.__version__},
        }
        write_json(layout.manifest, manifest)
    log.info("n-gram stage done in %.1f s -> %s", manifest["durations_s"]["total"], folder(config))
    return manifest


def write_tables(layout: NgramLayout, found: dict) -> dict[str, str]:
    """Each table's rows and vectors as ``.npy`` files in ``layout``; their names -> SHA-256."""
    files = {}
    for order, table in found.items():
        for path, values in ((layout.rows(order), table.rows), (layout.vectors(order), table.vectors)):
            np.save(path, values)
            files[os.path.basename(path)] = file_sha256(path)
    return files


def annotate(sources: list[str], target: str, vocabulary: list[tuple[str, int]], keys: KeySpace, config: Config) -> AnnotatedCorpus:
    """The preprocessing corpus ``sources``, annotated with its n-grams into ``target``, with its progress shown."""
    total_bytes = sum(os.path.getsize(path) for path in sources)
    annotated = AnnotatedCorpus(vocabulary, keys)
    done = 0

    def advance(read: int) -> None:
        nonlocal done
        done += read
        progress.update(done, "annotating the corpus with its n-grams")

    with StageProgress(STAGE, total_bytes, "B", config.terminal.progress) as progress, open(target, "wb") as out:
        annotated.write(sources, out, advance)
    return annotated


def coverage_of(annotated: AnnotatedCorpus, keys: KeySpace, found: dict[int, NgramRows]) -> dict:
    """coverage.json: per table, its buckets, those the corpus has, those with a vector, and the occurrences they cover
    (each table's also logged)."""
    tables = {}
    for order, count in keys.buckets.items():
        occurrences = annotated.counts[keys.offset(order):keys.offset(order) + count + 1]
        covered = int(occurrences[found[order].rows].sum())
        total = int(occurrences.sum())
        tables[ORDER_NAMES[order]] = {"buckets": count, "buckets_seen": int(np.count_nonzero(occurrences)),
                                      "buckets_with_vector": len(found[order].rows), "occurrences": total,
                                      "occurrences_with_vector": covered, "occurrence_coverage": round(covered / total, 6) if total else 0.0}
        log.info("%s rows: %d of %d have a vector (%.1f%% of %d occurrences)", ORDER_NAMES[order], len(found[order].rows), count,
                 100 * tables[ORDER_NAMES[order]]["occurrence_coverage"], total)
    return {"tables": tables, "annotated_words": annotated.items}
