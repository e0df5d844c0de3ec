"""``wf-predict``: sentiment of raw text with an exported model, in the same language as the other commands.

    wf-predict "an unexpectedly moving film"                   # newest finetune run of the default workdir
    wf-predict workdir=/runs/imdb "an unexpectedly moving film"
    wf-predict data=imdb --file reviews.txt                    # one review per line ('-': standard input)
    echo "dull" | wf-predict workdir=/runs/imdb                # reviews on standard input
    wf-predict model=/runs/imdb/runs/finetune-cnn3-word2vec-rownorm-seed0 "..."   # a run folder or its export/serving

Arguments of the form ``key=value`` without whitespace whose key is a config
key (``workdir=``, ``data=``...) are Hydra overrides, as for every ``wf-*``
command, except ``model=``, which names the model; every other argument is a
review. The model used is printed on
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
import glob
import math
import os
import re
import sys
from typing import BinaryIO, NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OVERRIDE = re.compile(r"^[~+]{0,2}(?P<root>[A-Za-z_]\w*)[\w.@/-]*=\S*$")  # Hydra's key=value, no whitespace
SERVING = os.path.join("export", "serving")


def split_arguments(arguments: list[str]) -> tuple[list[str], str | None, list[str]]:
    """``(Hydra overrides, model path or None, reviews)`` from the positional arguments."""
    from workflow.config import Config

    config_keys = {field.name for field in dataclasses.fields(Config)} | {"hydra"}
    overrides, model, texts = [], None, []
    for argument in arguments:
        override = OVERRIDE.match(argument)
        if override and argument.startswith("model="):
            model = argument.split("=", 1)[1]
        elif override and override.group("root") in config_keys:
            overrides.append(argument)
        else:
            texts.append(argument)
    return overrides, model, texts


def newest_finetune_model(workdir: str) -> str | None:
    """The export of the most recently finished finetune run under ``<workdir>/runs``."""
    finished = glob.glob(os.path.join(workdir, "runs", "finetune-*", "metrics.json"))
    exported = [os.path.dirname(path) for path in finished if os.path.exists(os.path.join(os.path.dirname(path), SERVING, "saved_model.pb"))]
    return os.path.join(max(exported, key=lambda run: os.path.getmtime(os.path.join(run, "metrics.json"))), SERVING) if exported else None


def resolve_model(model: str | None, overrides: list[str]) -> str:
    """The serving folder to load; SystemExit with one line when there is none."""
    if model is not None:
        path = os.path.join(model, SERVING) if os.path.isdir(os.path.join(model, SERVING)) else model
        if not os.path.exists(os.path.join(path, "saved_model.pb")):
            sys.exit(f"error: model={model}: no exported model there (a run folder or its {SERVING} folder)")
        return path
    from workflow.cli import compose
    from workflow.config import register

    register()
    workdir = compose(*overrides).workdir
    path = newest_finetune_model(workdir)
    if path is None:
        sys.exit(f"error: no finished finetune run under {os.path.join(workdir, 'runs')}: run wf-run (or wf-train) first, "
                 "or name one with model=<run folder>")
    return path


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
    parser = argparse.ArgumentParser(prog="wf-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arguments", nargs="*", help="Hydra overrides (workdir=..., data=...), model=<run folder>, and reviews")
    parser.add_argument("--file", help="a text file with one review per line ('-' for standard input)")
    args = parser.parse_args(argv)
    overrides, model, texts = split_arguments(args.arguments)
    reviews, warnings = read_reviews(texts, args.file)
    if not reviews and not warnings:
        parser.error("give a review as an argument, with --file, or on standard input")
    path = resolve_model(model, overrides)
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
