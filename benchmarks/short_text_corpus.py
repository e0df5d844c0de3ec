"""A short-text labelled corpus from what is at hand: the first sentence of IMDB reviews, with their labels.

Pretrained vectors behave differently on short texts and small corpora (issue
22: word2vec trained on 10,000 short reviews has rows of norm 0.3 to 6, and
fine-tuning from them scored below random initialisation). Nothing can be
downloaded, so this derives such a corpus from the aclImdb archive: the first
sentence (up to the first ., ! or ? followed by a space; <br /> tags removed)
of ``--train`` training reviews and ``--test`` test reviews, drawn with a
fixed seed, written as ``train.csv`` and ``test.csv`` (id, text, label)::

    python benchmarks/short_text_corpus.py --archive ../shared/data/aclImdb_v1.tar.gz --out /tmp/short
    wf-run data=csv data.path=/tmp/short/train.csv data.splits.test=/tmp/short/test.csv data.id_field=id workdir=/tmp/short/runs
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import tarfile

MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_\d+\.txt$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def first_sentence(review: str) -> str:
    text = re.sub(r"<br\s*/?>", " ", review).strip()
    return SENTENCE_END.split(text, maxsplit=1)[0].strip()


def read_first_sentences(archive: str) -> dict[str, list[tuple[str, str, int]]]:
    """{"train"|"test": [(id, first sentence, label)]}, in archive order."""
    found: dict[str, list[tuple[str, str, int]]] = {"train": [], "test": []}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            match = MEMBER.search(member.name)
            if match:
                split, polarity, number = match.groups()
                review = tar.extractfile(member).read().decode("utf-8")
                found[split].append((f"{split}-{polarity}-{number}", first_sentence(review), int(polarity == "pos")))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    os.makedirs(arguments.out, exist_ok=True)
    rows = read_first_sentences(arguments.archive)
    for split, count in (("train", arguments.train), ("test", arguments.test)):
        chosen = sorted(random.Random(arguments.seed).sample(rows[split], count))
        with open(os.path.join(arguments.out, f"{split}.csv"), "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["id", "text", "label"])
            writer.writerows(chosen)
        words = sum(len(text.split()) for _, text, _ in chosen) / count
        print(f"{split}: {count} sentences, {words:.1f} words on average -> {out.name}")


if __name__ == "__main__":
    main()
