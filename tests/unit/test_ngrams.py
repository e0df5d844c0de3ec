"""Hashed trigram rows: the documented hash, spread over the table, padding masked; bigrams unchanged by the shared code."""

import numpy as np
import tensorflow as tf

from workflow.training.encoders import HashedBigrams, HashedTrigrams

PRIME = 2_147_483_647


def test_bigram_ids_follow_their_documented_hash():
    """Run keys record ``HashedBigrams.HASH``: the ids of finished bigram runs must not change."""
    tokens = np.array([[5, 49_999, 2, 3]], dtype=np.int64)
    buckets = 1_000_000
    expected = [(a * 2_654_435_761 + b * 1_000_003) % PRIME % buckets + 1 for a, b in zip(tokens[0, :-1], tokens[0, 1:])]
    assert HashedBigrams(buckets)(tf.constant(tokens, dtype=tf.int32)).numpy()[0].tolist() == expected


def test_trigram_ids_follow_their_hash_spread_and_mask_padding():
    rng = np.random.default_rng(0)
    triples = np.unique(rng.integers(2, 50_000, size=(200_000, 3)), axis=0)
    buckets = 1_000_000
    rows = HashedTrigrams(buckets)(tf.constant(triples, dtype=tf.int32)).numpy()[:, 0]
    a, b, c = (triples[:, i].astype(np.int64) for i in range(3))
    folded = (a * 2_654_435_761 + b * 1_000_003) % PRIME
    assert rows.tolist() == ((folded * 2_654_435_761 + c * 1_000_003) % PRIME % buckets + 1).tolist()
    expected = buckets * (1 - np.exp(-len(triples) / buckets))  # distinct rows of a uniform random assignment
    assert len(np.unique(rows)) > 0.99 * expected
    padded = HashedTrigrams(buckets)(tf.constant([[7, 9, 4, 0, 0]], dtype=tf.int32)).numpy()
    assert padded.shape == (1, 3) and padded[0, 0] >= 1 and padded[0, 1:].tolist() == [0, 0]
