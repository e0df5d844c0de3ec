"""Pretrained n-gram rows in the classifier: placed in their table rows, fixed when frozen, moved only where a batch reads
them when fine-tuned; the settings that name, key and sweep them; and the report's comparison with random rows."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import typed
from tests.unit.test_report_tables import finished
from tests.unit.test_training_key import RECORDED, key_of, stand_in_inputs
from workflow import sweep
from workflow.config import EmbeddingMode, Encoder, ModelConfig
from workflow.errors import ConfigError
from workflow.report import ngram_rows
from workflow.report.runs import group_configurations
from workflow.report.tables import comparisons_markdown
from workflow.training import identity
from workflow.training.encoders import HashedBigrams, HashedTrigrams
from workflow.training.model import BIGRAM_EMBEDDING_LAYER, TRIGRAM_EMBEDDING_LAYER, build_classifier
from workflow.training.optimizer import EmbeddingAdam

VOCABULARY, DIM, SEED = 30, 8, 5
MODEL = ModelConfig(encoder=Encoder.cnn, windows=[2], filters=4, bigram_buckets=50, trigram_buckets=20)
BATCH = np.array([[3, 4, 5, 6, 0], [7, 8, 9, 0, 0]], dtype=np.int32)  # two reviews, padded


def pretrained_rows() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Every other row of each n-gram table (row 0, padding, aside), with vectors far from the random start's +-0.05."""
    rng = np.random.default_rng(0)
    return {order: (rows, rng.normal(0, 1, (len(rows), DIM)).astype(np.float32))
            for order, rows in ((2, np.arange(1, 51, 2)), (3, np.arange(2, 21, 2)))}


def classifier(ngrams: EmbeddingMode, rows: dict | None) -> keras.Model:
    keras.utils.set_random_seed(SEED)
    matrix = np.random.default_rng(SEED).normal(0, 0.3, (VOCABULARY, DIM)).astype(np.float32)
    return build_classifier(VOCABULARY, DIM, EmbeddingMode.frozen, MODEL, SEED, matrix, ngrams=ngrams, ngram_rows=rows)


def tables(model: keras.Model) -> dict[int, np.ndarray]:
    return {2: model.get_layer(BIGRAM_EMBEDDING_LAYER).embeddings.numpy(), 3: model.get_layer(TRIGRAM_EMBEDDING_LAYER).embeddings.numpy()}


def one_step(model: keras.Model) -> None:
    """One lazy Adam step on ``BATCH``, as the trainer takes it."""
    optimizer = EmbeddingAdam(0.05, lazy=True)
    with tf.GradientTape() as tape:
        loss = keras.losses.binary_crossentropy(tf.constant([[1.0], [0.0]]), model(BATCH, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))


def test_pretrained_rows_land_in_their_rows_and_the_others_keep_the_random_start():
    random_start = tables(classifier(EmbeddingMode.random, None))
    built = tables(classifier(EmbeddingMode.frozen, pretrained_rows()))
    for order, (rows, vectors) in pretrained_rows().items():
        np.testing.assert_array_equal(built[order][rows], vectors)
        others = np.setdiff1d(np.arange(len(built[order])), rows)
        np.testing.assert_array_equal(built[order][others], random_start[order][others])


@pytest.mark.parametrize("ngrams", [EmbeddingMode.frozen, EmbeddingMode.finetune])
def test_frozen_rows_stay_and_fine_tuned_rows_move_only_where_the_batch_reads_them(ngrams):
    model = classifier(ngrams, pretrained_rows())
    before = tables(model)
    one_step(model)
    after = tables(model)
    read = {2: set(HashedBigrams(MODEL.bigram_buckets)(BATCH).numpy().ravel()) - {0},
            3: set(HashedTrigrams(MODEL.trigram_buckets)(BATCH).numpy().ravel()) - {0}}
    for order in (2, 3):
        moved = set(np.flatnonzero(np.any(after[order] != before[order], axis=1)).tolist())
        assert moved == (read[order] if ngrams is EmbeddingMode.finetune else set()), order


def test_rows_for_random_n_grams_or_none_for_pretrained_ones_are_refused():
    with pytest.raises(ValueError, match="embedding.ngrams=random must not get"):
        classifier(EmbeddingMode.random, pretrained_rows())
    with pytest.raises(ValueError, match="embedding.ngrams=frozen needs"):
        classifier(EmbeddingMode.frozen, None)


def test_random_n_gram_rows_keep_every_runs_name_and_key_and_pretrained_ones_add_theirs(make_config):
    """``embedding.ngrams=random`` is today's key and run name, byte for byte; frozen and finetune name their folder and key
    their mode, scale and rows."""
    explicit = typed(make_config("embedding.ngrams=random", "embedding.scale=as_trained"))
    assert identity.why_retrain(RECORDED, key_of(explicit), explicit) is None
    assert identity.run_name(explicit) == "finetune-cnn3-word2vec-seed0"
    frozen = typed(make_config("model.bigram_buckets=100", "embedding.ngrams=frozen"))
    key = key_of(frozen, stand_in_inputs(ngram_rows_sha256="n" * 64))
    assert (key["config"]["embedding_ngrams"], key["config"]["ngram_scale"], key["inputs"]["ngram_rows_sha256"]) == ("frozen", "row", "n" * 64)
    assert identity.run_name(frozen) == "finetune-cnn3-word2vec-rownorm-ngramsfrozen-seed0"
    random_tokens = typed(make_config("embedding=random", "model.bigram_buckets=100", "embedding.ngrams=finetune"))
    assert identity.run_name(random_tokens) == "random-cnn3-word2vec-rownorm-ngramsfinetune-seed0", "the n-gram rows are rescaled"


def test_a_sweep_over_n_gram_rows_trains_each_mode_in_its_own_folder(make_config):
    cfg = make_config("model.bigram_buckets=100", "sweep.modes=[frozen]", "sweep.ngrams=[random,frozen,finetune]")
    names = identity.sweep_run_names(typed(cfg))
    assert names == ["frozen-cnn3-word2vec-rownorm-seed0", "frozen-cnn3-word2vec-rownorm-ngramsfrozen-seed0",
                     "frozen-cnn3-word2vec-rownorm-ngramsfinetune-seed0"]
    overrides = sweep.multirun_arguments(typed(cfg), ["embedding.ngrams=frozen", "model.bigram_buckets=100"], [], "/sweep")
    assert "embedding.ngrams=random,frozen,finetune" in overrides and "embedding.ngrams=frozen" not in overrides
    alone = make_config("model.bigram_buckets=100", "embedding.ngrams=frozen")
    assert sweep.sweep_overrides(typed(alone)) == sweep.sweep_overrides(typed(make_config())), "no sweep.ngrams: no axis"
    assert "embedding.ngrams=frozen" in sweep.multirun_arguments(typed(alone), ["embedding.ngrams=frozen"], [], "/sweep")


@pytest.mark.parametrize("overrides", [["embedding.ngrams=frozen"], ["sweep.ngrams=[random,finetune]"]])
def test_pretrained_n_gram_rows_without_n_gram_tables_are_a_config_error(make_config, overrides):
    key = overrides[0].split("=")[0]
    with pytest.raises(ConfigError, match=f"{key}=.*set model.bigram_buckets"):
        typed(make_config(*overrides))


def test_the_report_compares_n_gram_row_modes_as_configurations():
    """Runs that differ only in their n-gram rows are two configurations, each heading naming its rows."""
    random_rows = [finished(mode, seed, 0.8) for mode in ("frozen", "random") for seed in (0, 1)]
    pretrained = [finished(mode, seed, 0.85) for mode in ("frozen", "random") for seed in (0, 1)]
    for run in pretrained:
        run.metrics.identity["config"].update(embedding_ngrams="frozen", ngram_scale="row")
        run.metrics.identity["inputs"]["ngram_rows_sha256"] = "n" * 64
    _, configurations = group_configurations(random_rows + pretrained)
    assert [len(configuration.runs) for configuration in configurations] == [4, 4]
    assert configurations[1].heading == {"config.embedding_ngrams": "frozen", "config.ngram_scale": "row", "inputs.ngram_rows_sha256": "n" * 64}


def _with_ngram_rows(run, rows: str, digest: str = "n" * 64):
    run.metrics.identity["config"].update(embedding_ngrams=rows, ngram_scale="row")
    run.metrics.identity["inputs"]["ngram_rows_sha256"] = digest
    return run


def test_the_report_pairs_pretrained_n_gram_rows_with_the_random_rows_of_the_runs_that_differ_in_nothing_else():
    """Pretrained rows − random rows, arm by arm and seed by seed, named by configuration; runs that differ in more
    (another model) have no twin, and an arm only one side ran (token rows frozen) pairs with nothing."""
    random_rows = [finished(mode, seed, 0.80 + 0.01 * seed) for mode in ("frozen", "random") for seed in (0, 1, 2)]
    pretrained = [_with_ngram_rows(finished(mode, seed, 0.82 + 0.01 * seed + 0.001 * (seed == 1)), "finetune")
                  for mode in ("frozen", "random") for seed in (0, 1, 2)]
    other_model = [_with_ngram_rows(finished("frozen", seed, 0.9, model="bilstm"), "finetune") for seed in (0, 1, 2)]
    token_random_only = [_with_ngram_rows(finished("random", seed, 0.70), "frozen", digest="m" * 64) for seed in (0, 1, 2)]
    runs, configurations = group_configurations(random_rows + pretrained + other_model + token_random_only)
    assert len(configurations) == 4
    found = ngram_rows.comparisons(runs, {})
    assert [entry["comparison"] for entry in found] == ["fine-tuned − random n-gram rows (frozen; configuration 2 − 1)",
                                                        "fine-tuned − random n-gram rows (random; configuration 2 − 1)",
                                                        "frozen − random n-gram rows (random; configuration 4 − 1)"]
    difference = found[0]["difference"]
    assert difference.seeds == (0, 1, 2) and difference.mean == pytest.approx(0.061 / 3)
    assert difference.detected and difference.seed_interval[0] > 0
    assert found[2]["difference"].mean == pytest.approx(0.70 - 0.81)
    markdown = comparisons_markdown(found, between="configurations")
    assert ("frozen with fine-tuned pretrained n-gram rows (configuration 2) gains 2.0 points over frozen with random n-gram rows "
            "(configuration 1)") in markdown
    assert "batch order in both configurations" in markdown
