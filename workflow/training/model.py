"""The classifier: ``Embedding(vocab, dim, mask_zero=True)`` -> encoder -> dropout -> sigmoid (wide and deep: two of them, averaged).

The Embedding layer is a lookup table: row i of its ``[vocab, dim]`` matrix is
the vector of token id i (the same as a one-hot row times the matrix); it is
Keras's ``Embedding`` with a lookup that reads only the batch's rows
(embedding_layer.py), so that fine-tuning costs what the batch touches. The
mode decides where the table starts and whether it trains:

* ``frozen``: the pretrained matrix, ``trainable=False``;
* ``finetune``: the pretrained matrix, trained with the rest of the model;
* ``random``: the layer's own initializer (uniform in [-0.05, 0.05]); no pretrained matrix is read.

With ``model.bigram_buckets`` (fastText's bigrams), a second table holds one
row per hashed pair of neighbouring tokens; its vectors join the token
vectors in a bag. ``model.trigram_buckets`` adds a third table, of hashed
runs of three tokens. ``embedding.ngrams`` decides how these tables start and
whether they train, as ``embedding.mode`` does for the token table: ``random``
(the random initializer, trained: every run before the setting), ``frozen`` or
``finetune`` (the n-gram stage's vectors, in the token rows' space, over the
rows that have one; the others keep the random start). The pooling encoder
pools the bag; the cnn encoder makes the network wide and deep: the
convolutions read the token vectors and end in a sigmoid of their own, the
bag's masked mean (mean only, as fastText) ends in another, and the output is the mean of the two
probabilities (``experiment=imdb_wide``).

With ``model.paragraph_vectors``, the network has a second input, each
review's row in a document table (documents.py): a frozen Embedding whose
rows are the reviews' paragraph vectors, as the token table's are word
vectors. The row ends in a sigmoid of its own (dropout, then one output unit:
a logistic regression on the vector), and the output is the mean of every
sigmoid's probability.
"""

from __future__ import annotations

from typing import Mapping

import keras
import numpy as np

from workflow.config import EmbeddingMode, Encoder, ModelConfig, Precision
from workflow.training.dropout import GlobalBatchDropout
from workflow.training.embedding_layer import RowGatherEmbedding
from workflow.training.encoders import HashedBigrams, HashedTrigrams, MaskedPooling, build_encoder
from workflow.training.precision import OUTPUT_DTYPE, dtype_policy

EMBEDDING_LAYER = "embedding"
BIGRAM_EMBEDDING_LAYER = "bigram_embedding"
TRIGRAM_EMBEDDING_LAYER = "trigram_embedding"
DOCUMENT_EMBEDDING_LAYER = "document_embedding"
NGRAM_EMBEDDING_LAYERS = {2: BIGRAM_EMBEDDING_LAYER, 3: TRIGRAM_EMBEDDING_LAYER}  # n-gram order -> its table


def build_classifier(
    vocabulary_size: int,
    dim: int,
    mode: EmbeddingMode,
    config: ModelConfig,
    seed: int,
    pretrained: np.ndarray | None = None,
    precision: Precision = Precision.float32,
    ngrams: EmbeddingMode = EmbeddingMode.random,
    ngram_rows: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
    documents: np.ndarray | None = None,
) -> keras.Model:
    """Token ids ``[batch, time]`` (0 = padding) -> probability of positive ``[batch, 1]`` (float32 under any ``precision``).

    ``ngram_rows``: with ``ngrams`` frozen or finetune, ``{order: (rows, vectors)}`` for each n-gram table (2: bigrams,
    3: trigrams): the table rows that start from a pretrained vector, int ``[n]``, and those vectors, ``[n, dim]``.
    ``documents``: the document table ``[reviews + 1, dim]`` (documents.py); the network then reads
    ``{"tokens": token ids, "document": rows [batch]}``.
    """
    if (pretrained is None) != (mode is EmbeddingMode.random):
        raise ValueError(f"embedding.mode={mode.value} {'needs' if pretrained is None else 'must not get'} a pretrained matrix")
    if (ngram_rows is None) != (ngrams is EmbeddingMode.random):
        raise ValueError(f"embedding.ngrams={ngrams.value} {'needs' if ngram_rows is None else 'must not get'} pretrained n-gram rows")
    with dtype_policy(precision):
        model, embedding = _layers(vocabulary_size, dim, mode, config, seed, ngrams, documents)
    if documents is not None:
        model.get_layer(DOCUMENT_EMBEDDING_LAYER).embeddings.assign(documents.astype(np.float32))
    if pretrained is not None:
        embedding.embeddings.assign(pretrained.astype(np.float32))
    for order, (rows, vectors) in (ngram_rows or {}).items():
        table = model.get_layer(NGRAM_EMBEDDING_LAYERS[order]).embeddings
        values = keras.ops.convert_to_numpy(table)
        values[rows] = vectors
        table.assign(values)
    return model


def _layers(vocabulary_size: int, dim: int, mode: EmbeddingMode, config: ModelConfig, seed: int,
            ngrams: EmbeddingMode, documents: np.ndarray | None) -> tuple[keras.Model, RowGatherEmbedding]:
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    embedding = RowGatherEmbedding(
        vocabulary_size,
        dim,
        mask_zero=True,
        trainable=mode is not EmbeddingMode.frozen,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
        name=EMBEDDING_LAYER,
    )
    vectors = embedding(tokens)
    bag = [vectors]
    for hashed, buckets, name, seed_offset in ((HashedBigrams, config.bigram_buckets, BIGRAM_EMBEDDING_LAYER, 3),
                                               (HashedTrigrams, config.trigram_buckets, TRIGRAM_EMBEDDING_LAYER, 4)):
        if buckets:
            table = RowGatherEmbedding(buckets + 1, dim, mask_zero=True, name=name, trainable=ngrams is not EmbeddingMode.frozen,
                                       embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed + seed_offset))
            bag.append(table(hashed(buckets)(tokens)))
    bag_vectors = keras.layers.Concatenate(axis=1, name="tokens_and_ngrams")(bag) if len(bag) > 1 else vectors
    if config.encoder is Encoder.pooling or len(bag) == 1:
        heads = [_probability(build_encoder(config, seed)(bag_vectors), config, seed, "sentiment" if documents is None else "tokens_probability",
                              prefix="")]
    else:
        # Two classifiers in one network, their probabilities averaged: each is pushed to fit every review on its own
        # (the mean reaches 1 only when both do), so the bag, which memorises within a few epochs, cannot starve the
        # convolutions of gradient as it does when their features share one output unit.
        convolutions_probability = _probability(build_encoder(config, seed)(vectors), config, seed, "convolutions_probability",
                                                prefix="convolutions_")
        bag_mean = MaskedPooling(["mean"], name="bag")(bag_vectors)
        heads = [convolutions_probability, _probability(bag_mean, config, seed + 10, "bag_probability", prefix="bag_")]
    inputs = tokens
    if documents is not None:
        document = keras.Input(shape=(), dtype="int32", name="document")
        table = RowGatherEmbedding(documents.shape[0], documents.shape[1], trainable=False, name=DOCUMENT_EMBEDDING_LAYER)
        heads.append(_probability(table(document), config, seed + 20, "paragraph_probability", prefix="paragraph_"))
        inputs = {"tokens": tokens, "document": document}
    probability = heads[0] if len(heads) == 1 else keras.layers.Average(name="sentiment", dtype=OUTPUT_DTYPE)(heads)
    return keras.Model(inputs, probability, name=f"{config.encoder.value}_classifier"), embedding


def _probability(encoded, config: ModelConfig, seed: int, name: str, prefix: str):
    """``[batch, features]`` -> dropout (then a ReLU layer and dropout, with ``model.hidden_units``) -> sigmoid ``[batch, 1]``
    in float32; ``prefix`` names its dropout and hidden layers (``""``: the one-classifier network's names)."""
    hidden = GlobalBatchDropout(config.dropout, seed=seed, name=f"{prefix}dropout")(encoded)
    if config.hidden_units:
        hidden = keras.layers.Dense(config.hidden_units, activation="relu", name=f"{prefix}hidden",
                                    kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(hidden)
        hidden = GlobalBatchDropout(config.dropout, seed=seed + 1, name=f"{prefix}hidden_dropout")(hidden)
    return keras.layers.Dense(1, activation="sigmoid", name=name, dtype=OUTPUT_DTYPE,
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2))(hidden)


def tokens_input(model: keras.Model) -> keras.KerasTensor:
    """The network's token-id input (one with a document table has a second one, ``document``)."""
    return next(tensor for tensor in model.inputs if tensor.name == "tokens")


def embedding_matrix(model: keras.Model) -> np.ndarray:
    """The current ``[vocab, dim]`` table of the model's Embedding layer."""
    return keras.ops.convert_to_numpy(model.get_layer(EMBEDDING_LAYER).embeddings)


def load_classifier(path: str) -> keras.Model:
    """An exported classifier (``export/model.keras``); this module registers its custom encoder layers."""
    return keras.saving.load_model(path)
