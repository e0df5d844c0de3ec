"""The n-gram stage: vectors for hashed n-gram rows learned beside the token rows, its key, its reader's checks, its hooks."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from tests.conftest import compose_config, run_here, typed, write_aclimdb_archive
from workflow import orchestrate
from workflow.embeddings import ngram_stage, ngram_vectors
from workflow.embeddings import stage as word2vec_stage
from workflow.embeddings.ngram_corpus import ngram_buckets
from workflow.embeddings.ngram_output import NgramOutput
from workflow.embeddings.output import Word2VecOutput
from workflow.errors import ContractError
from workflow.preprocess import stage as preprocess_stage
from workflow.preprocess.output import PreprocessOutput
from workflow.training.stage import TrainingInputs

FILLER = "the a of and to is in it this that was as with for film movie".split()
BUCKETS = 1000
# Every planted word occurs as often in either context; only the order of the pairs tells the contexts apart.
CONTEXTS = {"first": (("red", "sky"), ("blue", "sea"), ["alpha beta", "gamma delta"]),
            "second": (("old", "car"), ("fast", "road"), ["beta alpha", "delta gamma"])}


def planted_review(rng: random.Random, context: str) -> str:
    before, after, pairs = CONTEXTS[context]
    return " ".join(rng.choices(FILLER, k=3) + [*before, rng.choice(pairs), *after] + rng.choices(FILLER, k=3))


def planted_reviews(unlabelled: int, seed: int = 0) -> dict[str, bytes]:
    """aclImdb-shaped: positive training reviews in the first context, negative ones in the second, unlabelled ones in both."""
    rng = random.Random(seed)
    reviews, number = {}, 0
    for folder, context, count in (("train/pos", "first", 40), ("train/neg", "second", 40), ("test/pos", "first", 5), ("test/neg", "second", 5),
                                   *(("train/unsup", context, unlabelled // 2) for context in CONTEXTS)):
        rating = 0 if "unsup" in folder else 8 if "pos" in folder else 2
        for _ in range(count):
            reviews[f"aclImdb/{folder}/{number}_{rating}.txt"] = planted_review(rng, context).encode()
            number += 1
    return reviews


def overrides(workdir: Path, archive: Path, *more: str) -> list[str]:
    return [f"workdir={workdir}", "data=imdb", f"data.path={archive}", "preprocess.min_count=1", "beam.running_mode=in_memory",
            "beam.num_workers=1", "word2vec.workers=1", "word2vec.vector_size=16", "word2vec.epochs=20", "ngrams.workers=1",
            "ngrams.epochs=20", f"model.bigram_buckets={BUCKETS}", "embedding.ngrams=frozen", *more]


@pytest.fixture(scope="module")
def vectors_ready(tmp_path_factory) -> Path:
    """The planted corpus preprocessed and its word2vec vectors trained, once for the module (``<root>/planted.tar.gz``,
    ``<root>/work``); tests use copies."""
    root = tmp_path_factory.mktemp("planted-ngrams")
    archive = write_aclimdb_archive(root / "planted.tar.gz", planted_reviews(400))
    config = typed(compose_config(root / "work", *overrides(root / "work", archive)[1:]))
    preprocess_stage.run(config)
    word2vec_stage.run(config)
    return root


@pytest.fixture
def planted(vectors_ready, tmp_path):
    """A copy of the module's workdir; returns a factory of its typed config (with more overrides)."""
    workdir = tmp_path / "work"
    shutil.copytree(vectors_ready / "work", workdir, symlinks=True)

    def config(*more: str):
        return typed(compose_config(workdir, *overrides(workdir, vectors_ready / "planted.tar.gz", *more)[1:]))

    return config


def bucket(config, first: str, second: str) -> int:
    vocabulary = PreprocessOutput(config.workdir).vocabulary()
    ids = {token: number for number, (token, _) in enumerate(vocabulary)}
    return int(ngram_buckets(np.array([ids[first], ids[second]]), 2, BUCKETS)[0])


def test_planted_bigrams_that_share_contexts_end_up_near_each_other(planted):
    """alpha, beta, gamma and delta each occur in both contexts, so their token rows cannot tell the contexts apart;
    'alpha beta' and 'gamma delta' occur in one, 'beta alpha' and 'delta gamma' in the other."""
    config = planted()
    manifest = ngram_stage.run(config)
    output = NgramOutput(config.workdir)
    [(rows, vectors)] = output.rows(PreprocessOutput(config.workdir).vocab_sha256, {2: BUCKETS}, 16).values()
    vector = dict(zip(rows.tolist(), vectors))
    pairs = {pair: bucket(config, *pair.split()) for pair in ("alpha beta", "gamma delta", "beta alpha", "delta gamma")}
    assert len(set(pairs.values())) == 4, "no two planted bigrams share a row"

    def cosine(first: str, second: str) -> float:
        a, b = vector[pairs[first]], vector[pairs[second]]
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    # Calibrated over corpus seeds 0-4 x word2vec and stage seeds 0-4 (CBOW, dim 16, 20 epochs, one worker): the same context
    # 0.57 to 0.81, the other context -0.36 to -0.12.
    assert cosine("alpha beta", "gamma delta") > 0.45 and cosine("beta alpha", "delta gamma") > 0.45
    assert cosine("alpha beta", "beta alpha") < 0.0 and cosine("gamma delta", "delta gamma") < 0.0
    coverage = output.coverage()["tables"]["bigram"]
    assert coverage["buckets_with_vector"] == coverage["buckets_seen"] == len(rows) and coverage["occurrence_coverage"] == 1.0
    assert manifest["outputs"]["dim"] == 16 and vectors.dtype == np.float32


def test_the_token_rows_are_held_at_the_vector_sources_while_the_n_gram_rows_learn(planted):
    """gensim's per-key lock holds in corpus_file mode: after training, every token key still has its word2vec row."""
    config = planted()
    trained, train_with_progress = [], ngram_vectors.train_with_progress

    def training(model, *arguments):
        before = model.wv.vectors.copy()
        words_per_second = train_with_progress(model, *arguments)
        trained.append((before, model.wv.vectors.copy(), model.wv.vectors_lockf))
        return words_per_second

    with mock.patch.object(ngram_vectors, "train_with_progress", training):
        ngram_stage.run(config)
    [(before, after, locks)] = trained
    held = locks == 0
    preprocess = PreprocessOutput(config.workdir)
    matrix = Word2VecOutput(config.workdir).matrix(preprocess.vocab_sha256, len(preprocess.vocabulary()))
    assert held.sum() == len(matrix) - 2, "every vocabulary token but <pad> and <unk>"
    np.testing.assert_array_equal(after[held], before[held])
    np.testing.assert_array_equal(np.sort(after[held], axis=0), np.sort(matrix[2:], axis=0))
    assert np.all(np.any(after[~held] != before[~held], axis=1)), "every n-gram row learned"


def test_wf_word2vec_brings_it_up_to_date_once_and_again_when_its_tables_or_its_corpus_change(planted, vectors_ready, tmp_path):
    config = planted()
    arguments = overrides(Path(config.workdir), vectors_ready / "planted.tar.gz")
    first = run_here("word2vec", *arguments, cwd=tmp_path)
    assert "ngrams       done in " in first and f"{BUCKETS:,} bigram rows, " in first
    assert "ngrams       skipped (up to date)" in run_here("word2vec", *arguments, cwd=tmp_path), "the same vectors, the same key"
    other_tables = run_here("word2vec", *arguments, f"model.bigram_buckets={BUCKETS // 2}", cwd=tmp_path)
    assert f"changed: config.buckets.bigram ({BUCKETS} -> {BUCKETS // 2})" in other_tables
    archive = write_aclimdb_archive(tmp_path / "more.tar.gz", planted_reviews(402))
    arguments = overrides(Path(config.workdir), archive)
    run_here("preprocess", *arguments, cwd=tmp_path)
    assert "changed: inputs.corpus_sha256" in run_here("word2vec", *arguments, cwd=tmp_path)
    assert "ngrams" not in run_here("word2vec", *arguments[:-1], cwd=tmp_path), "random n-gram rows need no n-gram stage"


def test_wf_run_brings_it_up_to_date_before_training(planted, vectors_ready, tmp_path):
    config = planted()
    with mock.patch.object(orchestrate, "train", return_value=([], [])):
        output = run_here("run_all", *overrides(Path(config.workdir), vectors_ready / "planted.tar.gz"), "sweep.ngrams=[random,frozen]",
                          cwd=tmp_path)
    assert "word2vec     skipped (up to date)" in output and "ngrams       done in " in output


def test_rows_of_another_width_vocabulary_tables_or_token_matrix_are_one_clear_error(planted):
    """The bag averages n-gram and token rows: random token rows of another width (word2vec.vector_size changed since the
    stage ran) are refused by name; so are rows learned for other tables or beside other token rows."""
    config = planted()
    ngram_stage.run(config)
    with pytest.raises(ContractError, match=r"n-gram rows have width 16, the token rows 8 \(embedding.vectors' width, or word2vec.vector_size\)"):
        TrainingInputs.read(planted("embedding=random", "embedding.ngrams=frozen", "word2vec.vector_size=8"))
    output, vocab_sha256 = NgramOutput(config.workdir), PreprocessOutput(config.workdir).vocab_sha256
    with pytest.raises(ContractError, match=r"learned for model.bigram_buckets=1000, model.trigram_buckets=0, but the model has "
                                            r"model.bigram_buckets=1000, model.trigram_buckets=50"):
        output.rows(vocab_sha256, {2: BUCKETS, 3: 50}, 16)
    with pytest.raises(ContractError, match="learned beside token matrix sha256"):
        output.rows(vocab_sha256, {2: BUCKETS}, 16, token_matrix_sha256="0" * 64)
    inputs = TrainingInputs.read(planted("embedding=finetune", "embedding.ngrams=finetune"))
    assert set(inputs.ngram_rows) == {2} and np.allclose(np.linalg.norm(inputs.ngram_rows[2].vectors, axis=1), 0.05 * np.sqrt(16 / 3), rtol=1e-5)
