"""The serving export of a trained run: a SavedModel that takes raw review strings (``<run>/export/serving/``).

The Beam job's tokenizer in TF ops, the vocabulary inside. ``serve(texts)``
with ``texts`` a ``[batch]`` string tensor returns
``{"probability": [batch] float32, "label": [batch] int32}``. The steps mirror
``workflow.text.Tokenizer`` (ASCII lowercase, ``<br />`` and line separators to spaces, tokens =
matches of the pattern) with RE2 string ops, then ids from a hash table built
from vocab.tsv (unknown tokens -> ``<unk>``), truncated to ``max_len`` and padded.
Loading it needs TensorFlow only: ``tf.saved_model.load(path).serve(...)``;
that is all ``wf-predict`` (workflow/serving/predict.py) does, so serving imports
nothing of training, and training nothing of serving.

The export serves on any machine: Keras's LSTM picks the cuDNN kernel when it
is traced on a machine with a GPU, and a SavedModel holding ``CudnnRNNV3``
cannot run on a CPU (the op has no CPU kernel), nor take a review without
tokens (cuDNN refuses a fully masked row). The serving function is traced
with the classifier's recurrent layers set to ``use_cudnn=False``: the same
weights, the same numbers, TensorFlow's own kernels.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import tensorflow as tf

from workflow.preprocess.layout import UNK_ID
from workflow.text import HTML_BREAK_PATTERN, LINE_SEPARATORS, Tokenizer, re2_pattern


def tf_tokens(texts: tf.Tensor, tokenizer: Tokenizer) -> tf.RaggedTensor:
    """``[batch]`` strings -> ``[batch, (tokens)]`` strings, the same tokens as ``tokenizer``."""
    if tokenizer.lowercase:
        texts = tf.strings.lower(texts)  # ASCII only, like Tokenizer.normalize
    if tokenizer.strip_html:
        texts = tf.strings.regex_replace(texts, "(?i)" + re2_pattern(HTML_BREAK_PATTERN), " ")
    texts = tf.strings.regex_replace(texts, f"[{LINE_SEPARATORS}]", " ")  # as Tokenizer.normalize: no token holds a line break
    # Keep each match of the pattern followed by a space; drop every other character.
    spaced = tf.strings.regex_replace(texts, f"({re2_pattern(tokenizer.pattern)})|(?s:.)", r"\1 ")
    return tf.strings.split(spaced)  # on whitespace runs; no empty tokens


class TextClassifier(tf.Module):
    """Raw strings in, probability out: tokenizer + vocabulary table + the trained Keras classifier."""

    def __init__(self, model: keras.Model, vocabulary: list[str], tokenizer: Tokenizer, max_len: int):
        super().__init__(name="text_classifier")
        self.model = model
        self.tokenizer, self.max_len = tokenizer, max_len
        initializer = tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocabulary), tf.range(len(vocabulary), dtype=tf.int64), key_dtype=tf.string, value_dtype=tf.int64
        )
        self.table = tf.lookup.StaticHashTable(initializer, default_value=UNK_ID)

    def token_ids(self, texts: tf.Tensor) -> tf.Tensor:
        """``[batch]`` strings -> ``[batch, longest (<= max_len)]`` int32 ids, 0-padded."""
        tokens = tf_tokens(texts, self.tokenizer)[:, : self.max_len]
        ids = tf.ragged.map_flat_values(self.table.lookup, tokens)
        return tf.cast(ids.to_tensor(default_value=0), tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        ids = self.token_ids(texts)
        # A batch of empty reviews still needs one (masked) column for the encoders.
        ids = tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])
        probability = self.model(ids, training=False)[:, 0]
        return {"probability": probability, "label": tf.cast(probability > 0.5, tf.int32)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return tf_tokens(texts, self.tokenizer)


@contextlib.contextmanager
def cudnn_off(model: keras.Model) -> Iterator[None]:
    """Inside the block, ``model``'s recurrent layers trace TensorFlow's kernels, never cuDNN's (``use_cudnn`` is read when
    a layer is traced, and is not part of its config: a saved model's copy would not keep it)."""
    recurrent = [layer for layer in model._flatten_layers() if hasattr(layer, "use_cudnn")]  # noqa: SLF001 - every sublayer
    chosen = [layer.use_cudnn for layer in recurrent]
    for layer in recurrent:
        layer.use_cudnn = False
    try:
        yield
    finally:
        for layer, choice in zip(recurrent, chosen):
            layer.use_cudnn = choice


def export_text_model(model: keras.Model, vocabulary: list[str], tokenizer: Tokenizer, max_len: int, path: str) -> None:
    module = TextClassifier(model, vocabulary, tokenizer, max_len)
    with cudnn_off(model):  # the signature is traced while saving
        tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
