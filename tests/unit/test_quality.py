"""The analogy score is gensim's, question for question, computed a block of questions at a time."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from workflow.embeddings.quality import ANALOGIES, word_analogies


def capital_pairs() -> list[tuple[str, str]]:
    """(capital, country) of the analogy file's first section, lower-cased."""
    pairs: dict[tuple[str, str], None] = {}
    with open(datapath(ANALOGIES), encoding="utf-8") as handle:
        next(handle)  # ": capital-common-countries"
        for line in handle:
            if line.startswith(":"):
                break
            a, b, c, d = line.lower().split()
            pairs.update({(a, b): None, (c, d): None})
    return list(pairs)


def vectors_with_an_offset(noise: float) -> KeyedVectors:
    """Each country is its capital plus one offset plus noise: 3CosAdd answers some questions right, some wrong."""
    rng = np.random.default_rng(0)
    pairs = capital_pairs()
    offset = rng.normal(size=16)
    keys, rows = [], []
    for capital, country in pairs:
        start = rng.normal(size=16)
        keys += [capital, country]
        rows += [start, start + offset + noise * rng.normal(size=16)]
    # A case variant (a vocabulary that was not lower-cased): only the first, most frequent variant counts.
    keys.append(pairs[0][1].capitalize())
    rows.append(rng.normal(size=16))
    vectors = KeyedVectors(vector_size=16)
    vectors.add_vectors(keys, np.array(rows, dtype=np.float32))
    return vectors


@pytest.mark.parametrize("restrict_vocab", [300_000, 30])
def test_block_scores_give_gensims_accuracy_and_count(restrict_vocab):
    vectors = vectors_with_an_offset(noise=1.5)

    expected_accuracy, sections = vectors.evaluate_word_analogies(datapath(ANALOGIES), restrict_vocab=restrict_vocab)
    total = next(section for section in sections if section["section"] == "Total accuracy")
    accuracy, questions, scored = word_analogies(vectors, datapath(ANALOGIES), restrict_vocab)

    assert scored == len(total["correct"]) + len(total["incorrect"]) > 50
    assert 0.2 < expected_accuracy < 0.9  # right and wrong answers both occur, so both must match
    assert accuracy == pytest.approx(expected_accuracy, abs=1e-12)
    assert questions == 19_544  # every question of Google's set, scored or not
