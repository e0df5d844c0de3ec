"""Calibration: how word2vec's vector quality grows with its corpus, to set the small-corpus warning.

Trains the workflow's word2vec (its config and vocabulary) on the first N
tokens of a workdir's corpus, for several N, and scores each set of vectors
as the word2vec stage does (WordSim-353 Spearman, Google analogies).

    python benchmarks/word2vec_corpus_size.py --workdir /runs/imdb --tokens 500000 1000000 2000000 4000000 8000000

The threshold in ``workflow/embeddings/quality.py`` (``SMALL_CORPUS_TOKENS``)
comes from this table (docs/results.md).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter


from workflow.compose import compose, load
from workflow.embeddings.quality import evaluate
from workflow.embeddings.word2vec import train_word2vec
from workflow.preprocess.layout import PAD, UNK
from workflow.preprocess.output import PreprocessOutput


def corpus_prefix(files: list[str], tokens: int, path: str, min_count: int) -> tuple[int, list[tuple[str, int]]]:
    """Write whole documents from ``files`` to ``path`` until ``tokens`` tokens.

    Returns the tokens written and the prefix's own vocabulary in vocab.tsv's
    shape (``<pad>``, ``<unk>`` holding the tokens below ``min_count``, then by
    count), so that gensim's subsampling and learning-rate schedule see the
    prefix as the word2vec stage would see a corpus of that size.
    """
    counts: Counter[str] = Counter()
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        for name in files:
            with open(name, encoding="utf-8") as handle:
                for line in handle:
                    if written >= tokens:
                        break
                    out.write(line)
                    words = line.split()
                    counts.update(words)
                    written += len(words)
    kept = sorted(((token, count) for token, count in counts.items() if count >= min_count), key=lambda item: (-item[1], item[0]))
    rare = sum(counts.values()) - sum(count for _, count in kept)
    return written, [(PAD, 0), (UNK, rare), *kept]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True, help="a workdir with a finished preprocess/")
    parser.add_argument("--tokens", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. word2vec.workers=1")
    args = parser.parse_args()
    config = load(compose(f"workdir={args.workdir}", *args.overrides))
    preprocess = PreprocessOutput(args.workdir)
    quality = config.word2vec.quality
    print("| corpus tokens | WordSim-353 Spearman | analogy accuracy | training (s) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for tokens in args.tokens:
            path = os.path.join(scratch, "corpus.txt")
            written, vocabulary = corpus_prefix(preprocess.corpus_files(), tokens, path, config.preprocess.min_count)
            started = time.time()
            vectors, _ = train_word2vec(path, vocabulary, config.word2vec)
            seconds = time.time() - started
            scores = evaluate(vectors, list(quality.probes), quality.topn, quality.analogy_restrict_vocab)
            print(f"| {written:,} | {scores['wordsim353']['spearman']} | {scores['analogies']['accuracy']:.3f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
