"""Benchmark: the word2vec stage against a bare gensim call on the same corpus file.

Both train with the same parameters from the preprocessing corpus of the
given workdir (run ``wf-preprocess`` there first). The bare call is
``Word2Vec(corpus_file=..., ...)``, which scans the corpus for its vocabulary
and trains; the stage reuses vocab.tsv's counts instead. Reported: words/s
of each (corpus words x epochs / wall time of the call), the ratio (target
>= 0.9), and the stage's quality figures.

    python benchmarks/word2vec_benchmark.py --workdir /tmp/imdb
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from gensim.models import Word2Vec

from workflow import config as schema
from workflow.artifacts import read_json
from workflow.compose import compose, load
from workflow.embeddings import stage
from workflow.embeddings.output import Word2VecOutput
from workflow.preprocess.output import PreprocessOutput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. word2vec.sg=1")
    args = parser.parse_args()

    cfg = compose(f"workdir={args.workdir}", *args.overrides)
    config: schema.Config = load(cfg)
    settings = config.word2vec
    preprocess = PreprocessOutput(args.workdir)
    total_words = sum(count for _, count in preprocess.vocabulary())
    work = total_words * settings.epochs

    stage_rates, bare_rates = [], []
    with tempfile.TemporaryDirectory() as scratch:
        corpus = os.path.join(scratch, "corpus.txt")
        stage.concatenate_corpus(preprocess.corpus_files(), corpus)
        for _ in range(args.repeats):
            started = time.perf_counter()
            Word2Vec(
                corpus_file=corpus, vector_size=settings.vector_size, window=settings.window, sg=settings.sg,
                negative=settings.negative, sample=settings.sample, alpha=settings.alpha, epochs=settings.epochs,
                min_count=config.preprocess.min_count, workers=settings.workers, seed=settings.seed,
            )
            bare_rates.append(work / (time.perf_counter() - started))
            manifest = stage.run(config)
            stage_rates.append(manifest["inputs"]["vectors"]["words_per_second"])
    layout = Word2VecOutput(args.workdir).layout
    quality, coverage = read_json(layout.quality), read_json(layout.coverage)
    result = {
        "corpus_words": total_words,
        "epochs": settings.epochs,
        "bare_gensim_words_per_s": round(statistics.median(bare_rates)),
        "stage_words_per_s": round(statistics.median(stage_rates)),
        "ratio": round(statistics.median(stage_rates) / statistics.median(bare_rates), 3),
        "stage_total_s": manifest["durations_s"]["total"],
        "analogy_accuracy": quality["analogies"]["accuracy"],
        "analogies_scored": quality["analogies"]["scored"],
        "analogies_oov": quality["analogies"]["out_of_vocabulary"],
        "wordsim353_spearman": quality["wordsim353"]["spearman"],
        "wordsim353_oov_percent": quality["wordsim353"]["out_of_vocabulary_percent"],
        "token_coverage": coverage["token_coverage"],
        "neighbours": {word: [w for w, _ in (similar or [])][:5] for word, similar in quality["neighbours"].items()},
        "overrides": args.overrides,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
