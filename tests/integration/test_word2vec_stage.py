"""The embedding stage: training, import formats, matrix alignment, contract checks, determinism."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from gensim.models.keyedvectors import KeyedVectors

from tests.conftest import compose_config, typed
from workflow.artifacts import read_json
from workflow.embeddings import stage as word2vec_stage
from workflow.config import VectorsFormat
from workflow.embeddings.layout import Word2VecLayout
from workflow.embeddings.output import Word2VecOutput
from workflow.embeddings.vectors_io import load_vectors
from workflow.errors import ContractError, VectorsError
from workflow.preprocess import stage as preprocess_stage
from workflow.preprocess.output import read_vocab

FILLER = "the a of and to is in it this that was as with for film movie".split()


def planted_corpus(path: Path, documents: int = 400, seed: int = 0) -> Path:
    """Unlabelled text where 'alpha' and 'beta' share every context and 'gamma' never does."""
    rng = random.Random(seed)
    lines = []
    for _ in range(documents):
        word = rng.choice(["alpha", "beta"])
        lines.append(" ".join(rng.choices(FILLER, k=4) + ["red", "sky", word, "blue", "sea"] + rng.choices(FILLER, k=4)))
        lines.append(" ".join(rng.choices(FILLER, k=4) + ["old", "car", "gamma", "fast", "road"] + rng.choices(FILLER, k=4)))
    path.write_text("\n".join(lines) + "\n")
    return path


def planted_config(workdir: Path, corpus: Path, *overrides: str):
    """The typed config of the planted corpus in ``workdir``: one word2vec worker, 16 dimensions, 20 epochs."""
    return typed(compose_config(workdir, "data=jsonl", "data.format=text", f"data.path={corpus}", "data.split=unsup", "preprocess.min_count=1",
                                "word2vec.workers=1", "word2vec.vector_size=16", "word2vec.epochs=20", *overrides))


@pytest.fixture(scope="module")
def preprocessed(tmp_path_factory) -> Path:
    """The planted corpus preprocessed once for the module (``<root>/planted.txt``, ``<root>/work``); tests use copies."""
    root = tmp_path_factory.mktemp("planted")
    corpus = planted_corpus(root / "planted.txt")
    preprocess_stage.run(planted_config(root / "work", corpus))
    return root


@pytest.fixture
def prepared(preprocessed, tmp_path):
    """A copy of the module's preprocessing output of the planted corpus; returns a config factory for it."""
    workdir = tmp_path / "work"
    shutil.copytree(preprocessed / "work", workdir, symlinks=True)

    def config(*overrides: str):
        return planted_config(workdir, preprocessed / "planted.txt", *overrides)

    return config


def test_planted_synonyms_end_up_nearest(prepared):
    config = prepared()
    word2vec_stage.run(config)
    layout = Word2VecLayout(os.path.join(config.workdir, "word2vec"))
    vectors = KeyedVectors.load_word2vec_format(layout.vectors, binary=True)
    # Calibrated over corpus/model seeds 0-4 (CBOW, dim 16, 20 epochs):
    # alpha~beta 0.995-0.996, alpha~gamma -0.24..-0.15.
    assert vectors.similarity("alpha", "beta") > 0.9
    assert vectors.similarity("alpha", "gamma") < 0.5
    quality = read_json(layout.quality)
    assert quality["analogies"]["questions"] == 19544
    assert quality["analogies"]["scored"] + quality["analogies"]["out_of_vocabulary"] == 19544
    assert quality["neighbours"]["awful"] is None  # a probe word the corpus lacks


def test_matrix_rows_align_with_vocabulary(prepared):
    config = prepared()
    word2vec_stage.run(config)
    layout = Word2VecLayout(os.path.join(config.workdir, "word2vec"))
    vocabulary = read_vocab(os.path.join(config.workdir, "preprocess", "vocab.tsv"))
    vectors = KeyedVectors.load_word2vec_format(layout.vectors, binary=True)
    matrix = np.load(layout.matrix)
    assert matrix.shape == (len(vocabulary), 16) and matrix.dtype == np.float32
    assert not matrix[0].any()  # <pad>
    for token_id, (token, _) in enumerate(vocabulary[2:], start=2):
        np.testing.assert_array_equal(matrix[token_id], vectors[token])
    coverage = read_json(layout.coverage)
    assert coverage["type_coverage"] == 1.0 and coverage["vocabulary_types"] == len(vocabulary) - 2


def test_one_worker_and_a_seed_give_identical_vectors_in_two_processes_of_different_hash_seeds(prepared, tmp_path):
    """Two fresh processes whose Python ``hash`` differs (PYTHONHASHSEED) train the same bytes: the seed alone decides."""
    config = prepared()
    matrices = []
    for hash_seed in ("1", "2"):
        workdir = tmp_path / f"hash-seed-{hash_seed}"
        shutil.copytree(os.path.join(config.workdir, "preprocess"), workdir / "preprocess", symlinks=True)
        overrides = [f"workdir={workdir}", "data=jsonl", "data.format=text", f"data.path={config.data.path}", "data.split=unsup",
                     "preprocess.min_count=1", "word2vec.workers=1", "word2vec.vector_size=16", "word2vec.epochs=20"]
        process = subprocess.run([sys.executable, "-c", "from workflow.cli import word2vec; word2vec()", *overrides], cwd=tmp_path,
                                 env={**os.environ, "PYTHONHASHSEED": hash_seed}, capture_output=True, text=True, timeout=300)
        assert process.returncode == 0, process.stderr[-3000:]
        matrices.append(np.load(Word2VecLayout(str(workdir / "word2vec")).matrix))
    np.testing.assert_array_equal(matrices[0], matrices[1])
    assert np.abs(matrices[0][2:]).min(axis=1).max() > 0, "trained rows, not a zero matrix that would trivially match"


def write_vectors(path: Path, words: dict[str, list[float]], fmt: str) -> Path:
    vectors = KeyedVectors(vector_size=3)
    vectors.add_vectors(list(words), np.array(list(words.values()), dtype=np.float32))
    if fmt == "word2vec_binary":
        vectors.save_word2vec_format(str(path), binary=True)
    else:
        vectors.save_word2vec_format(str(path), binary=False, write_header=fmt == "word2vec_text")
    return path


@pytest.mark.parametrize("fmt, name", [("word2vec_text", "w2v.txt"), ("word2vec_binary", "w2v.bin"), ("glove", "glove.6B.3d.txt")])
def test_imported_vectors_fill_their_rows_and_oov_rows_stay_within_their_spread(prepared, tmp_path, fmt, name):
    """Each format, told from the file (vectors_format=auto), into imported/<file name>/ beside word2vec/."""
    rng = np.random.default_rng(1)
    known = {word: list(rng.normal(0, 0.5, 3)) for word in ["alpha", "beta", "sky", "notinvocab"]}
    path = write_vectors(tmp_path / name, known, fmt)
    config = prepared(f"embedding.vectors={path}", "embedding.vectors_format=auto")
    manifest = word2vec_stage.run(config)
    vocabulary = read_vocab(os.path.join(config.workdir, "preprocess", "vocab.tsv"))
    ids = {token: index for index, (token, _) in enumerate(vocabulary)}
    layout = Word2VecOutput(config.workdir, str(path)).layout
    assert os.path.realpath(layout.root) == os.path.realpath(os.path.join(config.workdir, "imported", name.removesuffix(".txt").removesuffix(".bin")))
    matrix = np.load(layout.matrix)
    for word in ["alpha", "beta", "sky"]:
        np.testing.assert_allclose(matrix[ids[word]], known[word], rtol=1e-6)
    assert manifest["inputs"]["vectors"]["format"] == fmt
    coverage = read_json(layout.coverage)
    assert coverage["types_with_vector"] == 3
    # Rows without a vector are drawn from U[-a, a], a = sqrt(3 var) of the imported vectors (same variance);
    # the statistical check of that variance is test_oov_rows_have_the_pretrained_variance.
    bound = np.sqrt(3 * np.var(np.array([known[word] for word in ["alpha", "beta", "sky"]], dtype=np.float32)))
    oov = np.array([matrix[index] for token, index in ids.items() if token not in known and index > 1])
    assert len(oov) > 10 and np.abs(oov).max() <= bound + 1e-6 and np.abs(oov).max() > bound / 2


def test_an_imported_file_is_streamed_for_vocabulary_words_only_and_hashed_once(prepared, tmp_path):
    """A gzip'd fastText .vec (header line): words outside the vocabulary are never kept; an unchanged file is not re-hashed."""
    lines = ["5 3", "alpha 0.1 0.2 0.3", "elsewhere 9 9 9", "beta 0.4 0.5 0.6", "alpha 7 7 7", "sky 1e-1 -2 3.5"]
    path = tmp_path / "crawl.vec.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    config = prepared(f"embedding.vectors={path}", "embedding.vectors_format=word2vec_text")
    word2vec_stage.run(config)
    kept = load_vectors(Word2VecOutput(config.workdir, str(path)).layout.vectors, VectorsFormat.word2vec_binary)
    assert sorted(kept.key_to_index) == ["alpha", "beta", "sky"] and kept.vectors.dtype == np.float32
    np.testing.assert_array_equal(kept["alpha"], np.array([0.1, 0.2, 0.3], dtype=np.float32))  # the first of a repeated word
    recorded = word2vec_stage.recorded_key(config)["inputs"]["imported_vectors"]
    word2vec_stage.run(config)  # the same file again: its recorded digest is re-used, not recomputed
    with mock.patch.object(word2vec_stage, "file_sha256", side_effect=AssertionError("re-hashed an unchanged file")):
        assert word2vec_stage.key(config)["inputs"]["imported_vectors"] == recorded
    bad = tmp_path / "bad.vec"
    bad.write_text("2 3\nalpha 0.1 0.2 0.3\nbeta 0.4 0.5\n")
    with pytest.raises(VectorsError, match=r"bad.vec.*line 3 \('beta'\) has 2 values"):
        load_vectors(str(bad), VectorsFormat.word2vec_text, keep={"alpha", "beta"})


def test_oov_rows_have_the_pretrained_variance():
    from workflow.embeddings.matrix import build_matrix

    rng = np.random.default_rng(0)
    vectors = KeyedVectors(vector_size=50)
    vectors.add_vectors([f"w{i}" for i in range(500)], rng.normal(0, 0.3, (500, 50)).astype(np.float32))
    vocabulary = [("<pad>", 0), ("<unk>", 5)] + [(f"w{i}", 10) for i in range(500)] + [(f"new{i}", 1) for i in range(500)]
    matrix, coverage = build_matrix(vocabulary, vectors, seed=3)
    oov = matrix[502:]
    assert abs(oov.var() / vectors.vectors.var() - 1) < 0.05  # U[-a, a] with a = sqrt(3 var)
    assert coverage["type_coverage"] == pytest.approx(0.5)
    assert coverage["token_coverage"] == pytest.approx(5000 / (5 + 5000 + 500))


def test_contract_checks_name_both_sides(prepared):
    config = prepared()
    word2vec_stage.run(config)
    vocab_path = os.path.join(config.workdir, "preprocess", "vocab.tsv")
    vocabulary = read_vocab(vocab_path)
    manifest = read_json(os.path.join(config.workdir, "word2vec", "manifest.json"))
    digest = manifest["inputs"]["vocab_sha256"]
    output = Word2VecOutput(config.workdir)
    assert output.matrix(digest, len(vocabulary), 16).shape == (len(vocabulary), 16)
    with pytest.raises(ContractError, match=rf"built from vocab.tsv sha256 {digest[:12]}, but the vocabulary is now 000000000000"):
        output.matrix("0" * 64, len(vocabulary), 16)
    with pytest.raises(ContractError, match="dimension 16 but the config asks for 300"):
        output.matrix(digest, len(vocabulary), 300)
    # A vocabulary edited after preprocessing is caught before training.
    with open(vocab_path, "a") as handle:
        handle.write("sneaky\t1\n")
    with pytest.raises(ContractError, match="changed after its manifest"):
        word2vec_stage.run(config)


def test_missing_stage_and_bad_vectors_are_clear(make_config, prepared, tmp_path):
    with pytest.raises(ContractError, match="run wf-preprocess first"):
        word2vec_stage.run(typed(make_config(f"workdir={tmp_path / 'empty'}")))
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("2 3\nalpha 1 2\n")
    with pytest.raises(VectorsError, match="garbage.txt"):
        word2vec_stage.run(prepared(f"embedding.vectors={garbage}"))
    with pytest.raises(VectorsError, match="no such file"):
        word2vec_stage.run(prepared(f"embedding.vectors={tmp_path / 'nope.txt'}"))


def test_the_key_follows_the_corpus_gensim_reads_not_only_the_vocabulary(prepared):
    config = prepared()
    word2vec_stage.run(config)
    assert word2vec_stage.recorded_key(config) == word2vec_stage.key(config)
    resharded = prepared("preprocess.read_block_mb=0.01")  # the same documents and counts, in other files (10 KB blocks)
    preprocess_stage.run(resharded)
    after = word2vec_stage.key(resharded)
    assert after["inputs"]["vocab_sha256"] == word2vec_stage.recorded_key(config)["inputs"]["vocab_sha256"]
    assert after["inputs"]["corpus_sha256"] != word2vec_stage.recorded_key(config)["inputs"]["corpus_sha256"]
