"""Train gensim Word2Vec on the preprocessing corpus, reusing its counts.

``corpus_file`` mode is used because it scales with ``workers`` (the iterable
mode stops scaling after a few threads). The vocabulary comes from
``vocab.tsv`` through ``build_vocab_from_freq``: the corpus is never counted
twice, and word2vec's words are exactly the classifier's. With one worker
the vectors are a function of ``seed``: gensim 4.4 draws every initial vector
from ``numpy.random.default_rng(seed)`` (its ``hashfxn`` no longer seeds
them), so Python's salted ``hash`` cannot make two processes differ.
"""

from __future__ import annotations

import logging
import time

from gensim.models import Word2Vec
from gensim.models.callbacks import CallbackAny2Vec
from gensim.models.keyedvectors import KeyedVectors

from workflow.preprocess.layout import PAD, UNK
from workflow.config import Word2VecConfig

log = logging.getLogger(__name__)


class EpochProgress(CallbackAny2Vec):
    """Logs epoch, words/s and elapsed time at the end of each epoch."""

    def __init__(self, total_words: int, epochs: int):
        self._total_words, self._epochs = total_words, epochs
        self._started = self._epoch_started = time.perf_counter()
        self._epoch = 0

    def on_epoch_begin(self, model: Word2Vec) -> None:
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, model: Word2Vec) -> None:
        self._epoch += 1
        now = time.perf_counter()
        log.info(
            "word2vec epoch %d/%d: %.0f words/s, elapsed %.1f s",
            self._epoch, self._epochs, self._total_words / max(now - self._epoch_started, 1e-9), now - self._started,
        )


def train_word2vec(corpus_file: str, vocabulary: list[tuple[str, int]], settings: Word2VecConfig) -> tuple[KeyedVectors, float]:
    """Vectors for every vocabulary token with count >= ``settings.min_count``, and words/s.

    ``vocabulary`` is vocab.tsv's rows; ``<pad>`` and ``<unk>`` are not words.
    Its counts sum (``<unk>`` included) to the corpus's raw token count, which
    gensim needs to schedule the learning rate in ``corpus_file`` mode.
    """
    frequencies = {token: count for token, count in vocabulary if token not in (PAD, UNK)}
    total_words = sum(count for _, count in vocabulary)
    model = Word2Vec(
        vector_size=settings.vector_size,
        window=settings.window,
        sg=settings.sg,
        negative=settings.negative,
        sample=settings.sample,
        alpha=settings.alpha,
        min_count=settings.min_count,
        workers=settings.workers,
        seed=settings.seed,
    )
    model.build_vocab_from_freq(frequencies)
    started = time.perf_counter()
    model.train(
        corpus_file=corpus_file,
        total_words=total_words,
        epochs=settings.epochs,
        callbacks=[EpochProgress(total_words, settings.epochs)],
    )
    words_per_second = total_words * settings.epochs / (time.perf_counter() - started)
    return model.wv, words_per_second
