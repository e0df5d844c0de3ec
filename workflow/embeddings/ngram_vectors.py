"""Vectors for hashed n-gram rows: gensim word2vec on the annotated corpus, the token rows held fixed.

In the classifier the n-gram rows join the token rows in one bag, averaged
under one output unit (training/model.py), so their vectors must live in the
token rows' space: a bag of vectors from two unrelated word2vec runs would be
read through one set of weights. So the token keys of the annotated corpus
start at the vector source's token rows (embedding_matrix.npy: word2vec on the
corpus, or imported) and stay there (gensim's per-key ``vectors_lockf`` of 0),
while the n-gram keys learn: the output layer fits the fixed token rows, and
each n-gram's vector is learned against that same output layer, next to the
tokens whose contexts it shares.

The token rows are those of every vocabulary id the corpus has, ``<pad>`` and
``<unk>`` aside (``<unk>`` is no word here, as in the word2vec stage); the
n-gram keys those of every bucket seen ``ngrams.min_count`` times or more.
"""

from __future__ import annotations

import numpy as np
from gensim.models import Word2Vec

from workflow.config import NgramsConfig
from workflow.console import StageProgress
from workflow.embeddings.ngram_corpus import KeySpace
from workflow.embeddings.ngram_output import NgramRows
from workflow.embeddings.word2vec import train_with_progress
from workflow.preprocess.layout import UNK_ID


def train_ngram_vectors(corpus_file: str, counts: np.ndarray, token_matrix: np.ndarray, keys: KeySpace, settings: NgramsConfig,
                        progress: StageProgress | None = None) -> tuple[dict[int, NgramRows], float]:
    """{order: the rows (buckets) that got a vector, and their vectors}, and words/s.

    ``counts``: occurrences of every key of ``keys`` in ``corpus_file`` (ngram_corpus.AnnotatedCorpus); ``token_matrix``:
    float32 ``[vocabulary, dim]``, row i the vector of token id i.
    """
    token_ids = np.flatnonzero(counts[:keys.vocabulary])
    token_ids = token_ids[token_ids > UNK_ID]
    bucket_rows = {order: np.flatnonzero(counts[keys.offset(order) + 1:keys.offset(order) + buckets + 1] >= settings.min_count) + 1
                   for order, buckets in keys.buckets.items()}
    indices = np.concatenate([token_ids, *(keys.offset(order) + rows for order, rows in bucket_rows.items())])
    names = [name.decode("ascii") for name in keys.names()[indices].tolist()]
    model = Word2Vec(vector_size=token_matrix.shape[1], window=settings.window * keys.items_per_token, sg=settings.sg,
                     negative=settings.negative, sample=settings.sample, alpha=settings.alpha, min_count=1, workers=settings.workers,
                     seed=settings.seed, sorted_vocab=0)
    model.build_vocab_from_freq(dict(zip(names, counts[indices].tolist())))
    if model.wv.index_to_key != names:
        raise RuntimeError("gensim reordered the n-gram corpus's keys despite sorted_vocab=0")
    model.wv.vectors[:len(token_ids)] = token_matrix[token_ids]
    locks = np.ones(len(names), dtype=np.float32)
    locks[:len(token_ids)] = 0.0  # the token rows stay the vector source's
    model.wv.vectors_lockf = locks
    words_per_second = train_with_progress(model, corpus_file, int(counts.sum()), settings.epochs, progress)
    found, start = {}, len(token_ids)
    for order, rows in bucket_rows.items():
        found[order] = NgramRows(rows.astype(np.int64), np.array(model.wv.vectors[start:start + len(rows)], dtype=np.float32))
        start += len(rows)
    return found, words_per_second
