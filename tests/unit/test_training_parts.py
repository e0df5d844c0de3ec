"""Training building blocks: batching, resume order, masking, AUC."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from workflow.config import EmbeddingMode, Encoder, ModelConfig
from workflow.training import data
from workflow.training.evaluation import auc
from workflow.training.model import build_classifier


def reviews(count: int, seed: int = 0) -> tf.data.Dataset:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 40, size=count)
    # The first token is the review's number: every review is distinct.
    tokens = tf.ragged.constant([[100 + i, *rng.integers(2, 50, size=n)] for i, n in enumerate(lengths)], dtype=tf.int32)
    labels = tf.constant(rng.integers(0, 2, size=count), dtype=tf.float32)
    return tf.data.Dataset.from_tensor_slices((tokens, labels)).map(lambda t, y: (t, y))


def test_training_batches_are_full_padded_and_cover_distinct_examples():
    batches = list(data.training_batches(reviews(103), 8, seed=0, epoch=0, shuffle_buffer=200, pool_batches=4))
    assert len(batches) == 103 // 8
    assert all(tokens.shape[0] == 8 for tokens, _ in batches)
    for tokens, _ in batches:
        lengths = np.sum(tokens.numpy() != 0, axis=1)
        assert lengths.max() == tokens.shape[1], "padded to the longest review of the batch, no further"
    rows = {tuple(row[row != 0]) for tokens, _ in batches for row in tokens.numpy()}
    assert len(rows) == 12 * 8


def test_the_longest_review_is_trained_on_when_the_split_fits_in_one_pool():
    """The remainder of a pool is cut before sorting: a random few wait an epoch, never the longest every time."""
    trained_per_epoch = [
        {row[0] for tokens, _ in data.training_batches(reviews(30), 8, seed=0, epoch=epoch, shuffle_buffer=100, pool_batches=10) for row in tokens.numpy()}
        for epoch in range(4)
    ]
    lengths = [len(t) for t, _ in reviews(30).as_numpy_iterator()]
    longest = 100 + int(np.argmax(lengths))
    assert any(longest in trained for trained in trained_per_epoch)


def test_label_budgets_are_nested_subsets_chosen_by_the_id_hash(tmp_path):
    from workflow.preprocess.examples import encode_example

    ids = [f"train/pos/{number}_7" for number in range(200)]
    files = []
    for shard in range(2):  # the subset does not depend on how the reviews are sharded
        path = tmp_path / f"train-{shard}.tfrecord.gz"
        with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
            for number, doc_id in enumerate(ids[shard::2]):
                writer.write(encode_example(doc_id, number % 2, 7, bytes([2 + number % 50])))
        files.append(str(path))

    small, large = data.budget_threshold(files, 25), data.budget_threshold(files, 100)
    assert small[1] == 25 and large[1] == 100 and small[0] < large[0]
    hashes = tf.strings.to_hash_bucket_fast(ids, data.HASH_RANGE).numpy()
    chosen_small, chosen_large = set(np.flatnonzero(hashes <= small[0])), set(np.flatnonzero(hashes <= large[0]))
    assert len(chosen_small) == 25 and chosen_small < chosen_large
    assert sum(1 for _ in data.split_examples(files, 10, small[0])) == 25
    assert data.budget_threshold(list(reversed(files)), 25) == small
    assert data.budget_threshold(files, 500)[1] == 200


def test_an_epoch_over_a_small_subset_passes_over_it_several_times_each_reshuffled():
    assert data.passes_per_epoch(30, 100) == 4 and data.passes_per_epoch(3000, 100) == 1
    batches = [t.numpy() for t, _ in data.training_batches(reviews(30), 8, seed=0, epoch=0, shuffle_buffer=100, pool_batches=2, passes=4)]
    assert len(batches) == 30 * 4 // 8
    again = [t.numpy() for t, _ in data.training_batches(reviews(30), 8, seed=0, epoch=0, shuffle_buffer=100, pool_batches=2, passes=4)]
    assert all(np.array_equal(a, b) for a, b in zip(batches, again)), "the same epoch twice is the same sequence"
    counts = np.bincount([row[0] - 100 for tokens in batches for row in tokens], minlength=30)
    assert counts.max() <= 4 and counts.sum() == 120


def test_an_epoch_is_the_same_sequence_when_resumed_and_differs_between_epochs():
    def epoch(number: int, skip: int = 0) -> list[np.ndarray]:
        return [t.numpy() for t, _ in data.training_batches(reviews(64), 4, 7, number, 100, 2, skip_batches=skip)]

    full, resumed = epoch(3), epoch(3, skip=5)
    assert len(resumed) == len(full) - 5
    for a, b in zip(full[5:], resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(a.shape != b.shape or (a != b).any() for a, b in zip(full, epoch(4)))


def test_evaluation_batches_keep_every_example():
    labels = np.concatenate([y.numpy() for _, y, _ in data.evaluation_batches(reviews(37), 8, 2)])
    assert len(labels) == 37


@pytest.mark.parametrize("size", [1, 8, 13, 16, 37, 48])
def test_an_evaluation_pass_is_the_batches_one_evaluation_reads(size):
    """The evaluator reads ceil(size / batch) batches a call from one repeated iterator: a pass must be exactly that."""
    assert len(list(data.evaluation_batches(reviews(size), 8, 2, replicas=2))) == -(-size // 8)


@pytest.mark.parametrize("size", [1, 13, 37])
def test_the_last_evaluation_batch_is_filled_to_a_multiple_of_the_replicas_with_weight_0_rows(size):
    batches = [tuple(part.numpy() for part in batch) for batch in data.evaluation_batches(reviews(size), 8, 2, replicas=4)]
    assert all(len(tokens) % 4 == 0 and len(tokens) == len(labels) == len(weights) for tokens, labels, weights in batches)
    weights = np.concatenate([weights for _, _, weights in batches])
    assert weights.sum() == size and len(weights) == -(-size // 4) * 4  # full batches (8 rows) need no filler
    tokens, labels, weights = batches[-1]
    filler = tokens[weights == 0]
    assert (filler[:, 0] == data.UNKNOWN_ID).all() and (filler[:, 1:] == 0).all(), "one <unk> each: no zero-length row for cuDNN"
    assert (labels[weights == 0] == 0).all()
    real = {row[0] for tokens, _, weights in batches for row in tokens[weights > 0]}
    assert real == set(range(100, 100 + size)), "every review exactly once, none of them a filler"


def test_widths_are_rounded_up_to_the_multiple_and_the_same_rows_are_padded_further():
    plain = [t.numpy() for t, _ in data.training_batches(reviews(200), 8, 0, 0, 200, 5)]
    rounded = [t.numpy() for t, _ in data.training_batches(reviews(200), 8, 0, 0, 200, 5, width_multiple=16)]
    assert len(plain) == len(rounded) == 25
    for short, wide in zip(plain, rounded, strict=True):
        assert wide.shape[1] % 16 == 0 and wide.shape[1] - 16 < short.shape[1] <= wide.shape[1]
        np.testing.assert_array_equal(wide[:, : short.shape[1]], short)
        assert (wide[:, short.shape[1]:] == 0).all()
    widths = data.distinct_widths(data.training_batches(reviews(200), 8, 0, 0, 200, 5, width_multiple=16))
    assert widths == len({t.shape[1] for t in rounded}) <= 3  # reviews of 2-40 tokens: widths 16, 32, 48
    assert data.distinct_widths(data.training_batches(reviews(200), 8, 0, 0, 200, 5)) == len({t.shape[1] for t in plain}) > 3


@pytest.mark.parametrize("encoder", list(Encoder))
def test_padding_does_not_change_the_prediction(encoder):
    matrix = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    model = build_classifier(50, 8, EmbeddingMode.finetune, ModelConfig(encoder=encoder, windows=[2, 3], filters=4, lstm_units=4), 0, matrix)
    short = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], dtype=np.int32)
    padded = np.pad(short, ((0, 0), (0, 9)))
    np.testing.assert_allclose(model(short).numpy(), model(padded).numpy(), rtol=1e-5, atol=1e-6)


def test_a_cnn_with_bigram_rows_is_two_classifiers_whose_probabilities_are_averaged():
    """Wide and deep (experiment=imdb_wide): convolutions over the token vectors and a bag of token and bigram rows, each
    with its own sigmoid; in frozen mode the token table stays fixed and the bigram table trains. A bag that is already
    sure of a review still leaves the convolutions a gradient: the mean reaches 1 only when both are sure."""
    matrix = np.random.default_rng(2).normal(size=(50, 8)).astype(np.float32)
    config = ModelConfig(encoder=Encoder.cnn, windows=[2], filters=4, pooling=["max"], bigram_buckets=30)
    model = build_classifier(50, 8, EmbeddingMode.frozen, config, 0, matrix)
    assert not model.get_layer("embedding").trainable and model.get_layer("bigram_embedding").trainable
    review = np.array([[5, 6, 7, 0, 0]], dtype=np.int32)
    branches = tf.keras.Model(model.inputs[0], [model.get_layer("convolutions_probability").output, model.get_layer("bag_probability").output])
    deep, wide = (output.numpy() for output in branches(review))
    np.testing.assert_allclose(model(review).numpy(), (deep + wide) / 2, rtol=1e-6)
    np.testing.assert_allclose(model(review).numpy(), model(np.pad(review, ((0, 0), (0, 6)))).numpy(), rtol=1e-5, atol=1e-6)
    bag_output = model.get_layer("bag_probability")
    bag_output.bias.assign(np.full(bag_output.bias.shape, 30.0, dtype=np.float32))  # the bag: probability 1.0 for every review
    kernel = model.get_layer("convolutions").convolutions[0].kernel
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.keras.losses.binary_crossentropy(np.ones((1, 1), np.float32), model(review, training=True)))
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, kernel)))) > 1e-4


def test_embedding_lookup_is_one_hot_times_matrix():
    matrix = np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32)
    model = build_classifier(20, 4, EmbeddingMode.frozen, ModelConfig(), 0, matrix)
    ids = np.array([[3, 1, 19]], dtype=np.int32)
    looked_up = model.get_layer("embedding")(ids).numpy()
    np.testing.assert_allclose(looked_up, np.eye(20, dtype=np.float32)[ids] @ matrix, rtol=1e-6)


def test_mode_and_matrix_must_agree():
    with pytest.raises(ValueError, match="needs a pretrained matrix"):
        build_classifier(20, 4, EmbeddingMode.finetune, ModelConfig(), 0, None)
    with pytest.raises(ValueError, match="must not get"):
        build_classifier(20, 4, EmbeddingMode.random, ModelConfig(), 0, np.zeros((20, 4)))


def test_auc_counts_ties_half_and_needs_both_classes():
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert auc(np.array([1, 1]), np.array([0.2, 0.9])) is None


def test_global_batch_dropout_scales_what_it_keeps_and_is_the_identity_at_inference():
    from workflow.training.dropout import GlobalBatchDropout

    layer = GlobalBatchDropout(0.5, seed=3)
    inputs = np.ones((64, 200), dtype=np.float32)
    np.testing.assert_array_equal(layer(inputs, training=False).numpy(), inputs)
    first, second = layer(inputs, training=True).numpy(), layer(inputs, training=True).numpy()
    assert set(np.unique(first)) == {0.0, 2.0}, "kept units are scaled by 1 / (1 - rate)"
    assert abs((first == 0).mean() - 0.5) < 0.02  # 12,800 draws: 0.02 is > 4 standard deviations
    assert (first != second).any(), "each call draws a new mask"


def test_hashed_bigrams_spread_over_the_whole_table_and_mask_padding():
    """200,000 distinct random bigrams of a 50,000-token vocabulary in a 1,000,000-row table reach as many rows
    as a random assignment would (a hash like previous x 1,000,003 + current, mod 10^6, reaches only 3 x 50,000)."""
    from workflow.training.encoders import HashedBigrams

    rng = np.random.default_rng(0)
    pairs = np.unique(rng.integers(2, 50_000, size=(200_000, 2)), axis=0)
    buckets = 1_000_000
    rows = HashedBigrams(buckets)(tf.constant(pairs, dtype=tf.int32)).numpy()[:, 0]
    expected = buckets * (1 - np.exp(-len(pairs) / buckets))  # distinct rows of a uniform random assignment
    assert rows.min() >= 1 and rows.max() <= buckets
    assert len(np.unique(rows)) > 0.99 * expected
    padded = HashedBigrams(buckets)(tf.constant([[7, 9, 0, 0]], dtype=tf.int32)).numpy()
    assert padded[0, 0] >= 1 and padded[0, 1:].tolist() == [0, 0]


def test_each_reviews_document_row_follows_it_through_shuffles_sorts_trims_and_filler_rows():
    """With a document table, an element's features are {"tokens", "document"}: the row must stay with its review (the
    first token is the review's number, its row that number + 1000), and a filler row gets document row 0."""
    with_rows = reviews(37).map(lambda tokens, label: ({"tokens": tokens, "document": tokens[0] + 1000}, label))
    for features, _ in data.training_batches(with_rows, 8, seed=0, epoch=0, shuffle_buffer=200, pool_batches=4):
        np.testing.assert_array_equal(features["document"].numpy(), features["tokens"].numpy()[:, 0] + 1000)
    batches = list(data.evaluation_batches(with_rows, 8, 2, replicas=4))
    for features, _, weights in batches:
        real = weights.numpy() > 0
        np.testing.assert_array_equal(features["document"].numpy()[real], features["tokens"].numpy()[real, 0] + 1000)
        assert (features["document"].numpy()[~real] == 0).all()
    assert sum(int(w.numpy().sum()) for _, _, w in batches) == 37
    assert data.distinct_widths(data.evaluation_batches(with_rows, 8, 2)) == data.distinct_widths(data.evaluation_batches(reviews(37), 8, 2))
