"""MirroredStrategy over two logical CPUs (a fresh process: TensorFlow fixes its devices when it starts).

Each replica reads its share of the global batches as
experimental_distribute_dataset would give it, cut on the host from one pipeline;
deduplicated sparse gradients train the weights the raw ones did (and one
device with the same global batch did), the replicas' rows arrive summed to
one per token, and evaluation with fewer rows than replicas (or an odd last
batch) gives every replica rows and every metric exactly, for every model, call
after call.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # worker processes, logical devices or trainings

SCRIPT = r'''
import sys, tempfile
from pathlib import Path
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import dataclasses
import keras
import numpy as np
from tests.unit.test_steps import MODELS, TRAINER, classifier, plain_training, train
from tests.unit.test_training_parts import reviews
from workflow.config import EmbeddingUpdate
from workflow.training import data
from workflow.training.evaluation import auc
from workflow.training.strategy import mirrored_strategy
from workflow.training.evaluation import Evaluator

strategy = mirrored_strategy([device.name for device in tf.config.list_logical_devices("CPU")])
assert strategy.num_replicas_in_sync == 2
config = dataclasses.replace(TRAINER, batch_size=4, epochs=1)
scratch = Path(tempfile.mkdtemp())

# 0. Each replica's share of every batch is the one experimental_distribute_dataset gives it, read without a
# MultiDeviceIterator (its per-device pipelines autotune, and deleting it waits for them).
from tensorflow.python.data.ops import multi_device_iterator_ops
from workflow.training.strategy import replica_batches

made = []
make_iterator = multi_device_iterator_ops.OwnedMultiDeviceIterator.__init__
multi_device_iterator_ops.OwnedMultiDeviceIterator.__init__ = lambda self, *args, **kwargs: made.append(1) or make_iterator(self, *args, **kwargs)

def shares(elements):
    return [part.numpy() for element in elements for value in element for part in strategy.experimental_local_results(value)]

read_in_a_step = tf.function(lambda iterator: replica_batches(strategy, iterator))
for make_batches in (lambda: data.training_batches(reviews(96), 8, 7, 0, 100, 3), lambda: data.evaluation_batches(reviews(13), 8, 2, replicas=2)):
    expected = shares(strategy.experimental_distribute_dataset(make_batches()))
    assert made, "experimental_distribute_dataset reads through a MultiDeviceIterator (what this part checks is avoided)"
    made.clear()
    count = len(list(make_batches()))
    for read in (lambda iterator: replica_batches(strategy, iterator), read_in_a_step):
        iterator = iter(make_batches())
        got = shares(read(iterator) for _ in range(count))
        assert len(got) == len(expected) and all(a.shape == b.shape and (a == b).all() for a, b in zip(got, expected))
    assert not made, "the workflow's input under MirroredStrategy makes no MultiDeviceIterator"
multi_device_iterator_ops.OwnedMultiDeviceIterator.__init__ = make_iterator
print("shares ok")

# 1. Each replica sums its gradient rows per token before the gather: the same weights within float tolerance, and the
# weights of one device with the same global batch (whose tables are plain variables: the path before replica copies).
for update in EmbeddingUpdate:
    trained, _ = train(scratch / update.value, MODELS["pooling"], dataclasses.replace(config, embedding_update=update), strategy)
    reference = plain_training(MODELS["pooling"], dataclasses.replace(config, embedding_update=update), strategy)
    one_device, _ = train(scratch / f"one-{update.value}", MODELS["pooling"], dataclasses.replace(config, batch_size=8, embedding_update=update))
    for deduplicated, raw, single in zip(trained, reference, one_device, strict=True):
        np.testing.assert_allclose(deduplicated, raw, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(deduplicated, single, rtol=1e-5, atol=1e-6)
    print("dedup", update.value, "ok")

# 2. Odd splits, one smaller than the replicas: every replica gets rows, the metrics are those of one example at a time.
for name, model_config in MODELS.items():
    with strategy.scope():
        model = classifier(model_config)
    evaluator = Evaluator(strategy, model, config.batch_size * strategy.num_replicas_in_sync, config)
    for size in (1, 13):
        examples = reviews(size, seed=size)
        iterator = iter(data.evaluation_batches(examples, 8, 2, replicas=2))
        batches = [replica_batches(strategy, iterator) for _ in range(-(-size // 8))]
        rows = [[int(tf.shape(part)[0]) for part in strategy.experimental_local_results(tokens)] for tokens, _, _ in batches]
        assert all(min(replicas) > 0 for replicas in rows), (name, size, rows)
        result = evaluator.evaluate(examples, size)
        assert evaluator.evaluate(examples, size) == result, "the evaluator's repeated iterator reads one whole pass a call"
        scores = np.array([float(model(tokens[None], training=False)[0, 0]) for tokens, _ in examples.as_numpy_iterator()])
        labels = np.array([label for _, label in examples.as_numpy_iterator()])
        loss = float(np.mean(keras.losses.binary_crossentropy(labels[:, None], scores[:, None])))
        assert result["examples"] == size and result["accuracy"] == np.mean((scores > 0.5) == (labels > 0.5)), (name, size, result)
        assert abs(result["loss"] - loss) < 1e-5 * max(1.0, loss), (name, size, result["loss"], loss)
        expected_auc = auc(labels, scores)
        assert (result["auc"] is None) == (expected_auc is None) and (expected_auc is None or abs(result["auc"] - expected_auc) < 1e-6)
    print("evaluate", name, "ok", rows)

# 3. The replicas' sparse rows are summed to one row per index before the broadcast (ReductionToOneDevice sends all 6
# rows to every replica); dense values in the same batch are all-reduced as before.
def replica_values(context, part):
    replica = context.replica_id_in_sync_group
    indices = [[1, 5, 7], [7, 9, 5]][replica]
    rows = tf.IndexedSlices(tf.constant([[float(index), replica + 1.0] for index in indices]), tf.constant(indices), tf.constant([10, 2]))
    return (rows, tf.fill([2], replica + 1.0))[part]

sparse, dense = (strategy.experimental_distribute_values_from_function(lambda context, part=part: replica_values(context, part)) for part in (0, 1))
summed_rows, summed = strategy.extended.batch_reduce_to(tf.distribute.ReduceOp.SUM, [(sparse, sparse), (dense, dense)])
for rows in strategy.experimental_local_results(summed_rows):
    by_index = dict(zip(rows.indices.numpy().tolist(), rows.values.numpy().tolist()))
    assert len(rows.indices) == 4 and by_index == {1: [1.0, 1.0], 5: [10.0, 3.0], 7: [14.0, 3.0], 9: [9.0, 2.0]}, rows
assert [values.numpy().tolist() for values in strategy.experimental_local_results(summed)] == [[3.0, 3.0]] * 2, summed
print("union rows ok")
'''


def test_two_replicas_deduplicate_gradients_and_never_evaluate_an_empty_batch():
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.count(" ok") == 1 + 2 + 4 + 1, result.stdout
