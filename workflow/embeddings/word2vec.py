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

import contextlib
import logging
import time
from typing import Iterator

from gensim.models import Word2Vec
from gensim.models.callbacks import CallbackAny2Vec
from gensim.models.keyedvectors import KeyedVectors

from workflow.config import Word2VecConfig
from workflow.console import StageProgress
from workflow.preprocess.layout import PAD, UNK

log = logging.getLogger(__name__)
GENSIM_LOGGER = "gensim.models.word2vec"


class EpochProgress(CallbackAny2Vec):
    """Logs epoch, words/s and elapsed time at the end of each epoch, and moves ``progress`` (when given) along.

    Within an epoch, gensim itself knows how far it is: it logs ``EPOCH k - PROGRESS: at 41.20% words, ...`` about
    once a second (at INFO, which the log configuration keeps out of the log file). While training, a handler on
    gensim's logger reads those records' arguments into the bar; the records go no further.
    """

    def __init__(self, total_words: int, epochs: int, progress: StageProgress | None = None):
        self._total_words, self._epochs, self._progress = total_words, epochs, progress
        self._started = self._epoch_started = time.perf_counter()
        self._epoch = 0

    def on_epoch_begin(self, model: Word2Vec) -> None:
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, model: Word2Vec) -> None:
        self._epoch += 1
        now = time.perf_counter()
        words_per_second = self._total_words / max(now - self._epoch_started, 1e-9)
        log.info("%s epoch %d/%d: %.0f words/s, elapsed %.1f s", type(model).__name__, self._epoch, self._epochs, words_per_second,
                 now - self._started)  # Word2Vec, or the paragraph vectors' Doc2Vec
        self._show(1.0, words_per_second)

    def within_epoch(self, fraction: float, words_per_second: float) -> None:
        """Gensim's report: ``fraction`` of the current epoch done, at ``words_per_second``."""
        self._show(fraction, words_per_second)

    def _show(self, fraction: float, words_per_second: float) -> None:
        if self._progress is None:
            return
        epoch = min(self._epoch + (fraction < 1.0), self._epochs)
        done = (epoch - 1 + fraction) * self._total_words
        self._progress.update(done, f"epoch {epoch}/{self._epochs}, {words_per_second / 1e6:.2f} M words/s")


class _GensimProgress(logging.Handler):
    """Gensim's ``EPOCH k - PROGRESS: at 41.20% words, 1234567 words/s, ...`` records, read into an :class:`EpochProgress`."""

    def __init__(self, epochs: EpochProgress):
        super().__init__(logging.INFO)
        self.epochs = epochs

    def emit(self, record: logging.LogRecord) -> None:
        if "PROGRESS: at %.2f%% words" in str(record.msg) and len(record.args) >= 3:
            self.epochs.within_epoch(float(record.args[1]) / 100, float(record.args[2]))


@contextlib.contextmanager
def _reading_gensim_progress(epochs: EpochProgress) -> Iterator[None]:
    """Gensim's INFO progress records reach :class:`_GensimProgress` only; its warnings go on as before."""
    logger = logging.getLogger(GENSIM_LOGGER)
    handler, level = _GensimProgress(epochs), logger.level
    passing = _WarningsOnward()
    logger.addHandler(handler)
    logger.addFilter(passing)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.removeFilter(passing)
        logger.removeHandler(handler)


class _WarningsOnward(logging.Filter):
    """On gensim's word2vec logger while its progress is read: INFO records are read by the progress handler, then
    dropped; warnings and errors go on to the log configuration's handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            for handler in logging.getLogger(GENSIM_LOGGER).handlers:
                if isinstance(handler, _GensimProgress):
                    handler.handle(record)
            return False
        return True


def train_word2vec(corpus_file: str, vocabulary: list[tuple[str, int]], settings: Word2VecConfig,
                   progress: StageProgress | None = None) -> tuple[KeyedVectors, float]:
    """Vectors for every vocabulary token with count >= ``settings.min_count``, and words/s.

    ``vocabulary`` is vocab.tsv's rows; ``<pad>`` and ``<unk>`` are not words.
    Its counts sum (``<unk>`` included) to the corpus's raw token count, which
    gensim needs to schedule the learning rate in ``corpus_file`` mode.
    ``progress``: a display whose total is ``epochs x`` that count (console.StageProgress).
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
    return model.wv, train_with_progress(model, corpus_file, total_words, settings.epochs, progress)


def train_with_progress(model: Word2Vec, corpus_file: str, total_words: int, epochs: int, progress: StageProgress | None = None,
                        total_examples: int | None = None) -> float:
    """Train ``model`` (its vocabulary built) on ``corpus_file`` of ``total_words`` words (out-of-vocabulary ones
    included: gensim schedules its learning rate by them); its words/s. ``progress``: as :func:`train_word2vec`'s.
    ``total_examples``: the documents of a Doc2Vec corpus, which then schedules its learning rate by documents (as
    ``Doc2Vec(corpus_file=...)`` does)."""
    started = time.perf_counter()
    epoch_progress = EpochProgress(total_words, epochs, progress)
    with _reading_gensim_progress(epoch_progress):
        model.train(corpus_file=corpus_file, total_words=total_words, total_examples=total_examples, epochs=epochs,
                    callbacks=[epoch_progress])
    return total_words * epochs / (time.perf_counter() - started)
