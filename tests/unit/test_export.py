"""The serving export runs anywhere: a bilstm traced where Keras would pick cuDNN still exports TensorFlow's own kernels."""

from __future__ import annotations

import importlib

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.unit.test_steps import MODELS, classifier
from workflow.text import Tokenizer
from workflow.training.export import TextClassifier, export_text_model

KERAS_TENSORFLOW_RNN = importlib.import_module("keras.src.backend.tensorflow.rnn")  # where Keras 3 decides on cuDNN
VOCABULARY = ["<pad>", "<unk>", *(f"w{index}" for index in range(2, 200))]  # test_steps' classifier has 200 rows


def op_types(graph_def: tf.compat.v1.GraphDef) -> set[str]:
    """Every op type of a graph and of the functions in its library."""
    return {node.op for node in graph_def.node} | {node.op for function in graph_def.library.function for node in function.node_def}


def test_a_bilstm_traced_where_cudnn_is_picked_exports_no_cudnn_op_and_serves_an_empty_review(tmp_path, monkeypatch):
    model = classifier(MODELS["bilstm"])
    texts = tf.constant(["", "w5 w7 w9 w7", "w150 unknownword"])
    module = TextClassifier(model, VOCABULARY, Tokenizer(), max_len=50)
    expected = model(module.token_ids(texts), training=False)[:, 0].numpy()  # traced on this CPU: TensorFlow's kernels
    # What a GPU machine does: Keras asks whether a GPU is visible when it traces the LSTM.
    monkeypatch.setattr(KERAS_TENSORFLOW_RNN, "_is_gpu_available", lambda: True)
    as_keras_traces = tf.function(lambda ids: model(ids, training=False)).get_concrete_function(tf.TensorSpec([None, None], tf.int32))
    assert any(op.startswith("Cudnn") for op in op_types(as_keras_traces.graph.as_graph_def())), "the cuDNN branch was not taken"

    export_text_model(model, VOCABULARY, Tokenizer(), max_len=50, path=str(tmp_path))
    saved = saved_model_pb2.SavedModel.FromString((tmp_path / "saved_model.pb").read_bytes())
    exported = op_types(saved.meta_graphs[0].graph_def)
    assert "StaticRegexReplace" in exported or "RegexReplace" in exported, "the serving graph was read"
    assert not {op for op in exported if op.startswith("Cudnn")}, exported
    monkeypatch.undo()
    loaded = tf.saved_model.load(str(tmp_path))  # kept: its variables live as long as it does
    served = loaded.serve(texts)["probability"].numpy()
    assert np.all(np.isfinite(served))
    np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-6)
