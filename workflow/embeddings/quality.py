"""How good are the vectors: analogies, word similarity, nearest neighbours.

Uses the evaluation sets that ship with gensim (``gensim.test.utils.datapath``):
the Google analogies (``questions-words.txt``) and WordSim-353. Both were
written for general English, so on a review corpus many pairs are out of
vocabulary: the report says how many were scored.
"""

from __future__ import annotations

import logging

import numpy as np
from gensim.models.keyedvectors import KeyedVectors
from gensim.test.utils import datapath

log = logging.getLogger(__name__)
ANALOGIES = "questions-words.txt"
WORD_PAIRS = "wordsim353.tsv"
# At 4 M tokens word2vec's vectors reach about half the word-similarity and analogy scores of the full
# IMDB corpus (17 M tokens); below, they are much weaker (benchmarks/word2vec_corpus_size.py, docs/results.md).
SMALL_CORPUS_TOKENS = 4_000_000


def small_corpus_notice(corpus_tokens: int) -> str | None:
    """What to tell a user whose word2vec corpus is too small for useful vectors, and the way out; None otherwise."""
    if corpus_tokens >= SMALL_CORPUS_TOKENS:
        return None
    return (f"word2vec learned from {corpus_tokens / 1e6:.1f} M tokens, fewer than the {SMALL_CORPUS_TOKENS / 1e6:.0f} M "
            "at which, on IMDB, its vectors reach about half the WordSim-353 and analogy scores of 17 M tokens "
            "(docs/results.md): the comparison of modes says little about what good pretrained vectors would buy. "
            "Vectors trained on a large corpus help more: "
            "embedding.vectors=/path/to/vectors.txt embedding.vectors_format=word2vec_text (or word2vec_binary, glove).")


ANALOGY_BLOCK = 1024  # questions scored per matrix product: [block, restrict_vocab] float32 at a time


def _analogy_questions(path: str) -> tuple[int, list[tuple[str, str, str, str]]]:
    """(the questions in the file, each question ``(a, b, c, expected)`` upper-cased), as gensim reads them."""
    questions = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            words = line.split()
            if line.startswith(": ") or len(words) != 4:
                continue
            questions.append(tuple(word.upper() for word in words))
    return len(questions), questions


def word_analogies(vectors: KeyedVectors, path: str, restrict_vocab: int) -> tuple[float, int, int]:
    """(accuracy, questions, scored) of 3CosAdd analogies: gensim's ``evaluate_word_analogies``, question for question
    (case-insensitive, the most frequent of a word's case variants, the best of the top 5 that is not a question
    word), with the scores of a block of questions in one matrix product instead of one ``most_similar`` each: on
    the bundled sample's 6,353 scored questions that is well under a second instead of several.
    """
    keys = vectors.index_to_key[:restrict_vocab]
    vocabulary = {key.upper(): index for index, key in reversed(list(enumerate(keys)))}
    count, questions = _analogy_questions(path)
    scored = [question for question in questions if all(word in vocabulary for word in question)]
    if not scored:
        return 0.0, count, 0
    unit = vectors.get_normed_vectors()[:len(keys)]
    indices = np.array([[vocabulary[word] for word in question[:3]] for question in scored])
    correct = 0
    for start in range(0, len(scored), ANALOGY_BLOCK):
        block = indices[start:start + ANALOGY_BLOCK]
        mean = (unit[block[:, 1]] + unit[block[:, 2]] - unit[block[:, 0]]) / 3
        mean /= np.linalg.norm(mean, axis=1, keepdims=True)
        scores = mean @ unit.T
        np.put_along_axis(scores, block, -np.inf, axis=1)  # gensim's most_similar leaves out the question's words
        top = np.argpartition(-scores, 5, axis=1)[:, :5] if scores.shape[1] > 5 else np.argsort(-scores, axis=1)
        for offset, candidates in enumerate(top):
            question = scored[start + offset]
            predicted = None
            for candidate in candidates[np.argsort(-scores[offset, candidates], kind="stable")]:
                predicted = keys[candidate].upper()
                if predicted not in question[:3]:
                    break
            correct += predicted == question[3]
    return correct / len(scored), count, len(scored)


def _word_pairs(vectors: KeyedVectors, restrict_vocab: int) -> dict:
    """WordSim-353 correlations; None when no pair is in the vocabulary (gensim raises then)."""
    try:
        pearson, spearman, oov_percent = vectors.evaluate_word_pairs(datapath(WORD_PAIRS), restrict_vocab=restrict_vocab)
    except ValueError:
        return {"spearman": None, "pearson": None, "out_of_vocabulary_percent": 100.0}
    return {
        "spearman": round(float(spearman.statistic), 4),
        "pearson": round(float(pearson.statistic), 4),
        "out_of_vocabulary_percent": round(float(oov_percent), 2),
    }


def evaluate(vectors: KeyedVectors, probes: list[str], topn: int, restrict_vocab: int) -> dict:
    """quality.json's content; logs a readable summary."""
    accuracy, questions, scored = word_analogies(vectors, datapath(ANALOGIES), restrict_vocab)
    report_pairs = _word_pairs(vectors, restrict_vocab)
    neighbours = {
        word: [[other, round(float(score), 4)] for other, score in vectors.most_similar(word, topn=topn)] if word in vectors.key_to_index else None
        for word in probes
    }
    report = {
        "analogies": {
            "file": ANALOGIES,
            "accuracy": round(float(accuracy), 4),
            "questions": questions,
            "scored": scored,
            "out_of_vocabulary": questions - scored,
            "restrict_vocab": restrict_vocab,
        },
        "wordsim353": report_pairs,
        "neighbours": neighbours,
    }
    log.info(
        "analogies: %.1f%% of %d scored (%d of %d out of vocabulary); WordSim-353 Spearman %s (%.1f%% pairs OOV)",
        100 * report["analogies"]["accuracy"], scored, questions - scored, questions,
        report_pairs["spearman"], report_pairs["out_of_vocabulary_percent"],
    )
    for word, similar in neighbours.items():
        log.info("  %-10s %s", word, ", ".join(other for other, _ in similar) if similar else "(not in vocabulary)")
    return report
