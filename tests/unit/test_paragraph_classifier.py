"""The paragraph vectors' regression: its loss and gradient, folds of whole films, the strongest of equal L2 strengths;
the documents PV-DBOW reads; its model, the one gensim's own constructor trains."""

from __future__ import annotations

import random

import numpy as np
import pytest
from gensim.models.doc2vec import Doc2Vec
from scipy import optimize, special

from workflow.config import ParagraphVectorsConfig
from workflow.errors import ContractError
from workflow.paragraphs import classifier, pv_dbow
from workflow.paragraphs.documents import with_ngrams


def separable(reviews: int = 400, dim: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(reviews, dim))
    labels = (features @ np.arange(1, dim + 1) + rng.normal(scale=2.0, size=reviews) > 0).astype(np.int64)
    return features, labels


def test_the_fit_is_the_penalised_maximum_likelihood_with_the_bias_free():
    features, labels = separable()
    l2 = 3.0
    weights = classifier.fit(features, labels, l2)
    design = np.hstack([features, np.ones((len(features), 1))])

    def penalised(w: np.ndarray) -> float:
        logits = design @ w
        return float(np.sum(np.logaddexp(0.0, logits) - labels * logits) + 0.5 * l2 * w[:-1] @ w[:-1])

    best = optimize.minimize(penalised, np.zeros(design.shape[1]), method="Nelder-Mead", options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-10})
    assert penalised(weights) <= best.fun + 1e-6
    gradient = design.T @ (special.expit(design @ weights) - labels) + l2 * np.r_[weights[:-1], 0.0]
    assert np.abs(gradient).max() < 1e-3, "a stationary point: the bias is not penalised"
    assert np.allclose(classifier.probability(weights, features), special.expit(design @ weights), rtol=1e-12)


def test_the_folds_keep_each_film_whole_and_cover_every_review(monkeypatch):
    features, labels = separable(reviews=300)
    units = [f"tt{i // 3}" for i in range(300)]  # 100 films of 3 reviews
    held_out = []
    original = classifier.probability

    def probability(weights, held):
        held_out.append(held)
        return original(weights, held)

    monkeypatch.setattr(classifier, "probability", probability)
    classifier.chosen_l2(features, labels, units, seed=0)
    folds = held_out[:classifier.FOLDS]  # the first strength's folds
    rows = [np.flatnonzero((features[:, None, :] == fold[None]).all(axis=2).any(axis=1)) for fold in folds]
    assert sorted(np.concatenate(rows).tolist()) == list(range(300))
    for fold in rows:
        films = {units[i] for i in fold}
        assert sum(units.count(film) for film in films) == len(fold), "a film's reviews all in one fold"


def test_the_strongest_of_equally_accurate_strengths_is_chosen(monkeypatch):
    features, labels = separable()
    monkeypatch.setattr(classifier, "probability", lambda weights, held: np.full(len(held), 0.9))  # every strength alike
    l2, accuracy = classifier.chosen_l2(features, labels, [str(i) for i in range(len(labels))], seed=0)
    assert l2 == max(classifier.L2_STRENGTHS) and len(set(accuracy.values())) == 1


def test_too_few_films_for_the_folds_is_a_clear_error():
    features, labels = separable(reviews=20)
    with pytest.raises(ContractError, match="4 films among the training reviews: .* needs 5"):
        classifier.chosen_l2(features, labels, [f"tt{i % 4}" for i in range(20)], seed=0)


def test_the_classifier_standardises_with_the_training_vectors_statistics():
    features, labels = separable()
    shifted = 10.0 + 3.0 * features
    found = classifier.trained(shifted, labels, [str(i) for i in range(len(labels))], seed=0)
    assert np.allclose(found.mean, shifted.mean(axis=0)) and np.allclose(found.scale, shifted.std(axis=0), rtol=1e-6)
    assert np.mean((found.probability(shifted) > 0.5) == labels) > 0.8
    assert found.l2 in classifier.L2_STRENGTHS and found.as_json()["l2"] == found.l2


def test_a_document_is_its_tokens_then_their_runs_of_adjacent_tokens_up_to_the_longest():
    assert with_ngrams(["a", "<unk>", "b"], 2) == ["a", "<unk>", "b", "a_<unk>", "<unk>_b"]
    assert with_ngrams(["a", "<unk>", "b", "c"], 3) == ["a", "<unk>", "b", "c", "a_<unk>", "<unk>_b", "b_c", "a_<unk>_b", "<unk>_b_c"]
    assert with_ngrams(["a", "b"], 1) == ["a", "b"] and with_ngrams(["a", "b"], 3) == ["a", "b", "a_b"]
    assert with_ngrams(["a"], 2) == ["a"] and with_ngrams([], 3) == []


def test_the_model_is_the_one_doc2vec_trains_from_the_shuffled_file(tmp_path):
    """One worker: the stage's PV-DBOW (its progress shown, its learning rate scheduled by documents) is bit for bit the
    model ``Doc2Vec(corpus_file=...)`` trains from the documents in the seed's order, and infers the same vectors."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(40)]
    documents = [[rng.choice(words) for _ in range(20)] for _ in range(200)]
    settings = ParagraphVectorsConfig(vector_size=8, epochs=3, workers=1, seed=3)
    model = pv_dbow.trained(documents, settings, str(tmp_path))
    lines = [" ".join(document) + "\n" for document in documents]
    np.random.default_rng(3).shuffle(lines)
    corpus = tmp_path / "documents.txt"
    corpus.write_text("".join(lines))
    reference = Doc2Vec(corpus_file=str(corpus), dm=0, vector_size=8, negative=5, hs=0, sample=1e-4, min_count=2, epochs=3, workers=1, seed=3)
    assert np.array_equal(model.dv.vectors, reference.dv.vectors)
    assert np.array_equal(pv_dbow.inferred(model, documents[:3]), np.stack([reference.infer_vector(d) for d in documents[:3]]))
    assert [path.name for path in tmp_path.iterdir()] == ["documents.txt"], "the stage's corpus file is removed"
