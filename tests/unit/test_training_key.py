"""The training run's key stays what earlier releases recorded, so that new settings at their defaults never re-train a finished run."""

import json
from types import SimpleNamespace

from tests.conftest import typed
from workflow.training import stage

# The key of the default run (finetune, cnn3) as the release before embedding.scale, model.trigram_buckets and terminal.*
# computed it (b79df5b), with these stand-in digests.
RECORDED = json.loads('''{"config": {"embedding_mode": "finetune", "model": {"bigram_buckets": 0, "dropout": 0.5, "encoder": "cnn", "filters": 128, "hidden_units": 0, "lstm_units": 64, "max_len": 800, "name": "cnn3", "pooling": ["mean", "max"], "windows": [3]}, "seed": 0, "trainer": {"batch_size": 64, "deterministic": true, "early_stopping_patience": 3, "embedding_update": "lazy", "epochs": 20, "label_budget": null, "learning_rate": 0.005, "min_epoch_examples": 2048, "precision": "float32", "scale_learning_rate": false, "shuffle_buffer": 50000, "sort_pool_batches": 50, "width_multiple": 0}}, "embedding_dim": 100, "format_version": 1, "global_batch_size": 64, "inputs": {"examples_sha256": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "matrix_sha256": "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", "tokenizer": {"pattern": "p"}, "vocab_sha256": "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"}}''')


def stand_in_inputs() -> SimpleNamespace:
    preprocess = SimpleNamespace(examples_sha256="e" * 64, vocab_sha256="v" * 64, manifest={"tokenizer": {"pattern": "p"}})
    return SimpleNamespace(preprocess=preprocess, matrix_sha256="m" * 64, dim=lambda: 100)


def test_new_settings_at_their_defaults_keep_the_recorded_key(make_config):
    """The rows as trained (the default then) keep the recorded key; ``row``, the default since, adds only the scale."""
    assert stage.key(typed(make_config("embedding.scale=as_trained")), stand_in_inputs(), 64) == RECORDED
    default = stage.key(typed(make_config()), stand_in_inputs(), 64)
    assert default["config"].pop("embedding_scale") == "row" and default == RECORDED


def test_a_new_setting_that_acts_enters_the_key(make_config):
    trigrams = stage.key(typed(make_config("model=pooling", "model.trigram_buckets=100", "embedding.scale=as_trained")), stand_in_inputs(), 64)
    assert trigrams["config"]["model"]["trigram_buckets"] == 100 and "trigram_hash" in trigrams
    tabled = stage.key(typed(make_config("embedding.scale=table")), stand_in_inputs(), 64)
    assert tabled["config"]["embedding_scale"] == "table"
    operational = ("terminal.progress=lines", "terminal.steps=true", "embedding.scale=as_trained")
    assert stage.key(typed(make_config(*operational)), stand_in_inputs(), 64) == RECORDED
