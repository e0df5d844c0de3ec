"""``wf-predict``: sentiment of raw text with an exported model (no preprocessing folder needed).

    wf-predict "an unexpectedly moving film"
    wf-predict --file reviews.txt            # one review per line
    wf-predict --model runs/imdb/runs/finetune-seed0/export/serving "..."
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def newest_model(root: str = "runs") -> str | None:
    """The most recently exported finetune model under ``root`` (the default of --model)."""
    candidates = glob.glob(os.path.join(root, "**", "runs", "finetune-*", "export", "serving"), recursive=True)
    return max(candidates, key=os.path.getmtime) if candidates else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="wf-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", nargs="*", help="reviews to score")
    parser.add_argument("--file", help="a text file with one review per line ('-' for standard input)")
    parser.add_argument("--model", help="an export/serving folder (default: the newest finetune run under ./runs)")
    args = parser.parse_args(argv)
    texts = list(args.texts)
    if args.file:
        handle = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with handle:
            texts += [line.rstrip("\n") for line in handle if line.strip()]
    if not texts:
        parser.error("give a review as an argument or --file")
    model_path = args.model or newest_model()
    if model_path is None or not os.path.exists(os.path.join(model_path, "saved_model.pb")):
        parser.error(f"no exported model at {model_path or './runs/**/export/serving'}: run wf-train (or wf-run) first, or pass --model")

    import tensorflow as tf

    model = tf.saved_model.load(model_path)
    outputs = model.serve(tf.constant(texts))
    for text, probability, label in zip(texts, outputs["probability"].numpy(), outputs["label"].numpy()):
        print(f"{probability:.4f}\t{'positive' if label else 'negative'}\t{text}")


if __name__ == "__main__":
    main()
