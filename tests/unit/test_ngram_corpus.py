"""The n-gram-annotated corpus: every n-gram key names the row the classifier's hashed n-gram layers give it, in place."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf

from workflow.embeddings import ngram_corpus
from workflow.embeddings.ngram_corpus import AnnotatedCorpus, KeySpace, annotate, ngram_buckets
from workflow.preprocess.layout import UNK_ID
from workflow.training.encoders import HashedBigrams, HashedTrigrams

VOCABULARY = [("<pad>", 0), ("<unk>", 0)] + [(f"w{number}", 100 - number) for number in range(60)]
ROWS = {2: 37, 3: 23}  # small tables: many collisions, as on IMDB


def random_lines(count: int, seed: int = 0) -> list[bytes]:
    """Lines of 0 to 12 tokens, some outside the vocabulary (``oov...``)."""
    rng = np.random.default_rng(seed)
    words = [token for token, _ in VOCABULARY[2:]] + ["oov1", "oov2"]
    return [" ".join(rng.choice(words, size=rng.integers(0, 13))).encode() for _ in range(count)]


def keras_rows(layer: type, buckets: int, reviews: list[list[int]]) -> list[list[int]]:
    """The rows the model's layer (HashedBigrams, HashedTrigrams) gives each review's n-grams, the reviews padded into one batch."""
    batch = np.zeros((len(reviews), max(map(len, reviews))), dtype=np.int32)
    for number, ids in enumerate(reviews):
        batch[number, :len(ids)] = ids
    rows = layer(buckets)(tf.constant(batch)).numpy()
    return [rows[number, :max(len(ids) - layer.ORDER + 1, 0)].tolist() for number, ids in enumerate(reviews)]


@pytest.mark.parametrize("orders", [{2: ROWS[2]}, {3: ROWS[3]}, ROWS])
def test_each_line_interleaves_its_tokens_with_the_rows_the_model_hashes_its_ngrams_to(orders):
    """Parsed back, a line is its vocabulary ids (``<unk>`` outside the vocabulary) with each bigram between its two tokens and
    each trigram after its middle token, named by the row HashedBigrams / HashedTrigrams give it (numpy against Keras)."""
    lines = random_lines(200)
    token_ids = {token.encode(): number for number, (token, _) in enumerate(VOCABULARY)}
    keys = KeySpace(len(VOCABULARY), orders)
    written = io.BytesIO()
    corpus = AnnotatedCorpus(VOCABULARY, keys)
    corpus.write_text(b"\n".join(lines) + b"\n", written)
    annotated = written.getvalue().decode().splitlines()
    non_empty = [line for line in lines if line.split()]
    assert len(annotated) == len(non_empty), "one line per review with tokens"
    reviews = [[token_ids.get(token, UNK_ID) for token in source.split()] for source in non_empty]
    none = [[]] * len(reviews)
    bigrams = keras_rows(HashedBigrams, orders[2], reviews) if 2 in orders else none
    trigrams = keras_rows(HashedTrigrams, orders[3], reviews) if 3 in orders else none
    for ids, line, review_bigrams, review_trigrams in zip(reviews, annotated, bigrams, trigrams):
        expected = []
        for position, token_id in enumerate(ids):
            expected.append(str(token_id))
            if review_trigrams and 0 < position < len(ids) - 1:
                expected.append(f"c{review_trigrams[position - 1]}")
            if review_bigrams and position < len(ids) - 1:
                expected.append(f"b{review_bigrams[position]}")
        assert line.split() == expected
    assert corpus.items == sum(len(line.split()) for line in annotated)


def test_counts_are_per_key_and_n_grams_never_cross_a_line():
    keys = KeySpace(len(VOCABULARY), ROWS)
    token_ids = {token.encode(): number for number, (token, _) in enumerate(VOCABULARY)}
    text = b"w1 w2\nw3\n\n w1\tw2  w4"  # any ASCII whitespace between tokens; the last line without its newline
    indices, items_per_line = annotate(text, token_ids, keys)
    assert items_per_line.tolist() == [3, 1, 0, 6]  # t b t | t | | t b t c b t
    tokens = indices[indices < keys.vocabulary]
    assert tokens.tolist() == [3, 4, 5, 3, 4, 6]
    bigrams = indices[(indices >= keys.offset(2)) & (indices < keys.offset(3))] - keys.offset(2)
    assert len(bigrams) == 3 and bigrams[0] == bigrams[1], "w1 w2 twice, one row; nothing between w2 and w3 or w3 and w1"
    assert np.all((bigrams >= 1) & (bigrams <= ROWS[2]))
    corpus = AnnotatedCorpus(VOCABULARY, keys)
    corpus.write_text(text, io.BytesIO())
    assert corpus.counts.sum() == 10 and corpus.counts[keys.offset(2) + bigrams[0]] == 2 and corpus.counts[3] == 2


@pytest.mark.parametrize("layer", [HashedBigrams, HashedTrigrams])
def test_the_numpy_hash_is_the_layers_over_the_whole_id_range(layer):
    """Ids up to the 3 million the layer's int64 arithmetic holds, into a table of a million rows."""
    ids = np.random.default_rng(1).integers(2, 3_000_000, size=5_000)
    assert ngram_buckets(ids, layer.ORDER, 1_000_000).tolist() == keras_rows(layer, 1_000_000, [ids.tolist()])[0]


def test_files_are_annotated_whole_lines_at_a_time_whatever_the_block_size(tmp_path, monkeypatch):
    """A block ends at its last newline: a line across two blocks (or longer than a block) is one line, as in one pass."""
    lines = random_lines(50, seed=2)
    paths = []
    for number, part in enumerate((lines[:30], lines[30:])):
        paths.append(tmp_path / f"corpus-{number}.txt")
        paths[-1].write_bytes(b"\n".join(part) + (b"\n" if number == 0 else b""))  # the last file without a final newline
    keys = KeySpace(len(VOCABULARY), ROWS)
    whole = io.BytesIO()
    AnnotatedCorpus(VOCABULARY, keys).write_text(b"\n".join(lines) + b"\n", whole)
    monkeypatch.setattr(ngram_corpus, "BLOCK_BYTES", 7)
    blocked, seen = io.BytesIO(), []
    corpus = AnnotatedCorpus(VOCABULARY, keys)
    corpus.write([str(path) for path in paths], blocked, seen.append)
    assert blocked.getvalue() == whole.getvalue() and sum(seen) == sum(path.stat().st_size for path in paths)
