"""``wf-predict``: sentiment of raw text with an exported model, in the same language as the other commands.

    wf-predict "an unexpectedly moving film"                   # newest finetune run of the default workdir
    wf-predict workdir=/runs/imdb "an unexpectedly moving film"
    wf-predict data=imdb --file reviews.txt                    # one review per line ('-': standard input)
    echo "dull" | wf-predict workdir=/runs/imdb                # reviews on standard input
    wf-predict --run /runs/imdb/runs/finetune-cnn3-word2vec-rownorm-seed0 "..."   # a run folder or its export/serving

Arguments of the form ``key=value`` without whitespace whose key is a config
key (``workdir=``, ``data=``...) are Hydra overrides, as for every ``wf-*``
command; every other argument is a review. ``--run`` names the run (its
folder, or its ``export/serving``); ``model=<path>``, its spelling before
``model`` meant only the config group, is read as ``--run <path>``, with a
warning. Without either, the newest finished finetune run of the workdir
with a serving model is used (training/output.py finds it; a network that
reads paragraph vectors has none). The model used is printed on
standard error; standard output has one line per review:
``probability<TAB>label<TAB>review``, the review with its backslashes, tabs,
newlines and carriage returns escaped (``\\\\``, ``\\t``, ``\\n``, ``\\r``) so
that every review is one line of three fields. A review that preprocessing
would reject (no tokens, or a line of the file that is not UTF-8) is not
scored: a warning on standard error names it (``reviews.txt:3``). A file
that cannot be read, and a model whose output is not a number (a training
that diverged), are one ``error:`` line.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
from typing import BinaryIO, NamedTuple

OVERRIDE = re.compile(r"^[~+]{0,2}(?P<root>[A-Za-z_]\w*)[\w.@/-]*=\S*$")  # Hydra's key=value, no whitespace
MODEL_PATH = "model="  # the earlier spelling of --run: a path given to the model config group's key


def split_arguments(arguments: list[str]) -> tuple[list[str], str | None, list[str]]:
    """``(Hydra overrides, run folder named by model=<path> or None, reviews)`` from the positional arguments."""
    from workflow.config import Config

    config_keys = {field.name for field in dataclasses.fields(Config)} | {"hydra"}
    overrides, run, texts = [], None, []
    for argument in arguments:
        override = OVERRIDE.match(argument)
        if override and argument.startswith(MODEL_PATH):
            run = argument.removeprefix(MODEL_PATH)
        elif override and override.group("root") in config_keys:
            overrides.append(argument)
        else:
            texts.append(argument)
    return overrides, run, texts


def serving_model(run: str) -> str:
    """The SavedModel of ``--run``: a run folder's export, or a serving folder itself; SystemExit with one line otherwise."""
    from workflow.training.output import RunOutput

    found = RunOutput(run)
    path = found.serving or run
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        if found.finished and found.metrics.config.get("model", {}).get("paragraph_vectors"):
            sys.exit(f"error: --run {run}: a network that reads paragraph vectors has no serving model (only the corpus's "
                     "reviews have one)")
        sys.exit(f"error: --run {run}: no exported model there (a run folder or its export/serving folder)")
    return path


def newest_finetune_model(overrides: list[str]) -> str:
    """The export of the most recently finished finetune run of the workdir the overrides compose; SystemExit with one
    line when there is none."""
    from workflow.compose import compose
    from workflow.config import EmbeddingMode
    from workflow.training.output import RunOutput

    workdir = compose(*overrides).workdir
    exported = [run for run in RunOutput.in_workdir(workdir) if run.metrics.mode is EmbeddingMode.finetune and run.serving]
    if not exported:
        sys.exit(f"error: no finished finetune run with a serving model under {os.path.join(workdir, 'runs')}: run wf-run "
                 "(or wf-train) first, or name one with --run <run folder>")
    return max(exported, key=lambda run: run.finished_at()).serving


class Review(NamedTuple):
    source: str  # where it came from: "argument 2", "reviews.txt:3", "stdin:3"
    text: str


def read_reviews(texts: list[str], file: str | None) -> tuple[list[Review], list[str]]:
    """``(reviews, warnings)``: the arguments, then the lines of ``file`` ('-' = standard input; standard input too when
    no review is given and it is not a terminal). A line that is not UTF-8 is a warning, not a review; a file that
    cannot be read is a SystemExit with one line."""
    reviews = [Review(f"argument {number}", text) for number, text in enumerate(texts, start=1)]
    if file is None and not reviews and not sys.stdin.isatty():
        file = "-"
    if file is None:
        return reviews, []
    if file == "-":
        return _lines(sys.stdin.buffer, "stdin", reviews)
    if os.path.isdir(file):
        sys.exit(f"error: --file {file}: a folder, not a file of reviews (one a line)")
    try:
        with open(file, "rb") as handle:
            return _lines(handle, file, reviews)
    except OSError as error:
        sys.exit(f"error: --file {file}: {error.strerror}")


def _lines(handle: BinaryIO, name: str, reviews: list[Review]) -> tuple[list[Review], list[str]]:
    warnings = []
    for number, data in enumerate(handle, start=1):
        try:
            text = data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            warnings.append(f"{name}:{number}: not UTF-8 (byte {data[error.start]:#04x} at column {error.start + 1}): not scored")
            continue
        if text.strip():
            reviews.append(Review(f"{name}:{number}", text))
    return reviews, warnings


def tsv_field(text: str) -> str:
    """``text`` as one TSV field: backslash, tab, newline and carriage return escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main(argv: list[str] | None = None) -> None:
    from workflow.training.devices import tensorflow_environment

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: its C++ lines are not this command's output
    tensorflow_environment()  # GPU memory as it is needed
    parser = argparse.ArgumentParser(prog="wf-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arguments", nargs="*", help="Hydra overrides (workdir=..., data=...) and reviews")
    parser.add_argument("--run", help="the run whose model scores the reviews: its folder, or its export/serving folder")
    parser.add_argument("--file", help="a text file with one review per line ('-' for standard input)")
    args = parser.parse_args(argv)
    overrides, model_path, texts = split_arguments(args.arguments)
    if model_path is not None:
        print(f"warning: model={model_path} is read as --run {model_path} (model= names the model config group)", file=sys.stderr)
    reviews, warnings = read_reviews(texts, args.file)
    if not reviews and not warnings:
        parser.error("give a review as an argument, with --file, or on standard input")
    run = args.run or model_path
    path = serving_model(run) if run is not None else newest_finetune_model(overrides)
    print(f"model: {path}", file=sys.stderr)

    from workflow.stderr import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    served = tf.saved_model.load(path)  # keep a reference: its functions use its variables
    if reviews:
        tokens = served.tokenize(tf.constant([review.text for review in reviews])).row_lengths().numpy()
        warnings += [f"{review.source}: no tokens (preprocessing rejects such a review): not scored"
                     for review, count in zip(reviews, tokens) if count == 0]
        reviews = [review for review, count in zip(reviews, tokens) if count > 0]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not reviews:
        sys.exit("error: no review to score")
    outputs = served.serve(tf.constant([review.text for review in reviews]))
    probabilities = outputs["probability"].numpy()
    broken = sum(1 for probability in probabilities if not math.isfinite(probability))
    if broken:
        sys.exit(f"error: {path}: the model's output is not a number for {broken} of {len(reviews)} reviews: its training "
                 "diverged; train it again with a lower trainer.learning_rate")
    for review, probability, label in zip(reviews, probabilities, outputs["label"].numpy()):
        print(f"{probability:.4f}\t{'positive' if label else 'negative'}\t{tsv_field(review.text)}")


if __name__ == "__main__":
    main()
