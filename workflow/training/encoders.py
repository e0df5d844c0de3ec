"""Encoders: a masked sequence of token vectors ``[batch, time, dim]`` -> one vector per review.

Each takes the Embedding layer's mask (``mask_zero=True``: id 0 is padding)
and ignores padded positions, so a review gets the same encoding however much
its batch was padded.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from workflow.config import Encoder, ModelConfig


def _float_mask(inputs, mask):
    """``[batch, time, 1]`` 1.0 at real tokens, 0.0 at padding."""
    if mask is None:
        return ops.ones_like(inputs[..., :1])
    return ops.expand_dims(ops.cast(mask, inputs.dtype), -1)


def masked_max(inputs, weights):
    """Max over real positions; 0 for a review with none."""
    lowest = ops.min(inputs) - 1.0
    maxima = ops.max(ops.where(weights > 0, inputs, lowest), axis=1)
    return ops.where(ops.sum(weights, axis=1) > 0, maxima, ops.zeros_like(maxima))


def masked_pool(inputs, weights, statistics: Sequence[str]):
    """Concatenation of the masked ``mean`` and/or ``max`` over time: ``[batch, time, d] -> [batch, d x len(statistics)]``.

    In float32 under any policy: a bfloat16 sum of hundreds of positions loses most of its digits (integers above 256 are not
    exact), and pooling costs little next to what feeds it.
    """
    inputs, weights = ops.cast(inputs, "float32"), ops.cast(weights, "float32")
    pooled = []
    for statistic in statistics:
        if statistic == "mean":
            pooled.append(ops.sum(inputs * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0))
        else:
            pooled.append(masked_max(inputs, weights))
    return ops.concatenate(pooled, axis=-1)


@keras.saving.register_keras_serializable(package="workflow")
class MaskedPooling(keras.layers.Layer):
    """fastText-style bag of vectors: masked mean and/or max over time, concatenated."""

    def __init__(self, statistics: Sequence[str] = ("mean", "max"), **kwargs):
        super().__init__(**kwargs)
        self.statistics = list(statistics)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return masked_pool(inputs, _float_mask(inputs, mask), self.statistics)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "statistics": self.statistics}


@keras.saving.register_keras_serializable(package="workflow")
class WindowConvolutions(keras.layers.Layer):
    """Kim (2014): one ReLU convolution per window size, each pooled (max, as Kim; or mean) over real positions."""

    def __init__(self, windows: Sequence[int] = (3, 4, 5), filters: int = 100, statistics: Sequence[str] = ("max",),
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.windows, self.filters, self.statistics, self.seed = list(windows), filters, list(statistics), seed
        self.convolutions = [
            keras.layers.Conv1D(filters, window, padding="same", activation="relu",
                                kernel_initializer=keras.initializers.GlorotUniform(seed=None if seed is None else seed + window),
                                name=f"conv{window}")
            for window in self.windows
        ]
        self.supports_masking = True

    def build(self, input_shape):
        for convolution in self.convolutions:
            convolution.build(input_shape)

    def call(self, inputs, mask=None):
        weights = _float_mask(inputs, mask)
        inputs = inputs * weights  # padding contributes nothing to the windows that overlap it
        return ops.concatenate([masked_pool(convolution(inputs), weights, self.statistics) for convolution in self.convolutions], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "windows": self.windows, "filters": self.filters, "statistics": self.statistics, "seed": self.seed}


class HashedNgrams(keras.layers.Layer):
    """fastText's n-gram features: token ids ``[batch, time]`` -> n-gram ids ``[batch, time - ORDER + 1]`` in ``[1, buckets]``.

    Each run of ``ORDER`` neighbouring ids is hashed (a fixed integer hash, the
    same in training and serving) into one of ``buckets`` rows of a table of its
    own; an n-gram that touches padding gets 0, which that table masks. The
    hash folds the ids in one at a time, linear in each modulo the prime
    2^31 - 1, then takes the result modulo the table: n-grams spread over
    every row as random ones would (int64 holds it for ids below ~3 million).
    ``HASH`` names it in the training run's cache key.
    """

    ORDER = 0

    def __init__(self, buckets: int, **kwargs):
        super().__init__(**kwargs)
        self.buckets = buckets

    def call(self, tokens):
        tokens = ops.cast(tokens, "int64")
        width = ops.shape(tokens)[1] - self.ORDER + 1
        hashed, real = tokens[:, :width], tokens[:, :width] > 0
        for offset in range(1, self.ORDER):
            following = tokens[:, offset:offset + width]
            hashed = (hashed * 2_654_435_761 + following * 1_000_003) % 2_147_483_647
            real = real & (following > 0)
        return ops.cast(ops.where(real, hashed % self.buckets + 1, 0), "int32")

    def get_config(self):
        return {**super().get_config(), "buckets": self.buckets}


@keras.saving.register_keras_serializable(package="workflow")
class HashedBigrams(HashedNgrams):
    ORDER = 2
    HASH = "(previous * 2654435761 + current * 1000003) mod (2^31 - 1) mod buckets + 1"


@keras.saving.register_keras_serializable(package="workflow")
class HashedTrigrams(HashedNgrams):
    ORDER = 3
    HASH = "h = (first * 2654435761 + second * 1000003) mod (2^31 - 1); (h * 2654435761 + third * 1000003) mod (2^31 - 1) mod buckets + 1"


def build_encoder(config: ModelConfig, seed: int) -> keras.layers.Layer:
    if config.encoder is Encoder.pooling:
        return MaskedPooling(config.pooling, name="pooling")
    if config.encoder is Encoder.cnn:
        return WindowConvolutions(config.windows, config.filters, config.pooling, seed=seed, name="convolutions")
    return keras.layers.Bidirectional(
        keras.layers.LSTM(config.lstm_units, seed=seed, kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
        name="bilstm",
    )
