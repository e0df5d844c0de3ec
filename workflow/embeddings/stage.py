"""Run the embedding stage: vectors (trained or imported), matrix, coverage, quality, manifest last."""

from __future__ import annotations

import logging
import os
import platform
import shutil
import time

import gensim
import numpy as np

from workflow import __version__
from workflow.artifacts import (
    ContractError,
    PreprocessLayout,
    Word2VecLayout,
    file_sha256,
    is_local,
    matching_files,
    read_vocab,
    require_manifest,
    stage_dir,
    staged_output,
    write_json,
)
from workflow.config import Config
from workflow.embeddings.matrix import build_matrix
from workflow.embeddings.quality import evaluate
from workflow.embeddings.vectors_io import load_vectors, save_vectors
from workflow.embeddings.word2vec import train_word2vec

STAGE = "word2vec"
log = logging.getLogger(__name__)


def checked_vocabulary(workdir: str) -> tuple[PreprocessLayout, list[tuple[str, int]], str]:
    """The finished preprocessing output, its vocabulary and vocab.tsv's SHA-256 (checked)."""
    layout = PreprocessLayout(stage_dir(workdir, "preprocess"))
    manifest = require_manifest(layout.root, "wf-preprocess")
    digest = file_sha256(layout.vocab)
    if digest != manifest["outputs"]["vocab_sha256"]:
        raise ContractError(f"{layout.vocab} changed after its manifest was written (sha256 {digest[:12]} != {manifest['outputs']['vocab_sha256'][:12]}): re-run wf-preprocess")
    return layout, read_vocab(layout.vocab), digest


def load_embedding_matrix(workdir: str, vocab_sha256: str, vocabulary_size: int, dim: int | None = None) -> np.ndarray:
    """The matrix for the vocabulary with this hash; ContractError naming both sides otherwise."""
    layout = Word2VecLayout(stage_dir(workdir, STAGE))
    manifest = require_manifest(layout.root, "wf-word2vec")
    built_from = manifest["inputs"]["vocab_sha256"]
    if built_from != vocab_sha256:
        raise ContractError(
            f"{layout.matrix} was built from vocab.tsv sha256 {built_from[:12]}, but the vocabulary is now {vocab_sha256[:12]}: re-run wf-word2vec"
        )
    matrix = np.load(layout.matrix)
    if matrix.shape[0] != vocabulary_size:
        raise ContractError(f"{layout.matrix} has {matrix.shape[0]} rows but the vocabulary has {vocabulary_size}")
    if dim is not None and matrix.shape[1] != dim:
        raise ContractError(f"{layout.matrix} has dimension {matrix.shape[1]} but the config asks for {dim}")
    return matrix


def concatenate_corpus(paths: list[str], target: str) -> None:
    """gensim's corpus_file is one file; the preprocessing corpus is shards."""
    with open(target, "wb") as out:
        for path in paths:
            with open(path, "rb") as shard:
                shutil.copyfileobj(shard, out, 1 << 20)


def run(config: Config, resolved_config: dict) -> dict:
    """Vectors -> ``<workdir>/word2vec``; returns the manifest."""
    started = time.time()
    if not is_local(config.workdir):
        raise ContractError(f"workdir={config.workdir!r}: the word2vec stage needs a local workdir (gensim reads local files)")
    preprocess, vocabulary, vocab_sha256 = checked_vocabulary(config.workdir)
    embedding = config.embedding
    with staged_output(stage_dir(config.workdir, STAGE)) as staging:
        layout = Word2VecLayout(staging)
        if embedding.vectors is None:
            corpus = os.path.join(staging, ".corpus.txt")
            concatenate_corpus(matching_files(preprocess.corpus_glob), corpus)
            log.info("word2vec: %s, dim %d, %d epochs, %d workers on %s", "skip-gram" if config.word2vec.sg else "CBOW",
                     config.word2vec.vector_size, config.word2vec.epochs, config.word2vec.workers, preprocess.corpus_glob)
            vectors, words_per_second = train_word2vec(corpus, vocabulary, config.word2vec)
            os.remove(corpus)
            source = {"kind": "word2vec", "words_per_second": round(words_per_second)}
        else:
            log.info("importing %s vectors from %s", embedding.vectors_format.value, embedding.vectors)
            vectors = load_vectors(embedding.vectors, embedding.vectors_format)
            source = {"kind": "import", "path": embedding.vectors, "format": embedding.vectors_format.value, "sha256": file_sha256(embedding.vectors)}
        save_vectors(vectors, layout.vectors)
        matrix, coverage = build_matrix(vocabulary, vectors, config.word2vec.seed)
        np.save(layout.matrix, matrix)
        write_json(layout.coverage, coverage)
        quality = config.word2vec.quality
        write_json(layout.quality, evaluate(vectors, list(quality.probes), quality.topn, quality.analogy_restrict_vocab))
        log.info("matrix %s: %.1f%% of vocabulary types and %.1f%% of corpus tokens have a vector",
                 matrix.shape, 100 * coverage["type_coverage"], 100 * coverage["token_coverage"])
        manifest = {
            "stage": STAGE,
            "config": resolved_config,
            "inputs": {"vocab_sha256": vocab_sha256, "vectors": source},
            "outputs": {"matrix_shape": list(matrix.shape), "dim": int(matrix.shape[1]), "words_with_vector": coverage["types_with_vector"]},
            "durations_s": {"total": round(time.time() - started, 2)},
            "versions": {"workflow": __version__, "python": platform.python_version(), "gensim": gensim.__version__, "numpy": np.__version__},
        }
        write_json(layout.manifest, manifest)
    log.info("word2vec stage done in %.1f s -> %s", manifest["durations_s"]["total"], stage_dir(config.workdir, STAGE))
    return manifest
