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
``probability<TAB>label<TAB>review``.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import os
import re
import sys

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


def read_reviews(texts: list[str], file: str | None) -> list[str]:
    """Reviews from the arguments, then ``file`` ('-' = standard input), or standard input when it is not a terminal."""
    reviews = list(texts)
    if file is None and not reviews and not sys.stdin.isatty():
        file = "-"
    if file is not None:
        handle = sys.stdin if file == "-" else open(file, encoding="utf-8")
        with handle:
            reviews += [line.rstrip("\n") for line in handle if line.strip()]
    return reviews


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="wf-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arguments", nargs="*", help="Hydra overrides (workdir=..., data=...), model=<run folder>, and reviews")
    parser.add_argument("--file", help="a text file with one review per line ('-' for standard input)")
    args = parser.parse_args(argv)
    overrides, model, texts = split_arguments(args.arguments)
    reviews = read_reviews(texts, args.file)
    if not reviews:
        parser.error("give a review as an argument, with --file, or on standard input")
    path = resolve_model(model, overrides)
    print(f"model: {path}", file=sys.stderr)

    from workflow.stderr import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    served = tf.saved_model.load(path)  # keep a reference: its functions use its variables
    outputs = served.serve(tf.constant(reviews))
    for text, probability, label in zip(reviews, outputs["probability"].numpy(), outputs["label"].numpy()):
        print(f"{probability:.4f}\t{'positive' if label else 'negative'}\t{text}")


if __name__ == "__main__":
    main()
