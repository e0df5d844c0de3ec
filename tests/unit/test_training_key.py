"""A run's key keeps what earlier releases recorded, by rule: new settings at their defaults re-use every finished run, with
no list to keep; code that changes what a run computes re-trains exactly the runs that run it."""

import copy
import dataclasses
import json

from tests.conftest import typed
from workflow.config import ModelConfig, with_values
from workflow.training import identity

# The key of the default run (finetune, cnn3) as the release before embedding.scale, model.trigram_buckets and terminal.*
# computed it (b79df5b), with these stand-in digests.
RECORDED = json.loads('''{"config": {"embedding_mode": "finetune", "model": {"bigram_buckets": 0, "dropout": 0.5, "encoder": "cnn", "filters": 128, "hidden_units": 0, "lstm_units": 64, "max_len": 800, "name": "cnn3", "pooling": ["mean", "max"], "windows": [3]}, "seed": 0, "trainer": {"batch_size": 64, "deterministic": true, "early_stopping_patience": 3, "embedding_update": "lazy", "epochs": 20, "label_budget": null, "learning_rate": 0.005, "min_epoch_examples": 2048, "precision": "float32", "scale_learning_rate": false, "shuffle_buffer": 50000, "sort_pool_batches": 50, "width_multiple": 0}}, "embedding_dim": 100, "format_version": 1, "global_batch_size": 64, "inputs": {"examples_sha256": "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "matrix_sha256": "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", "tokenizer": {"pattern": "p"}, "vocab_sha256": "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"}}''')
CODE = identity.Code(bigram_hash="bigram hash", trigram_hash="trigram hash", dense_update="fused dense update")


def stand_in_inputs(ngram_rows_sha256: str | None = None) -> identity.RunInputs:
    return identity.RunInputs("e" * 64, {"pattern": "p"}, "v" * 64, "m" * 64, ngram_rows_sha256, 100)


def key_of(config, inputs: identity.RunInputs | None = None) -> dict:
    return identity.key(config, inputs or stand_in_inputs(), 64, CODE)


def test_new_settings_at_their_defaults_keep_the_recorded_key(make_config):
    """The rows as trained (the default then) keep the recorded key; ``row``, the default since, changes only the scale."""
    as_trained = typed(make_config("embedding.scale=as_trained"))
    assert identity.why_retrain(RECORDED, key_of(as_trained), as_trained) is None
    default = typed(make_config())
    assert identity.why_retrain(RECORDED, key_of(default), default) == "changed: config.embedding_scale (None -> 'row')"


def test_a_model_setting_added_at_its_default_keeps_every_recorded_key_without_a_list(make_config):
    """A new setting of the model section, added to the schema at a default: every run recorded before it is re-used; the
    setting at another value trains again. Nothing but the schema names the setting."""

    @dataclasses.dataclass
    class ModelWithANewSetting(ModelConfig):
        attention_heads: int = 0

    config = typed(make_config("embedding.scale=as_trained"))
    model = ModelWithANewSetting(**{field.name: getattr(config.model, field.name) for field in dataclasses.fields(config.model)})
    extended = with_values(config, {"model": model})
    assert key_of(extended)["config"]["model"]["attention_heads"] == 0, "the setting is in every key computed since"
    assert identity.why_retrain(RECORDED, key_of(extended), extended) is None
    heads = with_values(extended, {"model.attention_heads": 4})
    assert identity.why_retrain(RECORDED, key_of(heads), heads) == "changed: config.model.attention_heads (None -> 4)"
    assert identity.why_retrain(key_of(extended), key_of(heads), heads) == "changed: config.model.attention_heads (0 -> 4)"


def test_a_new_setting_that_acts_enters_the_key(make_config):
    trigrams = typed(make_config("model=pooling", "model.trigram_buckets=100", "embedding.scale=as_trained"))
    key = key_of(trigrams)
    assert key["config"]["model"]["trigram_buckets"] == 100 and key["trigram_hash"] == CODE.trigram_hash
    tabled = typed(make_config("embedding.scale=table"))
    assert key_of(tabled)["config"]["embedding_scale"] == "table"
    operational = typed(make_config("terminal.progress=lines", "terminal.steps=true", "embedding.scale=as_trained", "trainer.run_name=x",
                                    "trainer.log_every_steps=7", "trainer.steps_per_loop=4"))
    assert identity.why_retrain(RECORDED, key_of(operational), operational) is None, "settings that cannot change a result stay out"


def test_dense_runs_train_again_by_rule_and_lazy_runs_keep_their_keys(make_config):
    """The dense update is TensorFlow's fused Adam kernel now (float rounding apart from Keras's update, which dense runs
    recorded before it ran): its version is in the key of dense runs, and only theirs."""
    lazy = typed(make_config("embedding.scale=as_trained"))
    assert "dense_update" not in key_of(lazy) and identity.why_retrain(RECORDED, key_of(lazy), lazy) is None
    dense = typed(make_config("embedding.scale=as_trained", "trainer.embedding_update=dense"))
    recorded_dense = copy.deepcopy(RECORDED)
    recorded_dense["config"]["trainer"]["embedding_update"] = "dense"
    assert identity.why_retrain(recorded_dense, key_of(dense), dense) == "changed: dense_update (None -> 'fused dense update')"
    assert identity.why_retrain(key_of(dense), key_of(dense), dense) is None, "a dense run keyed since is re-used"


def test_the_key_version_is_explicit_and_a_key_without_one_is_of_version_1(make_config):
    config = typed(make_config("embedding.scale=as_trained"))
    key = key_of(config)
    assert key["key_version"] == identity.KEY_VERSION == 1
    assert identity.why_retrain({**RECORDED, "key_version": 0}, key, config) == "changed: key_version (0 -> 1)"


def test_the_report_sees_runs_of_every_release_in_one_shape(make_config):
    """A key from before a setting and one computed since, at its default, are one configuration."""
    config = typed(make_config("embedding.scale=as_trained"))
    assert identity.configuration(RECORDED) == identity.configuration(key_of(config))
    tuned = typed(make_config("embedding.scale=as_trained", "trainer.epochs=3"))
    assert identity.configuration(RECORDED) != identity.configuration(key_of(tuned))
