"""float16 loss scaling: sparse gradients stay sparse, a non-finite step is skipped on every replica, the scale adapts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = r'''
import sys
import numpy as np
import tensorflow as tf

replicas = int(sys.argv[1])
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
from workflow.training.loss_scale import DynamicLossScale
from workflow.training.optimizer import EmbeddingAdam

strategy = tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])
with strategy.scope():
    table = tf.Variable(np.ones((6, 2), np.float32))
    weight = tf.Variable(np.ones((2,), np.float32))
    optimizer = EmbeddingAdam(0.1)
    optimizer.build([table, weight])
    scale = DynamicLossScale(initial_scale=4.0, growth_steps=2)


def replica_step(blow_up_replica):
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(table, [1, 2, 1]) * weight)
        loss = loss * tf.where(tf.equal(replica, blow_up_replica), np.float32(np.inf), np.float32(1.0))  # inf on one replica only
        loss = scale.scaled(loss)
    gradients = tape.gradient(loss, [table, weight])
    assert isinstance(gradients[0], tf.IndexedSlices)
    assert isinstance(scale.unscaled(gradients)[0], tf.IndexedSlices), "unscaling keeps the Embedding gradient sparse"
    scale.apply(optimizer, gradients, [table, weight])


step = tf.function(lambda blow_up_replica: strategy.run(replica_step, args=(blow_up_replica,)))
step(tf.constant(-1))  # a finite step
after_first = table.numpy().copy()
assert int(optimizer.iterations.numpy()) == 1 and scale.scale.numpy() == 4.0 and int(scale.good_steps.numpy()) == 1
assert np.array_equal(after_first[[0, 3, 4, 5]], np.ones((4, 2))) and (after_first[[1, 2]] < 1).all(), "lazy: only the rows seen"
step(tf.constant(replicas - 1))  # the last replica overflows: every replica skips
assert np.array_equal(table.numpy(), after_first) and int(optimizer.iterations.numpy()) == 1
assert scale.scale.numpy() == 2.0 and int(scale.good_steps.numpy()) == 0
step(tf.constant(-1)); step(tf.constant(-1))  # growth_steps good steps: the scale doubles
assert scale.scale.numpy() == 4.0 and int(scale.good_steps.numpy()) == 0 and int(optimizer.iterations.numpy()) == 3
print("ok")
'''


def run(replicas: int) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(replicas)], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


def test_one_replica_skips_a_non_finite_step_and_adapts_the_scale():
    run(1)


def test_two_replicas_agree_to_skip_when_one_overflows():
    run(2)
