"""Run the embedding stage for one vector source: vectors (trained or imported), matrix, coverage, quality, manifest last.

Trained vectors go to ``<workdir>/word2vec``, an imported file's to
``<workdir>/imported/<file name>`` (``output.vectors_dir``), each with its own key.

Its cache key (:func:`key`) is the ``word2vec`` section less ``quality`` (the
evaluation settings change quality.json, never the vectors), the digest of
the vocabulary, and what the vectors come from: the digest of the corpus
shards gensim trains on (their order matters, so a re-sharded corpus with the
same counts is a new input), or the imported file's path, format and digest.
When only the quality settings changed, :func:`refresh_quality`
re-evaluates quality.json and keeps the vectors. ``FORMAT_VERSION``
(embeddings/output.py) is in the key, so an output of an older format is
never re-used.

One writer per folder: :func:`run` publishes through ``staged_output`` (the
folder's writer lock), pins the preprocessing version it reads, and checks
that it is the one its key was computed from.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import time

import gensim
import numpy as np
from apache_beam.io.filesystems import FileSystems
from gensim.models.keyedvectors import KeyedVectors

from workflow import __version__
from workflow import locks
from workflow.artifacts import file_sha256, is_local, read_manifest, staged_output, write_json, write_json_atomic
from workflow.caching import section
from workflow.config import Config, VectorsFormat, plain
from workflow.embeddings.layout import Word2VecLayout
from workflow.embeddings.matrix import build_matrix
from workflow.embeddings.output import FORMAT_VERSION, STAGE, Word2VecOutput, vectors_dir
from workflow.embeddings.quality import evaluate, small_corpus_notice
from workflow.embeddings.vectors_io import load_vectors, resolve_format, save_vectors
from workflow.console import StageProgress
from workflow.embeddings.word2vec import train_word2vec
from workflow.errors import ContractError, VectorsError
from workflow.preprocess import output as preprocess_output
from workflow.preprocess.output import PreprocessOutput
from workflow.storage import LOCAL, Storage

log = logging.getLogger(__name__)


def key(config: Config) -> dict:
    """What the vectors and the matrix depend on (see the module docstring)."""
    embedding = config.embedding
    if embedding.vectors is not None and not FileSystems.exists(embedding.vectors):
        raise VectorsError(f"embedding.vectors={embedding.vectors!r}: no such file")
    preprocess = PreprocessOutput(config.workdir)
    imported = None if embedding.vectors is None else {
        "path": embedding.vectors, "format": embedding.vectors_format.value, **imported_file_identity(config)}
    return {
        "format_version": FORMAT_VERSION,
        "config": {"word2vec": section(config.word2vec, without=("quality",))},
        "inputs": {"vocab_sha256": preprocess.vocab_sha256, "imported_vectors": imported,
                   "corpus_sha256": preprocess.corpus_sha256 if imported is None else None},
    }


def imported_file_identity(config: Config) -> dict:
    """``{"size", "modified", "sha256"}`` of ``embedding.vectors``.

    Hashing a multi-GB vectors file on every ``wf-run`` would cost more than
    the rest of an up-to-date check, so the digest recorded by the last import
    of the same path is re-used while the file's size and modification time
    are unchanged (an edit that keeps both is not seen: re-run with a new
    path, or delete <workdir>/word2vec, after rewriting a vectors file in place).
    """
    path = config.embedding.vectors
    metadata = FileSystems.match([path])[0].metadata_list[0]
    identity = {"size": metadata.size_in_bytes, "modified": metadata.last_updated_in_seconds}
    recorded = ((recorded_key(config) or {}).get("inputs") or {}).get("imported_vectors") or {}
    if recorded.get("path") == path and all(recorded.get(field) == value for field, value in identity.items()):
        return {**identity, "sha256": recorded["sha256"]}
    log.info("digest of %s (%.0f MB)", path, identity["size"] / 1e6)
    return {**identity, "sha256": file_sha256(path)}


def folder(config: Config) -> str:
    """The folder this stage publishes (and locks) for ``embedding.vectors``."""
    return vectors_dir(config.workdir, config.embedding.vectors)


def storage(config: Config) -> Storage:
    """The stage's files: a local workdir (the command requires one), so no store's options."""
    return LOCAL


def recorded_key(config: Config) -> dict | None:
    """The key the folder of ``embedding.vectors`` was made with (whatever its format); None when it never finished."""
    manifest = read_manifest(Word2VecOutput(config.workdir, config.embedding.vectors).layout.root)
    return None if manifest is None else manifest.get("key")


def refresh_quality(config: Config) -> bool:
    """Re-evaluate quality.json when only ``word2vec.quality`` changed; True if it did.

    It rewrites two files of the published version in place, so under the folder's writer lock, each file atomically.
    """
    with locks.exclusive(folder(config)):
        output = Word2VecOutput(config.workdir, config.embedding.vectors)
        settings = plain(config.word2vec.quality)
        if output.manifest.get("quality_settings") == settings:
            return False
        layout = output.layout
        vectors = load_vectors(layout.vectors, VectorsFormat.word2vec_binary)
        write_json_atomic(layout.quality, evaluate(vectors, settings["probes"], settings["topn"], settings["analogy_restrict_vocab"]))
        write_json_atomic(layout.manifest, {**output.manifest, "quality_settings": settings})  # the manifest last, as in run()
        return True


def concatenate_corpus(paths: list[str], target: str) -> None:
    """gensim's corpus_file is one file; the preprocessing corpus is shards."""
    with open(target, "wb") as out:
        for path in paths:
            with open(path, "rb") as shard:
                shutil.copyfileobj(shard, out, 1 << 20)


def check_same_preprocessing(preprocess: PreprocessOutput, stage_key: dict) -> None:
    """ContractError when preprocessing was published anew since ``stage_key`` was computed (the manifest would lie)."""
    inputs = stage_key["inputs"]
    if preprocess.vocab_sha256 != inputs["vocab_sha256"] or inputs["corpus_sha256"] not in (None, preprocess.corpus_sha256):
        raise ContractError(f"{preprocess.layout.root}: preprocessing was published anew since this stage's key was computed: run it again")


def obtain_vectors(config: Config, preprocess: PreprocessOutput, vocabulary: list[tuple[str, int]], staging: str,
                   stage_key: dict) -> tuple[KeyedVectors, dict]:
    """The vectors of ``embedding.vectors`` (trained on the corpus when None, else imported) and what the manifest says of their source."""
    embedding = config.embedding
    if embedding.vectors is None:
        corpus = os.path.join(staging, ".corpus.txt")
        concatenate_corpus(preprocess.corpus_files(), corpus)
        log.info("word2vec: %s, dim %d, %d epochs, %d workers on %s", "skip-gram" if config.word2vec.sg else "CBOW",
                 config.word2vec.vector_size, config.word2vec.epochs, config.word2vec.workers, preprocess.layout.corpus_glob)
        total_words = sum(count for _, count in vocabulary) * config.word2vec.epochs
        with StageProgress("word2vec", total_words, " words", config.terminal.progress) as progress:
            vectors, words_per_second = train_word2vec(corpus, vocabulary, config.word2vec, progress)
        os.remove(corpus)
        return vectors, {"kind": "word2vec", "words_per_second": round(words_per_second)}
    vectors_format = resolve_format(embedding.vectors, embedding.vectors_format)
    log.info("importing %s vectors from %s", vectors_format.value, embedding.vectors)
    vectors = load_vectors(embedding.vectors, vectors_format, keep={token for token, _ in vocabulary})
    log.info("kept the vectors of %d vocabulary words (dim %d)", len(vectors), vectors.vector_size)
    return vectors, {"kind": "import", **stage_key["inputs"]["imported_vectors"], "format": vectors_format.value}


def run(config: Config, stage_key: dict | None = None) -> dict:
    """Vectors -> ``<workdir>/word2vec``; returns the manifest (``stage_key``: :func:`key`, if computed already)."""
    started = time.time()
    if not is_local(config.workdir):
        raise ContractError(f"workdir={config.workdir!r}: the word2vec stage needs a local workdir (gensim reads local files)")
    stage_key = stage_key or key(config)
    embedding = config.embedding
    final_dir = folder(config)
    with preprocess_output.pinned(config.workdir) as preprocess, staged_output(final_dir, versioned=True) as staging:
        check_same_preprocessing(preprocess, stage_key)
        vocabulary = preprocess.vocabulary()
        layout = Word2VecLayout(staging)
        vectors, source = obtain_vectors(config, preprocess, vocabulary, staging, stage_key)
        save_vectors(vectors, layout.vectors)
        matrix, coverage = build_matrix(vocabulary, vectors, config.word2vec.seed)
        np.save(layout.matrix, matrix)
        write_json(layout.coverage, coverage)
        quality = plain(config.word2vec.quality)
        write_json(layout.quality, evaluate(vectors, quality["probes"], quality["topn"], quality["analogy_restrict_vocab"]))
        log.info("matrix %s: %.1f%% of vocabulary types and %.1f%% of corpus tokens have a vector",
                 matrix.shape, 100 * coverage["type_coverage"], 100 * coverage["token_coverage"])
        notice = small_corpus_notice(coverage["corpus_tokens"]) if embedding.vectors is None else None
        if notice:
            log.warning("small corpus: %s", notice)
        manifest = {
            "stage": STAGE,
            "key": stage_key,
            "quality_settings": quality,
            "config": plain(config),
            "inputs": {"vocab_sha256": preprocess.vocab_sha256, "vectors": source},
            "outputs": {"matrix_shape": list(matrix.shape), "dim": int(matrix.shape[1]), "matrix_sha256": file_sha256(layout.matrix),
                        "words_with_vector": coverage["types_with_vector"]},
            "durations_s": {"total": round(time.time() - started, 2)},
            "versions": {"workflow": __version__, "python": platform.python_version(), "gensim": gensim.__version__, "numpy": np.__version__},
        }
        write_json(layout.manifest, manifest)
    log.info("word2vec stage done in %.1f s -> %s", manifest["durations_s"]["total"], final_dir)
    return manifest
