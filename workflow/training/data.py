"""tf.data input pipelines over the preprocessing stage's TFRecord splits.

Each element is ``(tokens, label)``: int32 ids ``[length <= max_len]`` and a
float32 0/1 label. Batches are ``([batch, longest in batch], [batch])``: they
are padded per batch with id 0 (``<pad>``, masked by the Embedding layer), and
made of reviews of similar length (shuffle, sort pools of
``sort_pool_batches`` batches by length, batch, shuffle the batches) so that
little compute goes to padding. With ``width_multiple`` the width is rounded
up to a multiple of it: an epoch then has at most ``max_len / width_multiple``
shapes instead of up to ``max_len`` (each a retrace for XLA, a cuDNN plan, an
allocator size). Every shuffle is seeded by (seed, epoch), so
epoch ``e`` has the same batches in the same order when a run resumes.

With a document table (``model.paragraph_vectors``, documents.py), an
element's first part is ``{"tokens": ids, "document": row}`` instead: the
review's row in the table (int32 scalar; ``[batch]`` in a batch), which
follows its review through every shuffle, sort and split.

Evaluation batches carry a third element, a float32 weight per row
``[batch]``: the last batch is padded to a multiple of the replicas with
weight-0 rows (one ``<unk>`` token each), so that no replica gets an empty
batch (cuDNN's LSTM fails on zero rows) and the metrics skip them.

A label budget keeps the ``n`` training reviews whose document ids hash
lowest (FarmHash Fingerprint64, stable across machines and versions): the
250 are inside the 1,000, whatever the shard layout. An epoch over a small
subset passes over it several times (each pass reshuffled), so that
validation and early stopping look at the model every
``min_epoch_examples`` examples rather than every few steps.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
FEATURES = {
    "tokens": tf.io.VarLenFeature(tf.int64),
    "label": tf.io.FixedLenFeature([], tf.int64),
}
DOC_ID = {"doc_id": tf.io.FixedLenFeature([], tf.string)}
Features = tf.Tensor | dict[str, tf.Tensor]  # token ids, or {"tokens": token ids, "document": rows in a document table}
HASH_RANGE = 2**62  # to_hash_bucket_fast: Fingerprint64 modulo this, as int64
UNKNOWN_ID = 1  # <unk>: the one token of an evaluation batch's filler rows


def _parse(serialized: tf.Tensor, max_len: int, documents: tf.lookup.StaticHashTable | None) -> tuple[Features, tf.Tensor]:
    example = tf.io.parse_single_example(serialized, FEATURES if documents is None else FEATURES | DOC_ID)
    tokens = tf.cast(tf.sparse.to_dense(example["tokens"])[:max_len], tf.int32)
    features = tokens if documents is None else {"tokens": tokens, "document": tf.cast(documents.lookup(example["doc_id"]), tf.int32)}
    return features, tf.cast(example["label"], tf.float32)


def tokens_of(features: Features) -> tf.Tensor:
    """The token ids of an element's (or a batch's) features."""
    return features["tokens"] if isinstance(features, dict) else features


def _with_tokens(features: Features, tokens: tf.Tensor) -> Features:
    return {**features, "tokens": tokens} if isinstance(features, dict) else tokens


def _records(files: list[str]) -> tf.data.Dataset:
    return tf.data.TFRecordDataset(files, compression_type="GZIP", num_parallel_reads=None)


def reviews(files: list[str], max_len: int | None = None) -> list[tuple[str, np.ndarray, int]]:
    """(doc id, token ids ``int32 [tokens]``, label) of every example in ``files``, in file order; the tokens cut at
    ``max_len`` when given, every one otherwise. For what reads whole splits by review: scoring, the report's insight,
    the paragraph vectors."""
    def parse(serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        example = tf.io.parse_single_example(serialized, FEATURES | DOC_ID)
        return example["doc_id"], tf.cast(tf.sparse.to_dense(example["tokens"])[:max_len], tf.int32), example["label"]

    return [(doc_id.decode(), tokens, int(label)) for doc_id, tokens, label in _records(files).map(parse).as_numpy_iterator()]


def doc_ids(files: list[str]) -> list[str]:
    """The doc id of every example in ``files``, in file order (without parsing their tokens)."""
    def parse(serialized: tf.Tensor) -> tf.Tensor:
        return tf.io.parse_single_example(serialized, DOC_ID)["doc_id"]

    return [doc_id.decode() for batch in _records(files).map(parse, num_parallel_calls=AUTOTUNE).batch(8192).as_numpy_iterator()
            for doc_id in batch]


def _id_hash(serialized: tf.Tensor) -> tf.Tensor:
    return tf.strings.to_hash_bucket_fast(tf.io.parse_single_example(serialized, DOC_ID)["doc_id"], HASH_RANGE)


def budget_threshold(files: list[str], budget: int) -> tuple[int, int]:
    """The largest id hash inside the budget, and how many reviews hash at or below it (``min(budget, all)``)."""
    hashes = np.concatenate([batch.numpy() for batch in _records(files).map(_id_hash, num_parallel_calls=AUTOTUNE).batch(8192)])
    hashes.sort()
    threshold = int(hashes[min(budget, len(hashes)) - 1])
    return threshold, int(np.searchsorted(hashes, threshold, side="right"))


def split_examples(files: list[str], max_len: int, hash_threshold: int | None = None,
                   documents: tf.lookup.StaticHashTable | None = None) -> tf.data.Dataset:
    """Parsed, truncated examples of one split's TFRecord files, in file order, cached in memory after the first pass.

    With ``hash_threshold`` (see :func:`budget_threshold`), only the reviews whose id hashes at or below it; with
    ``documents`` (doc id -> row, documents.py), each review's row in the document table beside its tokens.
    """
    records = _records(files)
    if hash_threshold is not None:
        records = records.filter(lambda serialized: _id_hash(serialized) <= hash_threshold)
    return records.map(functools.partial(_parse, max_len=max_len, documents=documents), num_parallel_calls=AUTOTUNE).cache()


def passes_per_epoch(train_size: int, min_epoch_examples: int) -> int:
    """Passes over the training examples that make one epoch of at least ``min_epoch_examples``."""
    return max(1, -(-min_epoch_examples // train_size))


def _sorted_pool(features: Features, labels: tf.Tensor) -> tuple[Features, tf.Tensor, tf.Tensor]:
    """A pool as (features with padded tokens, lengths, labels), shortest review first."""
    order = tf.argsort(tokens_of(features).row_lengths(), stable=True)
    features = tf.nest.map_structure(lambda part: tf.gather(part, order), features)
    tokens = tokens_of(features)
    return _with_tokens(features, tokens.to_tensor(default_value=0)), tf.cast(tokens.row_lengths(), tf.int32), tf.gather(labels, order)


def batch_width(longest: tf.Tensor, width_multiple: int) -> tf.Tensor:
    """The padded width of a batch whose longest review has ``longest`` tokens: itself, or rounded up to the multiple."""
    if width_multiple <= 1:
        return longest
    return (longest + width_multiple - 1) // width_multiple * width_multiple


def _trim(features: Features, lengths: tf.Tensor, labels: tf.Tensor, width_multiple: int) -> tuple[Features, tf.Tensor]:
    """Drop the columns that are padding for every review of the batch (padding up to the width multiple)."""
    longest = tf.reduce_max(lengths)
    width = batch_width(longest, width_multiple)
    return _with_tokens(features, tf.pad(tokens_of(features)[:, :longest], [[0, 0], [0, width - longest]])), labels


def _whole_batches(features: Features, labels: tf.Tensor, batch_size: int) -> tuple[Features, tf.Tensor]:
    """The pool's first ``n // batch_size * batch_size`` reviews, in arrival order.

    Trimming before the sort drops reviews the shuffle put last, not the
    longest ones: a remainder cut after sorting would leave the same longest
    reviews out of every epoch when the split fits in one pool.
    """
    keep = tf.shape(labels)[0] // batch_size * batch_size
    return tf.nest.map_structure(lambda part: part[:keep], features), labels[:keep]


def length_sorted_batches(examples: tf.data.Dataset, batch_size: int, pool_batches: int, drop_remainder: bool,
                          width_multiple: int = 0) -> tf.data.Dataset:
    """Padded batches of similar-length reviews.

    Pools hold a whole number of batches, so only the last pool's last batch
    can be short; with ``drop_remainder`` the last pool is cut to whole
    batches before it is sorted, giving ``len(examples) // batch_size`` full
    batches.
    """
    pools = examples.ragged_batch(batch_size * pool_batches)
    if drop_remainder:
        pools = pools.map(functools.partial(_whole_batches, batch_size=batch_size))
    pools = pools.map(_sorted_pool)
    batches = pools.flat_map(lambda *pool: tf.data.Dataset.from_tensor_slices(pool).batch(batch_size))
    return batches.map(functools.partial(_trim, width_multiple=width_multiple))


def epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch


def training_batches(
    examples: tf.data.Dataset,
    global_batch_size: int,
    seed: int,
    epoch: int,
    shuffle_buffer: int,
    pool_batches: int,
    skip_batches: int = 0,
    passes: int = 1,
    width_multiple: int = 0,
) -> tf.data.Dataset:
    """One epoch of shuffled training batches (full batches only) over ``passes`` passes, starting after ``skip_batches``."""
    shuffled = examples.shuffle(shuffle_buffer, seed=epoch_seed(seed, epoch), reshuffle_each_iteration=True).repeat(passes)
    batches = length_sorted_batches(shuffled, global_batch_size, pool_batches, drop_remainder=True, width_multiple=width_multiple)
    batches = batches.shuffle(pool_batches, seed=epoch_seed(seed, epoch) + 1, reshuffle_each_iteration=False)
    return _without_autotuning(batches.skip(skip_batches).prefetch(AUTOTUNE))


def evaluation_batches(examples: tf.data.Dataset, global_batch_size: int, pool_batches: int, replicas: int = 1,
                       width_multiple: int = 0) -> tf.data.Dataset:
    """Every example once, in padded batches of ``(features, labels, weights)``; the last one may be short, but
    holds a multiple of ``replicas`` rows (weight 0 for the added ones)."""
    batches = length_sorted_batches(examples, global_batch_size, pool_batches, drop_remainder=False, width_multiple=width_multiple)
    return _without_autotuning(batches.map(functools.partial(_fill_replicas, replicas=replicas)).prefetch(AUTOTUNE))


def _fill_replicas(features: Features, labels: tf.Tensor, replicas: int) -> tuple[Features, tf.Tensor, tf.Tensor]:
    """Pad a batch to a multiple of ``replicas`` rows (strategy.split_batch splits it evenly) with weight-0 rows of one
    ``<unk>`` (and document row 0, no review's)."""
    rows = tf.shape(labels)[0]
    missing = (replicas - rows % replicas) % replicas
    tokens = tokens_of(features)
    filler = tf.one_hot(tf.zeros([missing], tf.int32), tf.shape(tokens)[1], on_value=UNKNOWN_ID, off_value=0, dtype=tokens.dtype)
    filled = _with_tokens(features, tf.concat([tokens, filler], axis=0))
    if isinstance(features, dict):
        filled["document"] = tf.concat([features["document"], tf.zeros([missing], features["document"].dtype)], axis=0)
    weights = tf.concat([tf.ones([rows]), tf.zeros([missing])], axis=0)
    return filled, tf.concat([labels, tf.zeros([missing])], axis=0), weights


def distinct_widths(batches: tf.data.Dataset) -> int:
    """How many different widths the batches of ``batches`` have (one pass over the input pipeline)."""
    return len({int(width) for width in batches.map(lambda features, *_: tf.shape(tokens_of(features))[1]).as_numpy_iterator()})


def _without_autotuning(batches: tf.data.Dataset) -> tf.data.Dataset:
    """``batches`` with no autotuning thread.

    tf.data's autotuning runs a thread per iterator that sleeps for a period
    doubling up to a minute, and deleting the iterator waits for it to wake:
    when every epoch's training and validation iterator was deleted at its
    end, that wait was 1.2 to 3.9 s an epoch on the sample (44% of a frozen
    run) and 126 to 628 s of a run on IMDB. ``AUTOTUNE`` parallelism and prefetch
    sizes then take tf.data's static defaults (min(16, cores); a prefetch
    buffer that grows while the consumer waits): the same step rate on the
    sample (docs/results.md). With several replicas or workers, every
    process reads these batches with one plain iterator and each step keeps
    its replicas' shares (strategy.replica_batches): tf.distribute's own
    split would build per-device pipelines that autotune whatever these
    options say.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.with_options(options)
