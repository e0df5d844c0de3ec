"""The whole workflow through its commands: wf-run (and its caching), wf-report, the projector served
by a real TensorBoard, the raw-string model and wf-predict, and a CSV corpus without a test split."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import http.client
import io
import urllib.parse
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from gensim.models import KeyedVectors

from tests import tensorboard_ui
from tests.conftest import SMALL, run_here, run_name, synthetic_reviews, workflow_archive, workflow_reviews, write_aclimdb_archive
from workflow.artifacts import read_json
from workflow.preprocess.output import PreprocessOutput, read_vocab
from workflow.serving import predict
from workflow.text import Tokenizer
from workflow.training import data
from workflow.training.layout import RunLayout
from workflow.training.model import load_classifier

def rerun(workdir: Path, archive: Path, *overrides: str) -> str:
    """wf-run on ``workdir`` (a copy of the session's: tests/conftest.py's workflow_copy) with the session's settings."""
    return run_here("run_all", f"workdir={workdir}", "data=imdb", f"data.path={archive}", "preprocess.min_count=1", *SMALL, *overrides,
                    cwd=workdir.parent)


def test_run_writes_every_stage_and_the_report(workflow_run):
    workdir, output = workflow_run
    report = workdir / "report"
    assert f"Report:      {report / 'results.md'}" in output and f"tensorboard --logdir {workdir}" in output
    with open(report / "results.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(row["mode"], row["seed"]) for row in table] == [("frozen", "0"), ("finetune", "0"), ("random", "0")]
    assert all(0.5 < float(row["test_accuracy"]) <= 1 for row in table if row["mode"] != "frozen")
    results = (report / "results.md").read_text()
    assert re.search(r"\| finetune \| \d+ \| 1 \(0\) \|", results) and "Records read = written + rejected: 503 = 503 + 0 (holds)" in results
    # 7,000 tokens of word2vec corpus: the log and the report say the vectors cannot be worth much, and what to do.
    assert "small corpus: word2vec learned from 0.0 M tokens" in output and "> **Small corpus.** word2vec learned from" in results
    assert "embedding.vectors=/path/to/vectors.txt" in results
    assert re.search(r"\| \d\.\d{4} \([+-]\d+\.\d points\) \|", results), "every run shows its validation-test gap"
    # One seed: each comparison is a difference on 1 seed whose only interval is the bootstrap over test reviews (the synthetic
    # corpus names no films), and no claim.
    assert re.search(r"finetune against random with \d+ labelled reviews: (\d+\.\d points (higher|lower)|the same accuracy) on 1 seed; "
                     r"with one seed the only interval is over test sampling, given these trained models, [+-]\d+\.\d to [+-]\d+\.\d by a "
                     r"bootstrap over 100 test reviews \(finetune − random, points\), and it leaves seed noise out: no claim\.", results)
    assert "resamples test reviews where the predictions name no film" in results
    assert "Configuration 1" not in results, "one configuration: no configuration headings"
    for figure in ("learning_curves.png", "accuracy_per_mode.png"):
        assert (report / figure).read_bytes().startswith(b"\x89PNG")


def test_every_run_stores_its_test_and_validation_predictions_review_by_review(workflow_run):
    """test_predictions.csv and validation_predictions.csv (doc_id, label, probability, film), in doc_id order; the test
    file's accuracy is the run's test accuracy, the validation file's its best validation accuracy (the weights tested)."""
    workdir, _ = workflow_run
    for mode in ("frozen", "finetune", "random"):
        folder = workdir / "runs" / run_name(mode)
        metrics = read_json(str(folder / "metrics.json"))
        for split, expected in (("test", metrics["test"]["accuracy"]), ("validation", metrics["validation_best_accuracy"])):
            with open(folder / f"{split}_predictions.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            assert len(rows) == metrics["examples"][split] and [row["doc_id"] for row in rows] == sorted(row["doc_id"] for row in rows)
            assert all(row["film"] == "" for row in rows), "the synthetic corpus has no url files: no films"
            accuracy = np.mean([(float(row["probability"]) > 0.5) == (row["label"] == "1") for row in rows])
            assert abs(accuracy - expected) <= 1 / len(rows)
        assert metrics["examples"]["test"] == 100


def test_runs_of_another_model_get_a_configuration_of_their_own(workflow_run, workflow_copy):
    """wf-run, then wf-run model=pooling, then a report over every run: two configurations, never a cnn3 and a pooling run
    averaged as two seeds of a mode."""
    workdir = workflow_copy
    rerun(workdir, workflow_archive(workflow_run), "model=pooling", "trainer.epochs=1", f"report.runs=[{workdir / 'runs'}]")
    results = (workdir / "report" / "results.md").read_text()
    with open(workdir / "report" / "results.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert sorted((row["configuration"], row["run"]) for row in table) == sorted(
        [("1", run_name(mode)) for mode in ("frozen", "finetune", "random")] + [("2", run_name(mode, model="pooling")) for mode in ("frozen", "finetune", "random")])
    assert "These runs come from 2 configurations" in results
    headings = re.findall(r"^## (Configuration \d.*)$", results, flags=re.MULTILINE)
    assert len(headings) == 2 and all("`config.model.name=" in heading and "`config.trainer.epochs=" in heading for heading in headings)
    assert "`config.model.name=cnn3`" in headings[0] and "`config.model.name=pooling`" in headings[1]
    assert len(re.findall(r"\| frozen \| \d+ \| 1 \(0\) \|", results)) == 2, "one row per configuration, never 2 (0, 0)"
    assert (workdir / "report" / "accuracy_per_mode-2.png").read_bytes().startswith(b"\x89PNG")
    trained = results.split("### How each mode was trained")[2]
    assert "| frozen | pooling |" in trained and "| frozen | cnn3 |" not in trained



def test_without_validation_the_last_epoch_is_tested_and_said_so(workflow_run, tmp_path):
    """preprocess.validation_fraction=0: every epoch trains, none is selected on a training accuracy, and every place that
    reports (metrics.json, HParams, the report) says the last epoch is tested."""
    workdir = tmp_path / "work"
    run_here("run_all", f"workdir={workdir}", "data=imdb", f"data.path={workflow_archive(workflow_run)}", "preprocess.min_count=1",
             *SMALL, "preprocess.validation_fraction=0", "sweep.modes=[finetune]", "trainer.early_stopping_patience=1", cwd=tmp_path)
    metrics = read_json(str(workdir / "runs" / run_name("finetune") / "metrics.json"))
    assert metrics["examples"]["validation"] == 0 and metrics["selection"] == "no validation: the last epoch is tested"
    assert metrics["validation_best_accuracy"] is None and metrics["best_epoch"] is None
    assert metrics["epochs_run"] == 3 and not metrics["stopped_early"] and "val_accuracy" not in metrics["history"][0]
    events = list((workdir / "runs" / run_name("finetune") / "tensorboard").glob("events.out.tfevents.*"))
    session = b"".join(record.numpy() for events_file in events for record in tf.data.TFRecordDataset(str(events_file)))
    assert b"no validation: the last epoch is tested" in session and b"hparams/validation_accuracy" not in session
    results = (workdir / "report" / "results.md").read_text()
    assert "| no validation: the last epoch is tested | 3 (last) |" in results
    assert "**no validation: the last epoch is tested**" in results



def test_a_run_that_never_scores_test_leaves_test_unscored_in_the_report_too(workflow_copy, workflow_run, tmp_path):
    """trainer.score_test=false (settings still being chosen on validation): the run stores validation predictions
    only, and the report, whose accuracy-by-unseen-share table comes from stored test predictions, scores no test
    review for it (the runs that were tested keep their columns)."""
    untested = "frozen-untested"
    run_here("train", f"workdir={workflow_copy}", "data=imdb", f"data.path={workflow_archive(workflow_run)}", "preprocess.min_count=1",
             *SMALL, "embedding=frozen", "trainer.score_test=false", f"trainer.run_name={untested}", cwd=tmp_path)
    run = workflow_copy / "runs" / untested
    assert read_json(str(run / "metrics.json"))["test"] is None
    assert (run / "validation_predictions.csv").exists() and not (run / "test_predictions.csv").exists()
    before = read_json(str(workflow_copy / "report" / "insight.json"))["accuracy_by_unseen_share"]
    run_here("report", f"workdir={workflow_copy}", cwd=tmp_path)
    after = read_json(str(workflow_copy / "report" / "insight.json"))["accuracy_by_unseen_share"]
    assert all("configuration 2" not in column for bucket in after["buckets"] for column in bucket), "the untested run has no column"
    assert [[value for _, value in sorted(bucket.items())] for bucket in after["buckets"]] == \
           [[value for _, value in sorted(bucket.items())] for bucket in before["buckets"]], "the tested runs' columns as before"
    for tested in (workflow_copy / "runs").iterdir():
        if tested.name != untested:
            shutil.rmtree(tested)
    run_here("report", f"workdir={workflow_copy}", cwd=tmp_path)
    assert "accuracy_by_unseen_share" not in read_json(str(workflow_copy / "report" / "insight.json"))


def test_insight_answers_from_the_run(workflow_run):
    workdir, _ = workflow_run
    insight = read_json(str(workdir / "report" / "insight.json"))
    vocabulary = [token for token, _ in read_vocab(str(workdir / "preprocess" / "vocab.tsv"))]
    example = insight["example"]["after"]
    assert all(vocabulary[row["id"]] == row["token"] for row in example) and len(example) == 12
    assert insight["one_hot_max_difference"] < 1e-6
    moved = insight["moved"]
    assert moved["seen_moved"] > 0.9 * moved["seen_tokens"]
    assert moved["unseen_tokens"] >= 4 and moved["unseen_moved"] == 0, "rows of tokens absent from labelled training data get no gradient"
    assert set(insight["neighbours"]) == {"good", "bad", "great", "awful", "boring", "funny", "plot", "music"}
    buckets = insight["accuracy_by_unseen_share"]["buckets"]
    assert sum(bucket["reviews"] for bucket in buckets) == 100
    assert set(buckets[0]) == {"unseen_share", "reviews", "frozen", "finetune", "random"}


def test_second_run_reuses_everything_and_settings_that_cannot_change_a_result_reuse_too(workflow_run, workflow_copy):
    workdir = workflow_copy
    again = rerun(workdir, workflow_archive(workflow_run), "trainer.log_every_steps=7", "trainer.checkpoint_every_steps=11",
                  "word2vec.quality.topn=3", "report.neighbours=4")
    assert "preprocess   skipped (up to date)" in again and "word2vec     skipped (up to date)" in again
    assert "word2vec     quality.json re-evaluated (word2vec.quality changed; the vectors kept)" in again
    assert again.count("already finished with this configuration and these inputs") == 3
    assert len(read_json(str(workdir / "word2vec" / "quality.json"))["neighbours"]["plot"]) == 3



def test_wf_train_then_wf_run_reuses_the_run(workflow_run, workflow_copy):
    workdir = workflow_copy
    shutil.rmtree(workdir / "runs" / run_name("frozen"))
    trained = run_here("train", f"workdir={workdir}", *SMALL, "embedding=frozen", cwd=workdir.parent)
    assert "done in" in trained
    again = rerun(workdir, workflow_archive(workflow_run), "sweep.modes=[frozen]")
    assert "already finished with this configuration and these inputs" in again
    assert "holds a finished run of another configuration" not in again



def test_a_word2vec_change_reruns_what_depends_on_it_and_keeps_the_old_runs(workflow_run, workflow_copy):
    workdir = workflow_copy
    changed = rerun(workdir, workflow_archive(workflow_run), "word2vec.vector_size=8", "sweep.modes=[finetune,random]")
    assert "preprocess   skipped (up to date)" in changed
    assert re.search(r"^word2vec     done in \d+\.\d s \(\d+ x 8 matrix; .*; changed: config\.word2vec\.vector_size \(16 -> 8\)\)$", changed,
                     flags=re.MULTILINE), "the stage line says why it ran"
    # finetune reads the new matrix; random's dimension follows word2vec.vector_size
    assert changed.count("holds a finished run of another configuration") == 2
    assert len(list((workdir / "kept-runs").iterdir())) == 2, "finished runs are kept, never deleted"
    assert np.load(workdir / "word2vec" / "embedding_matrix.npy").shape[1] == 8
    for mode in ("finetune", "random"):
        assert read_json(str(workdir / "runs" / run_name(mode) / "metrics.json"))["identity"]["embedding_dim"] == 8



def fetch(url: str) -> bytes:
    """GET from the local TensorBoard (127.0.0.1 only; nothing leaves the machine)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}" if parts.query else parts.path)
        response = connection.getresponse()
        assert response.status == 200, f"{url}: HTTP {response.status}"
        return response.read()
    finally:
        connection.close()


def test_tensorboard_serves_the_projector_tables(workflow_run):
    workdir, _ = workflow_run
    with tensorboard_ui.tensorboard(workdir) as base:
        runs = json.loads(fetch(base + "data/plugin/projector/runs"))
        assert "report/projector" in runs
        run = urllib.parse.quote("report/projector")
        info = json.loads(fetch(f"{base}data/plugin/projector/info?run={run}"))
        shapes = {embedding["tensorName"]: embedding["tensorShape"] for embedding in info["embeddings"]}
        names = ["word2vec", run_name("frozen"), run_name("finetune"), run_name("random")]
        dim = np.load(workdir / "word2vec" / "embedding_matrix.npy").shape[1]
        assert shapes == {name: [40, dim] for name in names}  # the names a person reads in the tensor menu
        finetuned = np.frombuffer(fetch(f"{base}data/plugin/projector/tensor?run={run}&name={urllib.parse.quote(run_name('finetune'))}&num_rows=40"), dtype=np.float32)
        table = load_classifier(RunLayout(str(workdir / "runs" / run_name("finetune"))).export).get_layer("embedding").embeddings.numpy()
        np.testing.assert_array_equal(finetuned.reshape(40, dim), table[2:42])
        metadata = {name: list(csv.DictReader(io.StringIO(fetch(f"{base}data/plugin/projector/metadata?run={run}&name="
                                                                 f"{urllib.parse.quote(name)}").decode()), delimiter="\t"))
                    for name in names}
        scalars = json.loads(fetch(base + "data/plugin/scalars/tags"))
        assert "epoch_accuracy" in scalars[f"runs/{run_name('finetune')}/tensorboard/validation"]
    check_projector_metadata(workdir, metadata)


def check_projector_metadata(workdir: Path, metadata: dict[str, list[dict[str, str]]]) -> None:
    """Each table's metadata as the plugin serves it, against what the workdir's own files say."""
    vocabulary = read_vocab(str(workdir / "preprocess" / "vocab.tsv"))
    # NBSVM's log-count ratio, recomputed here from the labelled training reviews (every label: no budget in this sweep).
    positive, negative = np.zeros(len(vocabulary)), np.zeros(len(vocabulary))
    for ids, label in data.split_examples(PreprocessOutput(str(workdir)).example_files("train"), 1 << 30):
        (positive if float(label) > 0.5 else negative)[np.unique(ids.numpy())] += 1
    p, q = positive + 1, negative + 1
    polarity = (np.log(p / p.sum()) - np.log(q / q.sum()))[2:42]
    matrix = np.load(workdir / "word2vec" / "embedding_matrix.npy")
    tables = {mode: load_classifier(RunLayout(str(workdir / "runs" / run_name(mode))).export).get_layer("embedding").embeddings.numpy()
              for mode in ("frozen", "finetune", "random")}
    random_start = keras.ops.convert_to_numpy(keras.initializers.RandomUniform(-0.05, 0.05, seed=0)(matrix.shape))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)  # the default scale, row: every row at a random row's norm
    rescaled_start = matrix * 0.05 * np.sqrt(matrix.shape[1] / 3) / np.where(norms > 0, norms, 1)
    moved = {"frozen": np.zeros(40), "finetune": np.linalg.norm(tables["finetune"] - rescaled_start, axis=1)[2:42],
             "random": np.linalg.norm(tables["random"] - random_start, axis=1)[2:42]}
    moved["word2vec"] = moved["finetune"]  # the vectors carry what fine-tuning did to them
    for name, rows in metadata.items():
        assert list(rows[0]) == ["token", "count", "polarity", "in_labelled_training", "moved"], name
        assert [(row["token"], int(row["count"])) for row in rows] == vocabulary[2:42], name
        np.testing.assert_allclose([float(row["polarity"]) for row in rows], polarity, atol=5e-5, err_msg=name)
        assert [row["in_labelled_training"] for row in rows] == [str(int(found)) for found in (positive + negative)[2:42] > 0], name
        mode = name.split("-", 1)[0] if name != "word2vec" else name
        np.testing.assert_allclose([float(row["moved"]) for row in rows], moved[mode], rtol=5e-4, err_msg=name)
    assert all(row["moved"] == "0" for row in metadata[run_name("frozen")]) and min(moved["finetune"]) > 0 and min(moved["random"]) > 0


def test_the_projector_tab_shows_a_person_the_tables_by_name_with_their_labels(workflow_run, tmp_path):
    """Headless Chromium on TensorBoard's projector tab: what a person reads, the metadata columns offered to colour by,
    and a screenshot coloured by polarity."""
    reason = tensorboard_ui.missing_browser()
    if reason:
        pytest.skip(reason)
    workdir, _ = workflow_run
    vocabulary = [token for token, _ in read_vocab(str(workdir / "preprocess" / "vocab.tsv"))[2:42]]
    dim = np.load(workdir / "word2vec" / "embedding_matrix.npy").shape[1]
    screenshot = tmp_path / "projector.png"
    view = tensorboard_ui.view_projector(workdir / "report", vocabulary[0], screenshot, color_by="polarity")
    names = ["word2vec", run_name("frozen"), run_name("finetune"), run_name("random")]
    assert view.tensors_found == 4
    assert view.tensor_menu == {name: f"40x{dim}" for name in names}
    assert (view.points, view.dimension) == (40, dim)
    columns = ["token", "count", "polarity", "in_labelled_training", "moved"]
    assert view.label_fields == columns
    # The columns a person colours by. The projector offers a column that is numeric or has at most 50 distinct values
    # (TensorBoard 2.21): with 40 points, the token column too.
    assert set(columns[1:]) <= set(view.color_fields) <= set(columns), view.color_fields
    assert view.colored_by == "polarity"
    assert sorted(view.matches) == sorted(token for token in vocabulary if vocabulary[0] in token)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000


def test_exported_text_model_and_wf_predict(workflow_run, tmp_path, capsys):
    workdir, _ = workflow_run
    layout = RunLayout(str(workdir / "runs" / run_name("finetune")))
    served = tf.saved_model.load(layout.serving)
    texts = ["A superb, moving film.<br />Wonderful!", "Dreadful, tedious and dull", "Unknownword only"]
    probabilities = served.serve(tf.constant(texts))["probability"].numpy()
    vocabulary = {token: index for index, (token, _) in enumerate(read_vocab(str(workdir / "preprocess" / "vocab.tsv")))}
    ids = [[vocabulary.get(token, 1) for token in Tokenizer()(text)] for text in texts]
    batch = np.zeros((len(ids), max(map(len, ids))), dtype=np.int32)
    for row, sequence in enumerate(ids):
        batch[row, : len(sequence)] = sequence
    np.testing.assert_allclose(probabilities, load_classifier(layout.export)(batch).numpy()[:, 0], rtol=1e-5)
    assert probabilities[0] > 0.5 > probabilities[1]
    # The export stands alone: it names no file of the workdir (the vocabulary travels inside it), and served from a copy
    # elsewhere it gives the same probabilities.
    workdir_path = str(workdir).encode()
    assert not [path for path in Path(layout.serving).rglob("*") if path.is_file() and workdir_path in path.read_bytes()]
    standalone = tmp_path / "serving"
    shutil.copytree(layout.serving, standalone)
    status, out, err = predict_here(capsys, "--run", str(standalone), texts[0], texts[1])
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2, err[-2000:]
    assert lines[0].split("\t")[1] == "positive" and lines[1].split("\t")[1] == "negative"
    assert float(lines[0].split("\t")[0]) == pytest.approx(float(probabilities[0]), abs=1e-4)
    # The serving model's own tokenizer and vocabulary give the ids the Python side computed.
    served_tokens = [[token.decode() for token in row] for row in served.tokenize(tf.constant(texts)).to_list()]
    assert served_tokens == [Tokenizer()(text) for text in texts]



def predict_here(capsys, *arguments: str) -> tuple[int, str, str]:
    """wf-predict in this process: (exit status, standard output, standard error)."""
    capsys.readouterr()
    try:
        predict.main(list(arguments))
        status = 0
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    out, err = capsys.readouterr()
    return status, out, err


def wf_predict(*arguments: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workflow.serving.predict", *arguments], input=stdin,
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_wf_predict_speaks_the_workflow_language(workflow_run, capsys):
    workdir, _ = workflow_run
    served = workdir / "runs" / run_name("finetune") / "export" / "serving"
    # A process of its own, reviews on standard input: the model it found on standard error, and nothing else there
    # (TensorFlow's C++ start-up lines included).
    piped = wf_predict(f"workdir={workdir}", cwd=workdir.parent, stdin="dreadful and dull\nsuperb\n")
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert piped.stderr.splitlines() == [f"model: {served}"], "which model, and nothing from TensorFlow's C++ logging"
    assert [line.split("\t")[1:] for line in piped.stdout.splitlines()] == [["negative", "dreadful and dull"], ["positive", "superb"]]
    status, out, _ = predict_here(capsys, f"workdir={workdir}", "superb and moving")
    assert status == 0 and out.splitlines()[0].endswith("\tpositive\tsuperb and moving")
    status, out, err = predict_here(capsys, f"model={served.parent.parent}", "a=b is a review, not an override")
    assert status == 0 and out.splitlines()[0].endswith("\ta=b is a review, not an override")
    assert err.startswith(f"warning: model={served.parent.parent} is read as --run"), "model= names the config group: said once"
    status, _, err = predict_here(capsys, f"workdir={workdir / 'nowhere'}", "text")
    assert status == 1 and err.startswith("error: no finished finetune run with a serving model under")







def test_csv_without_test_split_gets_one_and_a_report(tmp_path):
    rng = random.Random(3)
    reviews = synthetic_reviews(100, 0, 0, seed=3)
    rows = [{"id": f"r{index}", "review": text.decode(), "sentiment": "positive" if "/pos/" in name else "negative"}
            for index, (name, text) in enumerate(sorted(reviews.items(), key=lambda item: rng.random()))]
    corpus = tmp_path / "reviews.csv"
    with open(corpus, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "review", "sentiment"])
        writer.writeheader()
        writer.writerows(rows)
    workdir = tmp_path / "work"
    run_here("run_all", f"workdir={workdir}", "data=csv", f"data.path={corpus}", "data.text_field=review", "data.label_field=sentiment",
             "data.id_field=id", "preprocess.min_count=1", *SMALL, "sweep.modes=[finetune]", "trainer.epochs=1", cwd=tmp_path)
    splits = read_json(str(workdir / "preprocess" / "stats.json"))["splits"]
    assert 20 <= splits["test"]["records_written"] <= 60, "about 20% of 200 rows become the test split"
    assert splits["train"]["records_written"] + splits["validation"]["records_written"] + splits["test"]["records_written"] == 200
    metrics = read_json(str(workdir / "runs" / run_name("finetune") / "metrics.json"))
    assert metrics["test"]["examples"] == splits["test"]["records_written"]
    assert (workdir / "report" / "results.md").exists()


def test_the_sweep_through_hydras_joblib_launcher_matches_the_sequential_one_and_survives_a_failed_job(workflow_run, tmp_path):
    """hydra/launcher=joblib, 2 jobs at a time: each job in a process of its own with a log of its own, a job that
    fails does not stop the others, a run equals the one wf-run trained in its own process (workflow_run), and
    wf-report finds the runs of the sweep's Hydra multirun folder."""
    workdir, _ = workflow_run
    copy = tmp_path / "work"
    for stage in ("preprocess", "word2vec"):
        shutil.copytree(workdir / stage, copy / stage)
    (copy / "runs" / run_name("finetune")).mkdir(parents=True)  # a run folder left corrupt by something else: that job fails
    (copy / "runs" / run_name("finetune") / "identity.json").write_text("{")
    process = subprocess.run([sys.executable, "-c", "from workflow.cli import run_all; run_all()", f"workdir={copy}", "data=imdb",
                              f"data.path={workflow_archive(workflow_run)}", "preprocess.min_count=1", *SMALL, "sweep.modes=[finetune,random]",
                              "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = process.stdout + process.stderr
    assert process.returncode == 1, output[-3000:]
    assert "word2vec     skipped (up to date)" in output
    # Hydra's own lines and the sweep's command line: the log file; jobs side by side show lines, not bars.
    log = Path(re.search(r"^Log: +(\S+)$", output, flags=re.MULTILINE).group(1)).read_text()
    assert "Joblib.Parallel(n_jobs=2" in log and "Joblib.Parallel" not in output
    assert re.search(r"training sweep: wf-train -m .* terminal\.progress=lines ", log)
    sequential = read_json(str(workdir / "runs" / run_name("random") / "metrics.json"))
    parallel = read_json(str(copy / "runs" / run_name("random") / "metrics.json"))
    assert parallel["identity"] == sequential["identity"] and parallel["test"] == sequential["test"]
    results = (copy / "report" / "results.md").read_text()
    assert re.search(r"\| random \| \d+ \| 1 \(0\) \|", results) and "## Failed runs" in results
    sweep_dir = Path(re.search(r"their logs: (\S+)/<run name>", output).group(1))
    processes = set()
    for mode in ("finetune", "random"):
        job_log = sweep_dir / run_name(mode) / "train.log"
        text = job_log.read_text()
        processes.add(re.search(rf"training {run_name(mode)} in process (\d+)", text).group(1))
        if mode == "finetune":
            assert "JSONDecodeError" in text and f"`{job_log}`" in results and f"Failed:      {run_name(mode)}: {job_log}" in output
    assert len(processes) == 2
    # The sweep's folder is a Hydra multirun folder (each job's .hydra/config.yaml): wf-report finds the run that finished.
    (copy / "report" / "results.csv").unlink()
    run_here("report", f"workdir={copy}", *SMALL, f"report.runs=[{sweep_dir}]", cwd=tmp_path)
    with open(copy / "report" / "results.csv", newline="") as handle:
        assert [row["run"] for row in csv.DictReader(handle)] == [run_name("random")]



def test_a_label_budget_sweep_leads_the_report_with_accuracy_against_labelled_reviews(workflow_run, workflow_copy):
    """Budgets of 40 and all: the all-label runs are re-used, the 40-label ones train, and the report compares the two."""
    workdir = workflow_copy
    again = rerun(workdir, workflow_archive(workflow_run), "sweep.modes=[finetune,random]", "sweep.label_budgets=[40,null]")
    assert again.count("already finished with this configuration and these inputs") == 2
    for mode in ("finetune", "random"):
        assert read_json(str(workdir / "runs" / run_name(mode, labels=40) / "metrics.json"))["examples"]["train"] == 40
    results = (workdir / "report" / "results.md").read_text()
    assert results.index("## Test accuracy against labelled reviews") < results.index("## Test accuracy per mode")
    assert re.search(r"\| 40 \| \d\.\d{4} ± 0\.0000 \| \d\.\d{4} ± 0\.0000 \|", results)
    # Per budget, a paired difference with its interval (the bootstrap alone: one seed), and no claim from one seed.
    assert re.search(r"\| 40 \| finetune − random \| 1 \| [+-]\d+\.\d \| n/a \| [+-]\d+\.\d to [+-]\d+\.\d \(100 reviews\) \| n/a \|", results)
    assert re.search(r"finetune against random with 40 labelled reviews: .* on 1 seed; with one seed the only interval is over test "
                     r"sampling", results)
    assert "The labelled reviews of a budget are the same for every seed" in results
    assert "With 40 labelled training reviews" in results, "accuracy by unseen share, per budget"
    assert (workdir / "report" / "accuracy_per_label_budget.png").read_bytes().startswith(b"\x89PNG")



def test_a_sweep_compares_vector_sources_in_one_report(workflow_run, workflow_copy, tmp_path):
    """sweep.vectors=[null, a GloVe file]: the import gets a folder of its own beside word2vec/ (its format told from
    the file), the word2vec run is re-used, the imported source's run trains from its own matrix, and the report
    compares the arms by source."""
    workdir = workflow_copy
    vectors = KeyedVectors.load_word2vec_format(str(workdir / "word2vec" / "vectors.bin"), binary=True)
    vectors.vectors = -vectors.vectors  # the same words, other values
    path = tmp_path / "flipped.16d.txt"
    vectors.save_word2vec_format(str(path), binary=False, write_header=False)
    again = rerun(workdir, workflow_archive(workflow_run), "sweep.modes=[finetune]", f"sweep.vectors=[null,'{path}']")
    assert "word2vec     skipped (up to date)" in again and re.search(rf"^vectors {re.escape(str(path))} done in ", again, flags=re.MULTILINE)
    assert again.count("already finished with this configuration and these inputs") == 1
    imported = read_json(str(workdir / "imported" / "flipped.16d" / "manifest.json"))
    assert imported["inputs"]["vectors"]["format"] == "glove" and imported["inputs"]["vectors"]["path"] == str(path)
    metrics = read_json(str(workdir / "runs" / "finetune-cnn3-flipped.16d-rownorm-seed0" / "metrics.json"))
    word2vec = read_json(str(workdir / "word2vec" / "manifest.json"))
    assert metrics["vector_source"] == "flipped.16d"
    assert metrics["identity"]["inputs"]["matrix_sha256"] == imported["outputs"]["matrix_sha256"] != word2vec["outputs"]["matrix_sha256"]
    results = (workdir / "report" / "results.md").read_text()
    assert re.search(r"\| finetune \(flipped\.16d\) \| [\d,]+ \| 1 \(0\) \|", results)
    assert re.search(r"\| finetune \(word2vec\) \| [\d,]+ \| 1 \(0\) \|", results)



def test_changed_test_reviews_retrain_and_retest(workflow_copy, tmp_path):
    """Test reviews are not training-side text: the vocabulary and word2vec stay; the runs re-train and re-test."""
    workdir = workflow_copy
    reviews = workflow_reviews()
    flipped = {name.replace("/pos/", "/tmp/").replace("/neg/", "/pos/").replace("/tmp/", "/neg/") if "/test/" in name else name: text
               for name, text in reviews.items()}
    before = read_json(str(workdir / "runs" / run_name("finetune") / "metrics.json"))
    again = rerun(workdir, write_aclimdb_archive(tmp_path / "synthetic.tar.gz", flipped), "sweep.modes=[finetune]")
    assert re.search(r"^preprocess   done in .*; changed: .*inputs\.sha256", again, flags=re.MULTILINE)
    assert "word2vec     skipped (up to date)" in again
    assert again.count("holds a finished run of another configuration (changed: inputs.examples_sha256") == 1
    after = read_json(str(workdir / "runs" / run_name("finetune") / "metrics.json"))
    assert after["identity"]["inputs"]["examples_sha256"] != before["identity"]["inputs"]["examples_sha256"]
    assert after["test"]["accuracy"] < 0.5 < before["test"]["accuracy"], "tested on the new (label-flipped) test reviews"
