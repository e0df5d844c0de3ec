"""The paragraph-vector stage on the session's finished workflow, and benchmarks/paragraph_vectors.py over its runs: a
vector inferred for every labelled review, a regression fitted on the training reviews alone, predictions over the runs'
reviews in their order, the stage skipped when up to date; test predictions read only against a declaration."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import runpy
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import SMALL as WORKFLOW
from tests.conftest import compose_config, run_here, typed, workflow_archive
from workflow.errors import ContractError
from workflow.paragraphs import classifier
from workflow.paragraphs.output import ParagraphOutput, paragraph_dir
from workflow.preprocess.output import PreprocessOutput
from workflow.report.combination import stored
from workflow.report.runs import find_runs
from workflow.training import data
from workflow.training.evaluation import auc
from workflow.training.model import DOCUMENT_EMBEDDING_LAYER
from workflow.training.output import RunOutput
from workflow.training.stage import TrainingInputs

TOOL = Path(__file__).resolve().parents[2] / "benchmarks" / "paragraph_vectors.py"
SMALL = ("paragraph_vectors.vector_size=8", "paragraph_vectors.epochs=2", "paragraph_vectors.workers=1")


def run_stage(workflow_run: tuple[Path, str], workdir: Path, *more: str) -> str:
    """wf-paragraph-vectors on ``workdir`` (small settings, and ``more``); its terminal output."""
    return run_here("paragraph_vectors", f"workdir={workdir}", "data=imdb", f"data.path={workflow_archive(workflow_run)}", *SMALL, *more,
                    cwd=workdir.parent)


@pytest.fixture(scope="module")
def paragraphs(workflow_run, tmp_path_factory) -> tuple[Path, str, list]:
    """A copy of the session's workdir with the stage run once: (workdir, the command's output, the labels the regression
    was fitted on)."""
    workdir = tmp_path_factory.mktemp("paragraphs") / "work"
    shutil.copytree(workflow_run[0], workdir, symlinks=True)
    fitted, trained = [], classifier.trained
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classifier, "trained", lambda vectors, labels, *rest: fitted.append((vectors, labels)) or trained(vectors, labels, *rest))
        output = run_stage(workflow_run, workdir)
    return workdir, output, fitted


def tool(monkeypatch: pytest.MonkeyPatch, *arguments: str) -> None:
    """benchmarks/paragraph_vectors.py with ``arguments`` (its output: capsys)."""
    monkeypatch.setattr(sys, "argv", [str(TOOL), *arguments])
    runpy.run_path(str(TOOL), run_name="__main__")


def test_every_labelled_review_gets_a_vector_and_each_split_the_runs_reviews(paragraphs):
    workdir, output, fitted = paragraphs
    assert re.search(r"paragraphs +done in [\d.]+ s \(validation accuracy \d\.\d{4} \(L2 [\d.]+ by cross-validation over films", output), output
    found = ParagraphOutput(paragraph_dir(str(workdir), 0))
    sizes = PreprocessOutput(str(workdir)).split_sizes()
    for split in ("train", "validation", "test"):
        assert found.vectors(split).shape == (sizes[split], 8) and found.vectors(split).dtype == np.float32
    runs = find_runs([str(workdir / "runs")])
    for split in ("validation", "test"):
        mine, theirs = found.predictions(split), stored(runs, split)[0]
        assert np.array_equal(mine.doc_ids, theirs.doc_ids) and np.array_equal(mine.labels, theirs.labels)
        assert np.array_equal(mine.films, theirs.films)
    assert found.manifest["scores"]["validation_accuracy"] == pytest.approx(found.predictions("validation").correct.mean())
    [(vectors, labels)] = fitted
    assert len(labels) == sizes["train"] and np.array_equal(vectors, found.vectors("train")), "the regression saw the training reviews only"


def test_the_stage_is_skipped_when_up_to_date_and_runs_when_a_setting_changes(paragraphs, workflow_run, tmp_path):
    workdir = tmp_path / "work"
    shutil.copytree(paragraphs[0], workdir, symlinks=True)  # the module's stays as it was
    assert "paragraphs   skipped (up to date)" in run_stage(workflow_run, workdir)
    rerun = run_stage(workflow_run, workdir, "paragraph_vectors.epochs=3")
    assert re.search(r"paragraphs +done in .*changed: config\.paragraph_vectors\.epochs \(2 -> 3\)", rerun), rerun
    assert "paragraphs   skipped (up to date)" in run_stage(workflow_run, workdir, "paragraph_vectors.epochs=3")


def test_each_run_is_averaged_with_the_paragraph_vectors_on_validation_and_test_is_not_read(paragraphs, capsys, monkeypatch):
    workdir = paragraphs[0]
    folder = paragraph_dir(str(workdir), 0)
    runs = find_runs([str(workdir / "runs")])
    read = []
    predictions = ParagraphOutput.predictions
    monkeypatch.setattr(ParagraphOutput, "predictions", lambda self, split: read.append(split) or predictions(self, split))
    tool(monkeypatch, "--paragraph-vectors", folder, "--runs", str(workdir / "runs"))
    out = capsys.readouterr().out
    assert read == ["validation"] and "test:" not in out
    vectors = ParagraphOutput(folder).predictions("validation")
    for run, alone in zip(runs, stored(runs, "validation")):
        averaged = np.mean(((alone.probabilities + vectors.probabilities) / 2 > 0.5) == (alone.labels > 0))
        assert f"{run.name}: alone {alone.correct.mean():.4f}, averaged {averaged:.4f}" in out, out
    assert re.search(r"averaged: \d\.\d{4} ± \d\.\d{4} over 3 runs, seeds \[0, 0, 0\] \(95% t-interval of the mean", out), out
    assert re.search(r"averaged − alone: [+-]\d+\.\d\d points, 95% t-interval over the runs", out), out


def test_test_is_scored_only_against_a_declaration_naming_every_model(paragraphs, capsys, monkeypatch, tmp_path):
    workdir = paragraphs[0]
    folder = paragraph_dir(str(workdir), 0)
    run = find_runs([str(workdir / "runs")])[0]
    declaration = tmp_path / "declared.md"
    declaration.write_text(f"{run.name} averaged with the paragraph vectors (`--combine mean`)\n")
    with pytest.raises(SystemExit, match="test predictions not read: .* does not name pv-dbow-seed0"):
        tool(monkeypatch, "--paragraph-vectors", folder, "--runs", run.root, "--test", str(declaration))
    declaration.write_text(f"{run.name} averaged with pv-dbow-seed0 (`--combine mean`)\n")
    tool(monkeypatch, "--paragraph-vectors", folder, "--runs", run.root, "--test", str(declaration))
    out = capsys.readouterr().out
    alone, vectors = stored([run], "test")[0], ParagraphOutput(folder).predictions("test")
    averaged = np.mean(((alone.probabilities + vectors.probabilities) / 2 > 0.5) == (alone.labels > 0))
    test_part = out[out.index("test:"):]
    assert f"{run.name}: alone {alone.correct.mean():.4f}, averaged {averaged:.4f}" in test_part, out
    assert re.search(r"bootstrap of the averages' mean over [\d,]+ test (films|reviews)", test_part), out


def test_a_file_changed_after_the_manifest_is_refused(paragraphs, tmp_path):
    workdir = tmp_path / "work"
    shutil.copytree(paragraphs[0], workdir, symlinks=True)
    found = ParagraphOutput(paragraph_dir(str(workdir), 0))
    path = Path(found.layout.predictions("validation"))
    path.write_text(path.read_text().replace("0.", "1.", 1))
    with pytest.raises(ContractError, match="validation_predictions.csv is missing or changed after its manifest was written: run wf-paragraph-vectors"):
        found.predictions("validation")


def test_a_run_that_scored_other_validation_reviews_is_refused(paragraphs, tmp_path, monkeypatch):
    workdir = paragraphs[0]
    run = find_runs([str(workdir / "runs")])[0]
    other = tmp_path / run.name
    shutil.copytree(run.root, other)
    path = other / "validation_predictions.csv"
    rows = list(csv.reader(path.open()))
    rows[1][0] = "train/pos/not-in-this-workdir_9"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    with pytest.raises(SystemExit, match="has other validation reviews than"):
        tool(monkeypatch, "--paragraph-vectors", paragraph_dir(str(workdir), 0), "--runs", str(other))


def test_several_paragraph_vector_models_are_averaged_before_each_run(paragraphs, workflow_run, tmp_path, monkeypatch):
    workdir = tmp_path / "work"
    shutil.copytree(paragraphs[0], workdir, symlinks=True)
    run_stage(workflow_run, workdir, "paragraph_vectors.seed=1")
    folders = [paragraph_dir(str(workdir), seed) for seed in (0, 1)]
    run = find_runs([str(workdir / "runs")])[0]
    with contextlib.redirect_stdout(io.StringIO()) as printed:  # not capsys: run_here above swapped the streams it captures
        tool(monkeypatch, "--paragraph-vectors", *folders, "--runs", run.root)
    out = printed.getvalue()
    models = [ParagraphOutput(folder).predictions("validation") for folder in folders]
    both = (models[0].probabilities + models[1].probabilities) / 2
    alone = stored([run], "validation")[0]
    assert f"the 2 paragraph-vector models averaged: {np.mean((both > 0.5) == (alone.labels > 0)):.4f}" in out, out
    averaged = np.mean(((alone.probabilities + both) / 2 > 0.5) == (alone.labels > 0))
    assert f"{run.name}: alone {alone.correct.mean():.4f}, averaged {averaged:.4f}" in out, out
    assert "pv-dbow-seed0 alone" in out and "pv-dbow-seed1 alone" in out


def test_a_network_reads_each_reviews_paragraph_vector_from_a_frozen_document_table(paragraphs, workflow_run, tmp_path):
    """model.paragraph_vectors=true: a third head on the document table, whose rows are the stage's vectors standardised
    by the training reviews; the rows stay as they started, every review is scored with its own row, the run's key
    holds the vectors' digest, and no serving model is made (only the corpus's reviews have rows)."""
    workdir = tmp_path / "work"
    shutil.copytree(paragraphs[0], workdir, symlinks=True)  # the module's stays as it was: other tests count its runs
    overrides = ("data=imdb", f"data.path={workflow_archive(workflow_run)}", "preprocess.min_count=1", *WORKFLOW, *SMALL, "embedding=frozen",
                 "model.paragraph_vectors=true")
    with pytest.raises(ContractError, match=r"the paragraph vectors are not this config's \(changed: config\.paragraph_vectors\.epochs "
                                            r"\(2 -> 3\)\): run wf-paragraph-vectors"):
        TrainingInputs.read(typed(compose_config(workdir, *overrides, "paragraph_vectors.epochs=3")))
    output = run_here("train", f"workdir={workdir}", *overrides, cwd=workdir.parent)
    run = RunOutput(str(workdir / "runs" / "frozen-cnn3-word2vec-rownorm-pv0-seed0"))
    assert run.finished, output
    found = ParagraphOutput(paragraph_dir(str(workdir), 0))
    assert run.metrics.identity["inputs"]["paragraph_vectors_sha256"] == found.vectors_sha256
    assert run.serving is None and (Path(run.root) / "export" / "model.keras").exists()

    model = keras.saving.load_model(str(Path(run.root) / "export" / "model.keras"))
    table = keras.ops.convert_to_numpy(model.get_layer(DOCUMENT_EMBEDDING_LAYER).embeddings)
    train = found.vectors("train")
    splits = [found.vectors(split) for split in ("train", "validation", "test")]
    expected = (np.concatenate(splits) - train.mean(axis=0)) / train.std(axis=0)
    assert np.allclose(table[0], 0) and np.allclose(table[1:], expected, atol=1e-5), "frozen: the rows training started from"

    # Each review scored with its own row: its stored probability is the network's on its tokens and that row, and
    # another review's row changes it; training and evaluation find the rows by doc id in tf.data, scoring by a dict:
    # the test accuracy evaluated after training is the stored predictions'.
    stored_test = run.predictions("test")
    assert run.metrics.test.accuracy == pytest.approx(float(stored_test.correct.mean()), abs=1e-9)
    assert run.metrics.test.auc == pytest.approx(auc(stored_test.labels, stored_test.probabilities), abs=1e-3)
    reviews = {doc_id: tokens for doc_id, tokens, _ in data.reviews(PreprocessOutput(str(workdir)).example_files("test"), 800)}
    test_ids = sorted(reviews)
    first = 1 + len(splits[0]) + len(splits[1])  # the test reviews' rows follow the training and validation ones
    for index in (0, len(test_ids) - 1):
        tokens = np.array([reviews[test_ids[index]]], dtype=np.int32)
        mine = float(model({"tokens": tf.constant(tokens), "document": tf.constant([first + index])})[0, 0])
        other = float(model({"tokens": tf.constant(tokens), "document": tf.constant([first + (index + 1) % len(test_ids)])})[0, 0])
        assert stored_test.doc_ids[index] == test_ids[index]
        assert mine == pytest.approx(stored_test.probabilities[index], abs=2e-6) and mine != pytest.approx(other, abs=1e-6)
