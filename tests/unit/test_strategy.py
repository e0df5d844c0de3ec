"""Which all-reduce MultiWorkerMirroredStrategy gets: NCCL where the machine has GPUs, RING otherwise, or the config's;
and the share of each global batch a replica reads."""

from __future__ import annotations

import json

import pytest
import tensorflow as tf

from tests.conftest import typed
from workflow.config import Collectives
from workflow.errors import ConfigError
from workflow.training import strategy as strategy_module
from workflow.training.strategy import collective_implementation, split_batch

NCCL, RING = tf.distribute.experimental.CommunicationImplementation.NCCL, tf.distribute.experimental.CommunicationImplementation.RING


@pytest.mark.parametrize("choice,gpus,expected", [
    (Collectives.auto, 0, RING), (Collectives.auto, 1, NCCL), (Collectives.auto, 8, NCCL),
    (Collectives.ring, 8, RING), (Collectives.nccl, 2, NCCL),
])
def test_the_devices_present_choose_nccl_or_ring_unless_the_config_says(choice, gpus, expected):
    assert collective_implementation(choice, gpus) is expected


def test_nccl_without_a_gpu_is_a_config_error():
    with pytest.raises(ConfigError, match="strategy.collectives=nccl"):
        collective_implementation(Collectives.nccl, 0)


def test_a_worker_builds_its_strategy_with_the_choice(make_config, monkeypatch):
    """conf/strategy/multiworker.yaml's setting and the GPUs TensorFlow lists reach MultiWorkerMirroredStrategy."""
    built = []
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}))
    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", lambda communication_options: built.append(communication_options))
    fake_gpus = [tf.config.PhysicalDevice(f"/physical_device:GPU:{index}", "GPU") for index in range(2)]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: fake_gpus if kind == "GPU" else [])
    for override, expected in (("strategy.collectives=auto", NCCL), ("strategy.collectives=ring", RING)):
        strategy_module.make_strategy(typed(make_config("strategy=multiworker", override)).strategy)
        assert built.pop().implementation is expected


def test_each_replica_reads_its_consecutive_share_and_a_batch_that_does_not_split_evenly_fails():
    batch = (tf.reshape(tf.range(12), [6, 2]), tf.range(6))
    shares = split_batch(batch, 3)
    assert [labels.numpy().tolist() for _, labels in shares] == [[0, 1], [2, 3], [4, 5]]
    assert tf.concat([tokens for tokens, _ in shares], axis=0).numpy().tolist() == batch[0].numpy().tolist()
    with pytest.raises(tf.errors.InvalidArgumentError, match="do not split evenly over 4 replicas"):
        split_batch(batch, 4)


def test_features_with_document_rows_are_split_alike():
    batch = ({"tokens": tf.reshape(tf.range(12), [6, 2]), "document": tf.range(6) + 10}, tf.range(6))
    shares = split_batch(batch, 2)
    assert [(features["document"].numpy().tolist(), labels.numpy().tolist()) for features, labels in shares] == \
        [([10, 11, 12], [0, 1, 2]), ([13, 14, 15], [3, 4, 5])]
    assert shares[1][0]["tokens"].numpy().tolist() == [[6, 7], [8, 9], [10, 11]]
