"""How good are the vectors: analogies, word similarity, nearest neighbours.

Uses the evaluation sets that ship with gensim (``gensim.test.utils.datapath``):
the Google analogies (``questions-words.txt``) and WordSim-353. Both were
written for general English, so on a review corpus many pairs are out of
vocabulary: the report says how many were scored.
"""

from __future__ import annotations

import logging

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


def _question_count(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip() and not line.startswith(":"))


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
    analogy_path = datapath(ANALOGIES)
    accuracy, sections = vectors.evaluate_word_analogies(analogy_path, restrict_vocab=restrict_vocab)
    total = next(s for s in sections if s["section"] == "Total accuracy")
    scored = len(total["correct"]) + len(total["incorrect"])
    questions = _question_count(analogy_path)
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
