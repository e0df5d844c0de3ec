"""Do paragraph vectors learned from the unlabelled reviews add to trained networks? A probe on validation only.

    python benchmarks/paragraph_vectors.py --workdir runs/imdb --runs runs/imdb/runs/<run>-seed1{0,1,2,3,4}

gensim's PV-DBOW (``Doc2Vec(dm=0)``) learns a vector for each document of the
training-side text the preprocessing stage wrote: the training reviews (the
validation reviews carved out) and the unlabelled ones. A document is its
tokens, then the adjacent pairs of them (``a_b``); a token outside the
vocabulary is ``<unk>``, as in the examples. The vectors of the training and
the validation reviews are then inferred alike: a vector learned with the
model is of another kind than an inferred one, and a classifier should be
scored on vectors of the kind it was trained on. The documents are shuffled
before training (below).

A logistic regression on the training reviews' vectors (L2 strength by 5-fold
cross-validation over whole films, as the validation split holds whole films)
gives each validation review a probability. Each run of ``--runs`` is scored
alone and averaged with it (equal weights, fixed in advance), paired by run
(one paragraph-vector model serves every run): the mean difference over the
runs and its 95% t-interval, which covers the runs' seeds, not the paragraph
vectors' (``--seed``). A run's own figure is at the epoch chosen on
validation, so both are a little optimistic. Test is never read.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import tempfile
import time
from typing import Iterable, Iterator

import numpy as np
import tensorflow as tf
from gensim.models.doc2vec import Doc2Vec
from scipy import optimize, special, stats

from workflow.preprocess.layout import UNSUP
from workflow.preprocess.output import PreprocessOutput
from workflow.report.combination import stored
from workflow.report.runs import find_runs
from workflow.training import data
from workflow.training.predictions import Predictions

L2_STRENGTHS = (0.1, 1.0, 10.0, 100.0, 1000.0)
FOLDS = 5


def with_pairs(tokens: list[str]) -> list[str]:
    """A document as PV-DBOW reads it: its tokens, then each adjacent pair as one word ``a_b``."""
    return tokens + [f"{first}_{second}" for first, second in zip(tokens, tokens[1:])]


def labelled(preprocess: PreprocessOutput, split: str, vocabulary: list[str]) -> tuple[list[str], np.ndarray, list[list[str]]]:
    """(doc ids, labels ``[reviews]``, documents) of one labelled split, in doc_id order, every token of each review."""
    def parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        example = tf.io.parse_single_example(record, data.FEATURES | data.DOC_ID)
        return example["doc_id"], tf.sparse.to_dense(example["tokens"]), example["label"]

    files = preprocess.example_files(split)
    reviews = sorted(tf.data.TFRecordDataset(files, compression_type="GZIP").map(parse).as_numpy_iterator(), key=lambda r: r[0])
    return ([doc_id.decode() for doc_id, _, _ in reviews], np.array([label for _, _, label in reviews], dtype=np.float64),
            [with_pairs([vocabulary[i] for i in tokens]) for _, tokens, _ in reviews])


def unlabelled(preprocess: PreprocessOutput, known: set[str]) -> Iterator[list[str]]:
    """The unlabelled reviews of the corpus, tokens outside the vocabulary as ``<unk>``."""
    for path in preprocess.corpus_files(UNSUP):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                yield with_pairs([token if token in known else "<unk>" for token in line.split()])


def trained_model(documents: Iterable[list[str]], dim: int, epochs: int, workers: int, seed: int) -> Doc2Vec:
    """PV-DBOW over ``documents``, shuffled with ``seed``."""
    lines = [" ".join(document) + "\n" for document in documents]
    # In a random order. In file order (the negative training reviews, then the positive ones, then the unlabelled)
    # the vectors also learn where a review sits, which gives its label away in cross-validation and not on
    # validation: on IMDB, 0.955 over films against 0.884 on validation; shuffled, 0.907 and 0.909.
    np.random.default_rng(seed).shuffle(lines)
    logging.info("PV-DBOW over %d documents", len(lines))
    with tempfile.TemporaryDirectory() as scratch:  # gensim's worker threads read a file themselves
        corpus_file = os.path.join(scratch, "documents.txt")
        with open(corpus_file, "w", encoding="utf-8") as out:
            out.writelines(lines)
        del lines
        return Doc2Vec(corpus_file=corpus_file, dm=0, vector_size=dim, negative=5, hs=0, sample=1e-4, min_count=2, epochs=epochs,
                       workers=workers, seed=seed)


def fit(features: np.ndarray, labels: np.ndarray, l2: float) -> np.ndarray:
    """Logistic regression weights ``[dim + 1]`` (the last: the bias, not penalised), by L-BFGS."""
    design = np.hstack([features, np.ones((len(features), 1))])

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        logits = design @ weights
        penalty = np.r_[weights[:-1], 0.0]
        value = np.sum(np.logaddexp(0.0, logits) - labels * logits) + 0.5 * l2 * penalty @ penalty
        return value, design.T @ (special.expit(logits) - labels) + l2 * penalty

    return optimize.minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x


def probability(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The positive label's probability ``[reviews]`` for ``features`` ``[reviews, dim]``."""
    return special.expit(features @ weights[:-1] + weights[-1])


def chosen_l2(features: np.ndarray, labels: np.ndarray, units: list[str], seed: int) -> tuple[float, dict[float, float]]:
    """The L2 strength with the best mean accuracy over ``FOLDS`` folds of whole units (films), the strongest of equals,
    and every strength's."""
    names = sorted(set(units))
    if len(names) < FOLDS:
        raise SystemExit(f"{len(names)} films in the training reviews: cross-validation needs {FOLDS}")
    fold_of_unit = dict(zip(names, np.random.default_rng(seed).permutation(len(names)) % FOLDS))
    folds = np.array([fold_of_unit[unit] for unit in units])
    accuracy = {}
    for l2 in L2_STRENGTHS:
        scores = []
        for fold in range(FOLDS):
            held = folds == fold
            weights = fit(features[~held], labels[~held], l2)
            scores.append(np.mean((probability(weights, features[held]) > 0.5) == labels[held]))
        accuracy[l2] = float(np.mean(scores))
    return max(accuracy, key=lambda l2: (accuracy[l2], l2)), accuracy


def averaged_accuracy(run: Predictions, probabilities: np.ndarray) -> float:
    """Accuracy of the mean of the run's probability and ``probabilities`` (the same reviews, in its order)."""
    return float(np.mean(((run.probabilities + probabilities) / 2 > 0.5) == (run.labels > 0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="the workdir whose preprocessing output the runs trained on")
    parser.add_argument("--runs", nargs="+", required=True, help="run folders (with validation predictions), or folders holding them")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gensim threads (> 1 is faster, not bit-reproducible)")
    parser.add_argument("--seed", type=int, default=0, help="PV-DBOW's, the document order's and the folds'")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)

    runs = find_runs(arguments.runs)
    if not runs:
        raise SystemExit(f"no finished run under {', '.join(arguments.runs)}")
    try:
        run_predictions = stored(runs, "validation")
    except ValueError as error:
        raise SystemExit(str(error)) from None
    preprocess = PreprocessOutput(arguments.workdir)
    vocabulary = [token for token, _ in preprocess.vocabulary()]
    train_ids, train_labels, train_documents = labelled(preprocess, "train", vocabulary)
    validation_ids, validation_labels, validation_documents = labelled(preprocess, "validation", vocabulary)
    if validation_ids != list(run_predictions[0].doc_ids):
        raise SystemExit(f"{runs[0].root} scored other validation reviews than {arguments.workdir}'s: runs of that workdir only")

    started = time.monotonic()
    model = trained_model(itertools.chain(train_documents, unlabelled(preprocess, set(vocabulary))), arguments.dim, arguments.epochs,
                          arguments.workers, arguments.seed)
    logging.info("trained in %.0f s; inferring %d + %d vectors", time.monotonic() - started, len(train_documents),
                 len(validation_documents))
    started = time.monotonic()
    train_vectors = np.stack([model.infer_vector(document) for document in train_documents])
    validation_vectors = np.stack([model.infer_vector(document) for document in validation_documents])
    logging.info("inferred in %.0f s", time.monotonic() - started)
    mean, scale = train_vectors.mean(axis=0), train_vectors.std(axis=0) + 1e-8
    train_vectors, validation_vectors = (train_vectors - mean) / scale, (validation_vectors - mean) / scale

    units = [film or doc_id for film, doc_id in zip(preprocess.films(train_ids), train_ids)]  # a review alone where no film is known
    l2, accuracy = chosen_l2(train_vectors, train_labels, units, arguments.seed)
    vectors_probability = probability(fit(train_vectors, train_labels, l2), validation_vectors)
    print(f"cross-validation over films: {', '.join(f'L2 {k:g}: {v:.4f}' for k, v in accuracy.items())}; chosen L2 {l2:g}")
    print(f"paragraph vectors alone, validation: {np.mean((vectors_probability > 0.5) == validation_labels):.4f}")
    differences = []
    for run, predictions in zip(runs, run_predictions):
        alone, averaged = float(predictions.correct.mean()), averaged_accuracy(predictions, vectors_probability)
        differences.append(100 * (averaged - alone))
        print(f"{run.name}: alone {alone:.4f}, averaged with the paragraph vectors {averaged:.4f} ({differences[-1]:+.2f} points)")
    if len(differences) > 1:
        mean_difference = float(np.mean(differences))
        half = stats.t.ppf(0.975, len(differences) - 1) * np.std(differences, ddof=1) / np.sqrt(len(differences))
        print(f"mean difference {mean_difference:+.2f} points, 95% t-interval over the runs "
              f"{mean_difference - half:+.2f} to {mean_difference + half:+.2f}")


if __name__ == "__main__":
    main()
