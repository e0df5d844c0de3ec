"""Mixed precision: bfloat16 compute, float32 tables, moments and output; auto follows the hardware."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.unit.test_steps import MODELS, TRAINER, train
from workflow.config import EmbeddingMode, Precision
from workflow.training import precision
from workflow.training.model import build_classifier


def test_amx_bf16_is_read_from_the_cpu_flags(tmp_path):
    with_amx, without = tmp_path / "amx", tmp_path / "plain"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu sse avx512_bf16 amx_bf16 amx_tile\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx512_bf16 amx_tile\nbugs\t\t: amx_bf16_not_a_flag\n")
    assert precision.cpu_has_amx_bf16(str(with_amx)) and not precision.cpu_has_amx_bf16(str(without))
    assert not precision.cpu_has_amx_bf16(str(tmp_path / "missing"))


@pytest.mark.parametrize("amx", [True, False])
def test_auto_is_bfloat16_only_where_the_cpu_computes_it_natively(monkeypatch, amx):
    assert not tf.config.list_physical_devices("GPU"), "the GPU branch is checked by benchmarks/gpu_check.py"
    monkeypatch.setattr(precision, "cpu_has_amx_bf16", lambda: amx)
    assert precision.resolve(Precision.auto) is (Precision.mixed_bfloat16 if amx else Precision.float32)
    assert precision.resolve(Precision.float32) is Precision.float32 and precision.resolve(Precision.mixed_bfloat16) is Precision.mixed_bfloat16


@pytest.mark.parametrize("encoder", list(MODELS))
def test_bfloat16_computes_the_encoder_and_keeps_tables_and_output_float32(encoder):
    matrix = np.random.default_rng(0).normal(0, 0.3, (200, 8)).astype(np.float32)
    mixed = build_classifier(200, 8, EmbeddingMode.finetune, MODELS[encoder], 3, matrix, Precision.mixed_bfloat16)
    assert keras.config.dtype_policy().name == "float32", "the global policy is restored after the build"
    assert all(weight.dtype == "float32" for weight in mixed.weights), "every variable (tables included) stays float32"
    assert mixed.get_layer("embedding").compute_dtype == "bfloat16" and mixed.get_layer("sentiment").compute_dtype == "float32"
    plain = build_classifier(200, 8, EmbeddingMode.finetune, MODELS[encoder], 3, matrix)
    plain.set_weights(mixed.get_weights())
    tokens = np.random.default_rng(1).integers(1, 200, (16, 30)).astype(np.int32)
    low, high = mixed(tokens).numpy(), plain(tokens).numpy()
    assert low.dtype == np.float32
    np.testing.assert_allclose(low, high, atol=0.02)  # bfloat16 keeps 8 bits: ~0.4% per operation
    assert not np.array_equal(low, high), "the encoder really computed in bfloat16"


def test_a_bfloat16_run_trains_float32_moments(tmp_path, monkeypatch):
    matrix = np.random.default_rng(3).normal(0, 0.3, (200, 8)).astype(np.float32)
    monkeypatch.setattr("tests.unit.test_steps.classifier", lambda model_config: build_classifier(
        200, 8, EmbeddingMode.finetune, model_config, 3, matrix, Precision.mixed_bfloat16))
    _, trainer = train(tmp_path, MODELS["cnn"], dataclasses.replace(TRAINER, epochs=1))
    assert trainer.model.get_layer("convolutions").compute_dtype == "bfloat16"
    assert all(np.isfinite(record["loss"]) for record in trainer.state.history)
    assert all(variable.dtype == "float32" for variable in trainer.trainer.optimizer.variables if "iteration" not in variable.path)
    assert np.any(trainer.model.get_layer("embedding").embeddings.numpy() != matrix), "the table was fine-tuned"


def test_a_float16_run_scales_its_loss_and_trains(tmp_path, monkeypatch):
    matrix = np.random.default_rng(3).normal(0, 0.3, (200, 8)).astype(np.float32)
    monkeypatch.setattr("tests.unit.test_steps.classifier", lambda model_config: build_classifier(
        200, 8, EmbeddingMode.finetune, model_config, 3, matrix, Precision.mixed_float16))
    _, trainer = train(tmp_path, MODELS["cnn"], dataclasses.replace(TRAINER, epochs=1, precision=Precision.mixed_float16))
    assert trainer.model.get_layer("convolutions").compute_dtype == "float16"
    assert trainer.trainer.loss_scale is not None and 1.0 <= float(trainer.trainer.loss_scale.scale.numpy()) <= 2.0**15
    saved = {name for name, _ in tf.train.list_variables(tf.train.latest_checkpoint(str(tmp_path / "checkpoints")))}
    assert any(name.startswith("loss_scale/scale") for name in saved), "a resumed run restores the scale it had reached"
    assert all(np.isfinite(record["loss"]) for record in trainer.state.history)
    assert np.any(trainer.model.get_layer("embedding").embeddings.numpy() != matrix), "the table was fine-tuned"
