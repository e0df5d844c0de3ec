"""The trainer's step: bit-for-bit the plain step on CPU, any steps_per_loop, and no scatter of duplicate indices."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config
from tensorflow.python.framework import op_def_registry

from tests.unit.test_training_parts import reviews
from workflow.config import EmbeddingMode, EmbeddingUpdate, Encoder, ModelConfig, TrainerConfig
from workflow.training import data
from workflow.training.model import build_classifier
from workflow.training.optimizer import EmbeddingAdam
from workflow.training.progress import STEPS
from workflow.training.trainer import Controller, Trainer

VOCABULARY, DIM, SEED = 200, 8, 3  # reviews() ids reach 100 + 96
MODELS = {
    "pooling": ModelConfig(encoder=Encoder.pooling, bigram_buckets=40, hidden_units=4),
    "cnn": ModelConfig(encoder=Encoder.cnn, windows=[2, 3], filters=4),
    "cnn3": ModelConfig(encoder=Encoder.cnn, windows=[3], filters=6),
    "bilstm": ModelConfig(encoder=Encoder.bilstm, lstm_units=3),
}
# 96 reviews, batch 8: 12 steps an epoch; log and checkpoint steps that fall inside calls of 8 steps.
TRAINER = TrainerConfig(run_name="steps", batch_size=8, epochs=2, min_epoch_examples=1, learning_rate=0.01, shuffle_buffer=100,
                        sort_pool_batches=3, log_every_steps=3, checkpoint_every_steps=5)


@pytest.fixture
def determinism():
    """Op determinism as the stage sets it, for this test only (it is process-wide)."""
    tf.config.experimental.enable_op_determinism()
    yield
    tf_config.disable_op_determinism()


def classifier(model: ModelConfig, mode: EmbeddingMode = EmbeddingMode.finetune) -> keras.Model:
    keras.utils.set_random_seed(SEED)
    matrix = np.random.default_rng(SEED).normal(0, 0.3, (VOCABULARY, DIM)).astype(np.float32)
    return build_classifier(VOCABULARY, DIM, mode, model, SEED, matrix)


def train(tmp_path: Path, model_config: ModelConfig, config: TrainerConfig,
          strategy: tf.distribute.Strategy | None = None) -> tuple[list[np.ndarray], Controller]:
    strategy = strategy or tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = classifier(model_config)
    trainer = Controller(Trainer(strategy, model, config, config.learning_rate), config, str(tmp_path / "checkpoints"), str(tmp_path / "tensorboard"))
    trainer.fit(reviews(96), 96, None, 0, SEED, on_best=lambda: None)
    trainer.close()
    return [weight.numpy() for weight in model.weights], trainer


def plain_training(model_config: ModelConfig, config: TrainerConfig, strategy: tf.distribute.Strategy | None = None) -> list[np.ndarray]:
    """The step as it was before steps_per_loop and deduplicated gradients: one ``strategy.run`` per call, the Embedding's
    gradient (one row per token occurrence) handed to the optimizer as the tape gives it."""
    strategy = strategy or tf.distribute.OneDeviceStrategy("/cpu:0")
    global_batch = config.batch_size * strategy.num_replicas_in_sync
    with strategy.scope():
        model = classifier(model_config)
        optimizer = EmbeddingAdam(config.learning_rate, lazy=config.embedding_update is EmbeddingUpdate.lazy)
        optimizer.build(model.trainable_variables)

    def replica_step(tokens, labels):
        with tf.GradientTape() as tape:
            per_example = keras.losses.binary_crossentropy(labels[:, None], model(tokens, training=True))
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    step = tf.function(lambda iterator: strategy.run(replica_step, args=next(iterator)))
    for epoch in range(config.epochs):
        batches = data.training_batches(reviews(96), global_batch, SEED, epoch, config.shuffle_buffer, config.sort_pool_batches)
        iterator = iter(strategy.experimental_distribute_dataset(batches))
        for _ in range(96 // global_batch):
            step(iterator)
    return [weight.numpy() for weight in model.weights]


def scalars(folder: Path) -> list[tuple[str, int, float]]:
    """Every (tag, step, value) TensorBoard holds under ``folder``, in file order."""
    found = []
    for events in sorted(folder.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            found += [(f"{events.parent.name}/{value.tag}", event.step, float(tf.make_ndarray(value.tensor))) for value in event.summary.value]
    return found


@pytest.mark.parametrize("encoder,update", [("pooling", EmbeddingUpdate.lazy), ("cnn", EmbeddingUpdate.dense)])
def test_any_steps_per_loop_trains_bit_for_bit_as_the_plain_step_and_logs_the_same_numbers(tmp_path, determinism, encoder, update,
                                                                                             caplog):
    config = dataclasses.replace(TRAINER, embedding_update=update)
    reference = plain_training(MODELS[encoder], config)
    caplog.set_level(logging.INFO)
    one, one_trainer = train(tmp_path / "one", MODELS[encoder], config)
    shown = [record.getMessage() for record in caplog.records if record.name.startswith("workflow.") and record.name != STEPS.name]
    assert [line.split(":")[0] for line in shown] == ["steps epoch 1/2", "steps epoch 2/2"], "one line per epoch at the terminal"
    assert not any(character in line for line in shown for character in "\x1b\r"), "no control characters (not a TTY)"
    steps_log = [record.getMessage() for record in caplog.records if record.name == STEPS.name]
    saved = [line.split(" saved ")[1] for line in steps_log if line.startswith("checkpoint ")]
    assert saved == ["(epoch 1, step 5)", "(epoch 1, step 10)", "(end of epoch 1)", "(epoch 2, step 3)", "(epoch 2, step 8)", "(end of epoch 2)"], \
        "every save goes to the steps logger (the log file), none to the terminal"
    eight, eight_trainer = train(tmp_path / "eight", MODELS[encoder], dataclasses.replace(config, steps_per_loop=8))
    for plain, single, looped in zip(reference, one, eight, strict=True):
        np.testing.assert_array_equal(single, plain)
        np.testing.assert_array_equal(looped, plain)
    assert one_trainer.state.history == eight_trainer.state.history and len(one_trainer.state.history) == 2
    logged = scalars(tmp_path / "one" / "tensorboard")
    assert logged == scalars(tmp_path / "eight" / "tensorboard")
    assert [step for tag, step, _ in logged if tag == "train/loss"] == [3, 6, 9, 12, 15, 18, 21, 24]
    assert sorted(int(path.name.split("-")[1].split(".")[0]) for path in (tmp_path / "eight" / "checkpoints").glob("ckpt-*.index")) == [20, 24]


def test_a_call_ends_at_log_steps_checkpoint_steps_and_the_epochs_end(tmp_path):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = classifier(MODELS["pooling"])
    config = dataclasses.replace(TRAINER, steps_per_loop=8)
    trainer = Controller(Trainer(strategy, model, config, 0.01), config, str(tmp_path), None)
    calls = []
    for _ in range(4):
        steps = trainer._steps_to_boundary(steps_per_epoch=12)
        calls.append(steps)
        trainer.state.step_in_epoch += steps
        trainer.state.global_step += steps
    assert calls == [3, 2, 1, 3], "to step 3 (log), 5 (checkpoint), 6 (log), 9 (log)"


def test_one_iterator_serves_every_epoch_of_training_and_every_validation(tmp_path, monkeypatch):
    """A fit builds one training and one validation pipeline and reads each with one iterator, not one an epoch;
    validation reads the same pass every epoch."""
    from workflow.training import data as data_module, trainer as trainer_module

    made = {"training": 0, "validation": 0}  # iterators made over the training loop's and validation's batches

    class Counted:
        """A dataset that counts the iterators made over it (``repeat()`` keeps counting)."""

        def __init__(self, kind, batches):
            self.kind, self.batches = kind, batches

        def repeat(self):
            return Counted(self.kind, self.batches.repeat())

        def __iter__(self):
            made[self.kind] += 1
            return iter(self.batches)

    def counting(kind, original):
        return lambda *args, **kwargs: Counted(kind, original(*args, **kwargs))

    monkeypatch.setattr(trainer_module.Controller, "_remaining_batches", counting("training", trainer_module.Controller._remaining_batches))
    monkeypatch.setattr(data_module, "evaluation_batches", counting("validation", data_module.evaluation_batches))
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = classifier(MODELS["pooling"])
    config = dataclasses.replace(TRAINER, epochs=3, learning_rate=0.0)  # weights fixed: every validation must agree
    controller = Controller(Trainer(strategy, model, config, 0.0), config, str(tmp_path), None)
    controller.fit(reviews(96), 96, reviews(13, seed=1), 13, SEED, on_best=lambda: None)
    assert made == {"training": 1, "validation": 1}
    assert controller.state.epoch == 3 and controller.state.global_step == 3 * 12
    losses = [record["val_loss"] for record in controller.state.history]
    assert len(losses) == 3 and losses[0] == losses[1] == losses[2], losses


def test_an_epoch_with_another_count_of_batches_fails_instead_of_shifting_the_next(tmp_path):
    """One iterator runs through every epoch, so an epoch's steps must be exactly its batches: 96 reviews said to be 104
    make 13 steps of a 12-batch epoch, which fails at the 13th (before, an iterator an epoch ran out the same way)."""
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = classifier(MODELS["pooling"])
    controller = Controller(Trainer(strategy, model, TRAINER, 0.01), TRAINER, str(tmp_path), None)
    with pytest.raises(tf.errors.FailedPreconditionError, match="expected to contain 13 elements but contained only 12"):
        controller.fit(reviews(96), 104, None, 0, SEED, on_best=lambda: None)
    assert controller.state.epoch == 0


SCATTERS = {"ResourceScatterUpdate", "ResourceScatterAdd", "ResourceScatterSub", "ScatterNd", "TensorScatterUpdate", "TensorScatterAdd",
            "ResourceScatterNdUpdate", "ResourceScatterNdAdd", "ScatterUpdate", "ScatterAdd", "ScatterSub"}
PASS_THROUGH = {"Identity", "Cast", "Reshape", "ExpandDims", "Squeeze"}


def scatter_index_sources(graph_def: tf.compat.v1.GraphDef) -> list[tuple[str, str]]:
    """For every scatter op in the graph and its functions (while bodies, calls): (its type, the op type its indices come from,
    through ops that only reshape or cast them)."""
    found = []
    for nodes in [list(graph_def.node)] + [list(function.node_def) for function in graph_def.library.function]:
        by_name = {node.name: node for node in nodes}
        for node in nodes:
            if "Scatter" not in node.op:
                continue
            assert node.op in SCATTERS, f"{node.op}: a scatter this test does not know; add it to SCATTERS"
            position = [arg.name for arg in op_def_registry.get(node.op).input_arg].index("indices")
            source = node.input[position].split(":")[0]
            while source in by_name and by_name[source].op in PASS_THROUGH:
                source = by_name[source].input[0].split(":")[0]
            found.append((node.op, by_name[source].op if source in by_name else f"argument {source}"))
    return found


@pytest.mark.parametrize("encoder", list(MODELS))
@pytest.mark.parametrize("update", list(EmbeddingUpdate))
def test_every_scatter_of_the_training_step_writes_unique_indices(tmp_path, encoder, update):
    """TF_DISABLE_SCATTER_OP_DETERMINISM=1 keeps GPU scatters on the device; that is deterministic only where every scatter's
    indices are unique, i.e. come straight from a Unique op."""
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = classifier(MODELS[encoder])
    trainer = Trainer(strategy, model, dataclasses.replace(TRAINER, embedding_update=update, steps_per_loop=4), 0.01)
    batches = data.training_batches(reviews(96), 8, SEED, 0, 100, 3)
    traced = trainer.train_steps.get_concrete_function(iter(batches), tf.constant(4))
    sources = scatter_index_sources(traced.graph.as_graph_def())
    assert all(source == "Unique" for _, source in sources), sources
    sparse_tables = 2 if encoder == "pooling" else 1  # the bigram table beside the token table
    # Lazy: m, v and the table, 3 scatters per table. Dense: none (Keras's Adam assigns whole variables).
    assert len(sources) == (3 * sparse_tables if update is EmbeddingUpdate.lazy else 0), sources


def test_steps_per_loop_stays_out_of_the_run_key_and_width_and_precision_are_in_it(make_config):
    from tests.conftest import typed
    from workflow.caching import section
    from workflow.errors import ConfigError

    keyed = section(typed(make_config("trainer.steps_per_loop=8", "trainer.width_multiple=32")).trainer)
    assert "steps_per_loop" not in keyed and keyed["width_multiple"] == 32 and keyed["precision"] == "float32"
    for bad, key in (("trainer.steps_per_loop=0", "trainer.steps_per_loop"), ("trainer.width_multiple=-1", "trainer.width_multiple")):
        with pytest.raises(ConfigError, match=key):
            typed(make_config(bad))
