"""Benchmark: the n-gram stage on a workdir, and its corpus rewrite (numpy) against a plain Python loop over tokens.

Run ``wf-word2vec`` in the workdir first (with the same overrides: the stage learns beside its token rows). The stage
runs once, in this process, as ``wf-run`` would run it (it publishes ``<workdir>/ngrams/<source>``); reported: its
phases' wall times, gensim's words/s and this process's peak resident memory. Then the corpus rewrite alone,
``--rounds`` times each way, alternating (these machines are noisy: medians), the plain loop on the first
``--loop-mb`` of the corpus only and its time scaled up to the whole; the two must write the same bytes there.

    python benchmarks/ngram_stage_benchmark.py --workdir runs/imdb model.bigram_buckets=1000000 embedding.ngrams=frozen
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import time


from workflow import config as schema
from workflow.compose import compose, load
from workflow.embeddings import ngram_stage
from workflow.embeddings.ngram_corpus import FOLD, KEY_PREFIXES, NEXT, PRIME, AnnotatedCorpus, KeySpace
from workflow.embeddings.ngram_output import table_buckets
from workflow.preprocess.layout import UNK_ID
from workflow.preprocess.output import PreprocessOutput


def python_loop(lines: list[bytes], token_ids: dict[bytes, int], buckets: dict[int, int]) -> bytes:
    """The annotated corpus as a plain loop over tokens writes it (the baseline; the same bytes as AnnotatedCorpus)."""
    out = []
    for line in lines:
        ids = [token_ids.get(token, UNK_ID) for token in line.split()]
        words = []
        for position, token_id in enumerate(ids):
            words.append(str(token_id))
            for order, prefix, start in ((3, "c", position - 1), (2, "b", position)):
                if order in buckets and start >= 0 and start + order <= len(ids):
                    hashed = ids[start]
                    for offset in range(1, order):
                        hashed = (hashed * FOLD + ids[start + offset] * NEXT) % PRIME
                    words.append(f"{prefix}{hashed % buckets[order] + 1}")
        if words:
            out.append(" ".join(words) + "\n")
    return "".join(out).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loop-mb", type=float, default=20.0, help="text the plain loop rewrites (it is scaled to the corpus)")
    parser.add_argument("overrides", nargs="*")
    arguments = parser.parse_args()
    config: schema.Config = load(compose(f"workdir={arguments.workdir}", *arguments.overrides))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    manifest = ngram_stage.run(config)
    print(f"stage: {time.perf_counter() - started:.1f} s (annotate {manifest['durations_s']['annotate']:.1f} s), "
          f"{manifest['words_per_second']:,} words/s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"({before:.0f} MB before it); {ngram_stage.summary(config)}")

    preprocess = PreprocessOutput(config.workdir)
    vocabulary, sources = preprocess.vocabulary(), preprocess.corpus_files()
    keys = KeySpace(len(vocabulary), table_buckets(config))
    total_mb = sum(os.path.getsize(path) for path in sources) / 1e6
    with open(sources[0], "rb") as handle:
        sample = handle.read(int(arguments.loop_mb * 1e6)).rsplit(b"\n", 1)[0].split(b"\n")
    sample_mb = sum(len(line) + 1 for line in sample) / 1e6
    token_ids = {token.encode(): number for number, (token, _) in enumerate(vocabulary)}
    numpy_seconds, loop_seconds = [], []
    for _ in range(arguments.rounds):
        started = time.perf_counter()
        AnnotatedCorpus(vocabulary, keys).write(sources, io.BytesIO())
        numpy_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        looped = python_loop(sample, token_ids, keys.buckets)
        loop_seconds.append((time.perf_counter() - started) * total_mb / sample_mb)
    written = io.BytesIO()
    AnnotatedCorpus(vocabulary, keys).write_text(b"\n".join(sample) + b"\n", written)
    assert written.getvalue() == looped, "the numpy rewrite and the plain loop disagree"
    numpy_median, loop_median = statistics.median(numpy_seconds), statistics.median(loop_seconds)
    tables = ", ".join(f"{KEY_PREFIXES[order].decode()}: {count:,} rows" for order, count in keys.buckets.items())
    print(f"corpus rewrite of {total_mb:.0f} MB ({tables}): "
          f"numpy {numpy_median:.1f} s, plain loop {loop_median:.1f} s (scaled from {sample_mb:.0f} MB), {loop_median / numpy_median:.1f}x; "
          f"medians of {arguments.rounds}, same bytes")


if __name__ == "__main__":
    main()
