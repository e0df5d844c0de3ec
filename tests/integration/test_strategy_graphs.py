"""The training step's graph under OneDevice, Mirrored and MultiWorkerMirrored strategies (a fresh process: two logical CPUs).

A distributed table is one variable per device; a step that reads one whole
(``ReadVariableOp`` of a ``[rows, dim]`` table or slot, then ``GatherV2``)
costs what the vocabulary holds, per replica per step. For every model, with
bigram and trigram rows, and both Embedding update rules, the traced step
(nothing trained) must gather the batch's rows (``ResourceGather``) and read
no table or slot whole (a table's shape is its own: no other weight has it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # worker processes, logical devices or trainings

SCRIPT = r'''
import collections, dataclasses
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tests.unit.test_steps import MODELS, SEED, TRAINER, VOCABULARY, DIM, classifier
from tests.unit.test_training_parts import reviews
from workflow.config import EmbeddingUpdate
from workflow.training import data
from workflow.training.strategy import mirrored_strategy
from workflow.training.trainer import Trainer

BIGRAMS, TRIGRAMS = 40, 60
TABLES = {(VOCABULARY, DIM), (BIGRAMS + 1, DIM), (TRIGRAMS + 1, DIM)}  # the token, bigram and trigram tables (and their slots)


def graphs(graph):
    """The step's graph and every graph inside it (while bodies, conditionals)."""
    yield graph
    for op in graph.get_operations():
        for branch in ("_body_graph", "_cond_graph", "_true_graph", "_false_graph"):
            if hasattr(op, branch):
                yield from graphs(getattr(op, branch))


def check(strategy_name, strategy, models):
    replicas = strategy.num_replicas_in_sync
    batches = data.training_batches(reviews(96), 8 * replicas, SEED, 0, 100, 3)
    for name in models:
        with strategy.scope():
            model = classifier(dataclasses.replace(MODELS[name], bigram_buckets=BIGRAMS, trigram_buckets=TRIGRAMS))
        for update in EmbeddingUpdate:
            trainer = Trainer(strategy, model, dataclasses.replace(TRAINER, embedding_update=update), 0.01)
            traced = trainer.train_steps.get_concrete_function(iter(batches), tf.constant(1))
            ops = [op for graph in graphs(traced.graph) for op in graph.get_operations()]
            counts = collections.Counter(op.type for op in ops)
            whole = [op.name for op in ops if op.type == "ReadVariableOp" and tuple(op.outputs[0].shape) in TABLES]
            case = (strategy_name, name, update.value)
            assert not whole, (case, "tables or slots read whole", whole)
            # Per replica and table: the lookup's gather, and the lazy rule's gathers of m and v; the dense rule's fused kernel.
            gathers = len(TABLES) * replicas * (3 if update is EmbeddingUpdate.lazy else 1)
            assert counts["ResourceGather"] == gathers, (case, counts["ResourceGather"], gathers)
            assert counts["ResourceApplyAdam"] == (0 if update is EmbeddingUpdate.lazy else len(TABLES) * replicas), case
            print("graph", *case, "ok")


# Every model under MirroredStrategy over the two devices (the encoders differ; the tables' layer and update do not),
# and the pooling model on one device and under MultiWorkerMirroredStrategy (one local worker).
mirrored = mirrored_strategy([device.name for device in tf.config.list_logical_devices("CPU")])
assert mirrored.num_replicas_in_sync == 2
check("mirrored", mirrored, list(MODELS))
check("one_device", tf.distribute.OneDeviceStrategy("/cpu:0"), ["pooling"])
check("multi_worker", tf.distribute.MultiWorkerMirroredStrategy(), ["pooling"])
'''


def test_every_strategy_model_and_update_rule_gathers_rows_and_never_reads_a_table_whole():
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.count(" ok") == (4 + 1 + 1) * 2, result.stdout
