"""The trainer: embedding modes, learning, outputs, TensorBoard scalars, determinism, contract checks.

Training runs in this process on one CPU device; the multi-replica and
multi-process paths (which need a fresh process) are in test_distributed_training.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata

from tests.conftest import compose_config, synthetic_reviews, typed, write_aclimdb_archive
from workflow.artifacts import read_json
from workflow.config import EmbeddingScale
from workflow.embeddings.layout import Word2VecLayout
from workflow.errors import ContractError
from workflow.embeddings import stage as word2vec_stage
from workflow.preprocess import stage as preprocess_stage
from workflow.training import stage as training_stage
from workflow.preprocess.output import PreprocessOutput, read_vocab
from workflow.training import data
from workflow.training.layout import RunLayout
from workflow.training.output import RunMetrics
from workflow.training.model import load_classifier
from workflow.training.scale import rescale

WORD2VEC = ("word2vec.workers=1", "word2vec.vector_size=16", "word2vec.epochs=10")
TRAINING = (*WORD2VEC, "trainer.min_epoch_examples=1", "trainer.batch_size=16", "trainer.epochs=4", "trainer.log_every_steps=5", "trainer.learning_rate=0.01")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Preprocessing and word2vec outputs of a learnable synthetic corpus (300 train, 100 test, 204 unlabelled)."""
    root = tmp_path_factory.mktemp("training")
    # Plus unlabelled reviews with words no labelled review has: their rows are in the vocabulary, never in a batch.
    unlabelled_only = {f"aclImdb/train/unsup/{9000 + i}_0.txt": f"the solitary{i} lonely{i} film".encode() for i in range(4)}
    archive = write_aclimdb_archive(root / "synthetic.tar.gz", synthetic_reviews(150, 50, 200) | unlabelled_only)
    workdir = root / "work"
    config = typed(compose_config(workdir, "data=imdb", f"data.path={archive}", "preprocess.min_count=1", *WORD2VEC))
    preprocess_stage.run(config)
    word2vec_stage.run(config)
    return workdir


def train(workdir: Path, *overrides: str) -> tuple[RunMetrics, RunLayout]:
    run = training_stage.run(typed(compose_config(workdir, *TRAINING, *overrides)))
    return run.metrics, run.layout


def exported_embedding(layout: RunLayout) -> np.ndarray:
    model = load_classifier(layout.export)
    return keras.ops.convert_to_numpy(model.get_layer("embedding").embeddings)


def pretrained(workdir: Path, scale: EmbeddingScale = EmbeddingScale.row) -> np.ndarray:
    """The table frozen and finetune runs start from: word2vec's matrix at ``scale`` (the default: each row at a random row's norm)."""
    return rescale(np.load(Word2VecLayout(os.path.join(workdir, "word2vec")).matrix), scale)


def test_frozen_embedding_is_bit_identical_after_training(workdir):
    metrics, layout = train(workdir, "embedding=frozen")
    np.testing.assert_array_equal(exported_embedding(layout), pretrained(workdir))
    assert metrics.embedding_rows_changed == 0
    assert metrics.epochs_run >= 1 and metrics.test.examples == 100


def record_batch_rows(monkeypatch) -> dict[int, set[int]]:
    """Every token id of every training batch the loop reads, by epoch (0-based), as ``data.training_batches`` hands them over.

    The loop passes over an epoch's batches once more to count their widths (the same seeded batches), so
    the ids are those of the batches trained, however often they are read.
    """
    seen: dict[int, set[int]] = {}
    original = data.training_batches

    def recording(examples, global_batch_size, seed, epoch, *args, **kwargs):
        def note(tokens):
            seen.setdefault(epoch, set()).update(np.unique(tokens.numpy()).tolist())
            return tokens

        def tap(tokens, labels):
            passed = tf.py_function(note, [tokens], tokens.dtype)
            passed.set_shape(tokens.shape)
            return passed, labels

        return original(examples, global_batch_size, seed, epoch, *args, **kwargs).map(tap)

    monkeypatch.setattr(data, "training_batches", recording)
    return seen


def test_finetuned_embedding_moves_exactly_the_rows_of_its_batches(workdir, monkeypatch):
    """The rows that changed are the tokens of the batches trained up to the exported (best) epoch, <pad> aside:
    every one of them moved and every other row is bit-identical."""
    seen = record_batch_rows(monkeypatch)
    metrics, layout = train(workdir, "embedding=finetune", "trainer.run_name=rows-of-its-batches")
    assert sorted(seen) == list(range(metrics.epochs_run)), "the run trained here (not re-used), and every epoch was recorded"
    in_batches = set().union(*(seen[epoch] for epoch in range(metrics.best_epoch))) - {0}  # <pad>: masked, no gradient
    before, after = pretrained(workdir), exported_embedding(layout)
    moved = set(np.flatnonzero(np.any(before != after, axis=1)).tolist())
    assert not moved - in_batches, f"rows that no batch used moved: {sorted(moved - in_batches)}"
    assert not in_batches - moved, f"rows of the batches that did not move: {sorted(in_batches - moved)}"
    assert 10 < len(in_batches) < len(before) - 8  # solitary0-3 and lonely0-3 (unlabelled only), <pad>, <unk>: in no batch
    assert metrics.embedding_rows_changed == len(moved)
    vocabulary = [token for token, _ in read_vocab(os.path.join(workdir, "preprocess", "vocab.tsv"))]
    assert {vocabulary.index("superb"), vocabulary.index("dreadful")} <= moved
    # Calibrated: seeds 0-2 reach 0.97-1.00 on this corpus; chance is 0.5.
    assert metrics.test.accuracy > 0.85 and metrics.test.auc > 0.9


def test_random_mode_never_reads_the_pretrained_matrix(workdir, tmp_path):
    matrix_path = Word2VecLayout(os.path.join(workdir, "word2vec")).matrix
    saved = tmp_path / "matrix.npy"
    os.replace(matrix_path, saved)  # a random-init run must not need it
    try:
        metrics, layout = train(workdir, "embedding=random")
    finally:
        os.replace(saved, matrix_path)
    initial = keras.ops.convert_to_numpy(keras.initializers.RandomUniform(-0.05, 0.05, seed=0)(pretrained(workdir).shape))
    trained = exported_embedding(layout)
    # The <pad> row gets no gradient, so it still holds the layer initializer's draw (the matrix's is zeros).
    np.testing.assert_array_equal(trained[0], initial[0])
    assert np.abs(trained[0]).max() > 0
    assert abs(np.corrcoef(trained[2:].ravel(), pretrained(workdir)[2:].ravel())[0, 1]) < 0.2
    assert metrics.identity["inputs"]["matrix_sha256"] is None
    assert metrics.embedding_rows_changed > 10


def test_metrics_tensorboard_and_export(workdir):
    metrics, layout = train(workdir, "embedding=finetune", "seed=1")
    assert metrics.replicas == 1 and metrics.global_batch_size == 16
    assert metrics.examples["train"] + metrics.examples["validation"] == 300
    assert metrics.identity["config"]["embedding_mode"] == "finetune"
    assert len(metrics.history) == metrics.epochs_run
    assert metrics.train_examples_per_s > 0 and metrics.wall_time_s > 0
    for split, tags in (("train", {"loss", "accuracy", "learning_rate", "epoch_loss", "epoch_accuracy", "epoch_learning_rate"}),
                        ("validation", {"epoch_loss", "epoch_accuracy"})):
        events = EventAccumulator(os.path.join(layout.tensorboard, split), size_guidance={"tensors": 0})
        events.Reload()
        assert tags <= set(events.Tags()["tensors"]), split
        assert len(events.Tensors("epoch_accuracy")) == metrics.epochs_run
    # The HParams dashboard's session for this run, read back by TensorBoard's loader and the hparams plugin's parser.
    events = EventAccumulator(layout.tensorboard, size_guidance={"tensors": 0})
    events.Reload()
    session = hparams_metadata.parse_session_start_info_plugin_data(
        events.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content)
    hparams = {key: getattr(value, value.WhichOneof("kind")) for key, value in session.hparams.items()}
    assert session.group_name == metrics.run
    assert hparams["mode"] == "finetune" and hparams["seed"] == 1 and hparams["labelled_reviews"] == metrics.examples["train"]
    assert hparams["model"] == "cnn3" and hparams["vectors"] == "word2vec"
    test_accuracy = tf.make_ndarray(events.Tensors("hparams/test_accuracy")[0].tensor_proto)
    assert test_accuracy == pytest.approx(metrics.test.accuracy)
    # The export is the trained model: its test accuracy, recomputed from the TFRecords, is the one in metrics.json.
    model = load_classifier(layout.export)
    tokens, labels = zip(*data.split_examples(PreprocessOutput(str(workdir)).example_files("test"), 800))
    padded = keras.utils.pad_sequences([ids.numpy() for ids in tokens], padding="post")
    predicted = model.predict(padded, verbose=0)[:, 0] > 0.5
    assert np.mean(predicted == (np.array(labels) > 0.5)) == pytest.approx(metrics.test.accuracy, abs=1e-9)


def test_a_label_budget_trains_on_that_many_reviews_in_a_run_of_its_own(workdir):
    metrics, layout = train(workdir, "embedding=random", "trainer.label_budget=40", "trainer.min_epoch_examples=100", "trainer.epochs=2")
    assert layout.root.endswith("random-cnn3-word2vec-labels40-seed0")
    assert metrics.examples["train"] == 40 and metrics.label_budget == 40
    assert metrics.train_examples_per_s and len(metrics.history) == metrics.epochs_run
    # An epoch passes over the 40 reviews 3 times (>= 100 examples): 120 // 16 = 7 steps; validation and test are whole.
    assert metrics.test.examples == 100 and metrics.examples["validation"] == PreprocessOutput(str(workdir)).split_sizes()["validation"]


def test_same_seed_same_result_and_finished_runs_are_not_retrained(workdir):
    first, _ = train(workdir, "embedding=finetune", "seed=2", "trainer.run_name=first")
    second, _ = train(workdir, "embedding=finetune", "seed=2", "trainer.run_name=second")
    assert first.history == second.history and first.test == second.test
    again, _ = train(workdir, "embedding=finetune", "seed=2", "trainer.run_name=first")
    assert again.wall_time_s == first.wall_time_s, "a finished run is reported, not trained again"


def test_a_finished_run_of_another_config_is_kept_and_a_cadence_change_reuses(workdir, caplog):
    first, layout = train(workdir, "embedding=frozen", "trainer.run_name=taken", "trainer.epochs=1")
    # Logging and checkpoint cadence cannot change the result: the finished run is re-used as it is.
    again, _ = train(workdir, "embedding=frozen", "trainer.run_name=taken", "trainer.epochs=1",
                     "trainer.log_every_steps=3", "trainer.checkpoint_every_steps=7")
    assert again.wall_time_s == first.wall_time_s
    with caplog.at_level("WARNING"):
        other, _ = train(workdir, "embedding=frozen", "trainer.run_name=taken", "trainer.epochs=1", "trainer.learning_rate=0.5")
    assert other.config["trainer"]["learning_rate"] == 0.5
    kept = list((workdir / "kept-runs").glob("taken-*"))
    assert len(kept) == 1 and read_json(str(kept[0] / "metrics.json"))["wall_time_s"] == first.wall_time_s
    assert "trainer.learning_rate (0.01 -> 0.5)" in caplog.text and str(kept[0]) in caplog.text


def test_matrix_of_another_vocabulary_is_refused(workdir, tmp_path):
    layout = Word2VecLayout(os.path.join(workdir, "word2vec"))
    original = Path(layout.manifest).read_text()
    manifest = read_json(layout.manifest)
    manifest["inputs"]["vocab_sha256"] = "0" * 64
    Path(layout.manifest).write_text(json.dumps(manifest))
    try:
        with pytest.raises(ContractError, match="re-run wf-word2vec"):
            train(workdir, "embedding=finetune", "trainer.run_name=mismatch")
    finally:
        Path(layout.manifest).write_text(original)


@pytest.mark.parametrize("mode", ["finetune", "random"])
def test_a_matrix_from_another_vector_source_than_the_config_names_is_refused(workdir, mode):
    """Each source has its folder (imported/<file name>); two files of one name share it, and the folder says which it holds."""
    with pytest.raises(ContractError, match=r"no finished stage in .*imported/glove .*run wf-word2vec first"):
        train(workdir, f"embedding={mode}", "embedding.vectors=/v/glove.txt", "trainer.run_name=no-source")
    folder = workdir / "imported" / "other"
    if not folder.exists():
        shutil.copytree(workdir / "word2vec", folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["inputs"]["vectors"] = {"kind": "import", "path": "/elsewhere/other.txt"}
        (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ContractError, match=r"holds vectors from /elsewhere/other.txt, but embedding.vectors='/v/other.txt'"):
        train(workdir, f"embedding={mode}", "embedding.vectors=/v/other.txt", "trainer.run_name=other-source")


def test_lazy_and_dense_updates_learn_alike_and_lazy_leaves_rows_no_batch_used(workdir):
    # The rows as trained: the calibration below was made with them (at the row scale, seed 0 gave test accuracies 0.09 apart).
    lazy, lazy_layout = train(workdir, "embedding=finetune", "embedding.scale=as_trained", "trainer.run_name=lazy")
    dense, _ = train(workdir, "embedding=finetune", "embedding.scale=as_trained", "trainer.embedding_update=dense", "trainer.run_name=dense")
    assert lazy.config["trainer"]["embedding_update"] == "lazy" and dense.identity != lazy.identity
    # Calibrated on this corpus, seeds 0-2, two example-file layouts: 0.84-0.95 test accuracy, lazy and dense within 0.03.
    assert abs(lazy.test.accuracy - dense.test.accuracy) <= 0.05 and lazy.test.accuracy > 0.8
    train_tokens = {int(token) for ids, _ in data.split_examples(PreprocessOutput(str(workdir)).example_files("train"), 800)
                    for token in ids.numpy()}
    as_trained = pretrained(workdir, EmbeddingScale.as_trained)
    never_in_a_batch = [row for row in range(len(as_trained)) if row not in train_tokens]
    assert len(never_in_a_batch) >= 10  # <pad>, <unk>, solitary0-3, lonely0-3
    np.testing.assert_array_equal(exported_embedding(lazy_layout)[never_in_a_batch], as_trained[never_in_a_batch])
