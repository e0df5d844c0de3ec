"""What the config's types cannot check: ranges and cross-field rules, section by section.

``compose.load`` calls :func:`validate` on the typed config before any work
starts (every entry point, and every job of a sweep), so that a bad value
fails naming its key (``ConfigError``).
"""

from __future__ import annotations

import math
from typing import Any

from workflow.config import POOLING_STATISTICS, Config, CorpusFormat, Encoder, carved_test_fraction, csv_delimiter, plain
from workflow.errors import ConfigError
from workflow.resolvers import unwritable_workdir
from workflow.text import check_pattern
from workflow.training.identity import ngram_modes, pretrained_ngrams, source_name

SEED_LIMIT = 2**32  # numpy's and TensorFlow's global seeds are 32-bit
# Adam's step per weight is about the learning rate: past 1, a step moves a weight further than any trained one lies.
MAX_LEARNING_RATE = 1.0


def _require(condition: bool, key: str, value: Any, why: str) -> None:
    if not condition:
        raise ConfigError(f"{key}={value!r}: {why}")


def _at_least(section: Any, name: str, keys: tuple[str, ...], minimum: int) -> None:
    for key in keys:
        value = getattr(section, key)
        _require(value >= minimum, f"{name}.{key}", value, f"must be >= {minimum}")


def _learning_rate(value: float, key: str) -> None:
    _require(math.isfinite(value) and 0 < value <= MAX_LEARNING_RATE, key, value,
             f"must be a finite number in (0, {MAX_LEARNING_RATE:g}]: a larger step diverges")


def _seed(value: int, key: str) -> None:
    _require(0 <= value < SEED_LIMIT, key, value, "must be in [0, 2**32)")


def validate(config: Config) -> None:
    """Check what types cannot: ranges and cross-field rules. Raises ConfigError naming the key."""
    for check in (_check_preprocess, _check_word2vec, _check_ngrams, _check_paragraph_vectors, _check_model, _check_trainer, _check_sweep, _check_report, _check_data):
        check(config)
    _seed(config.seed, "seed")
    _require(config.beam.num_workers >= 1, "beam.num_workers", config.beam.num_workers, "must be >= 1")
    _require(config.strategy.logical_devices >= 0, "strategy.logical_devices", config.strategy.logical_devices, "must be >= 0")


def _check_data(config: Config) -> None:
    for split, pattern in ((split, pattern) for split, pattern in plain(config.data.splits).items() if pattern):
        _require(config.data.format is not CorpusFormat.aclimdb, f"data.splits.{split}", pattern,
                 "aclImdb has its own splits; data.splits is for CSV, JSONL and text corpora")
        _require(split != config.data.split.value, f"data.splits.{split}", pattern,
                 f"data.path already holds the {split} split (data.split)")
    for label, value in config.data.label_map.items():
        _require(value in (0, 1), f"data.label_map.{label}", value, "labels must map to 0 or 1")
    delimiter = csv_delimiter(config.data.csv_delimiter)
    _require(len(delimiter) == 1 and delimiter not in '"\r\n', "data.csv_delimiter", config.data.csv_delimiter,
             "must be one character other than a quote or a line end ('\\t' or tab: a tab)")


def _check_preprocess(config: Config) -> None:
    pre = config.preprocess
    _at_least(pre, "preprocess", ("min_count", "read_parallelism"), 1)
    _require(math.isfinite(pre.read_block_mb) and pre.read_block_mb > 0, "preprocess.read_block_mb", pre.read_block_mb, "must be > 0")
    _require(pre.max_size >= 3, "preprocess.max_size", pre.max_size, "must be >= 3 (<pad>, <unk> and one token)")
    _require(0 <= pre.validation_fraction < 1, "preprocess.validation_fraction", pre.validation_fraction, "must be in [0, 1)")
    carved = carved_test_fraction(config)
    _require(0 <= carved < 1, "preprocess.test_fraction", pre.test_fraction, "must be in [0, 1)")
    _require(pre.validation_fraction + carved < 1, "preprocess.test_fraction", pre.test_fraction,
             "validation_fraction + test_fraction must leave some training data")
    try:
        check_pattern(pre.tokenizer.pattern)
    except ValueError as error:
        raise ConfigError(f"preprocess.{error}") from None


def _check_word2vec(config: Config) -> None:
    w2v = config.word2vec
    _require(w2v.sg in (0, 1), "word2vec.sg", w2v.sg, "must be 0 (CBOW) or 1 (skip-gram)")
    _at_least(w2v, "word2vec", ("vector_size", "window", "epochs", "min_count", "workers"), 1)
    _require(w2v.negative >= 0, "word2vec.negative", w2v.negative, "must be >= 0")
    _learning_rate(w2v.alpha, "word2vec.alpha")
    _require(math.isfinite(w2v.sample) and w2v.sample >= 0, "word2vec.sample", w2v.sample, "must be a finite number >= 0")
    _seed(w2v.seed, "word2vec.seed")


def _check_ngrams(config: Config) -> None:
    ngrams = config.ngrams
    _require(ngrams.sg in (0, 1), "ngrams.sg", ngrams.sg, "must be 0 (CBOW) or 1 (skip-gram)")
    _at_least(ngrams, "ngrams", ("window", "epochs", "min_count", "workers", "negative"), 1)
    _learning_rate(ngrams.alpha, "ngrams.alpha")
    _require(math.isfinite(ngrams.sample) and ngrams.sample >= 0, "ngrams.sample", ngrams.sample, "must be a finite number >= 0")
    _seed(ngrams.seed, "ngrams.seed")
    if pretrained_ngrams(config):
        key = "sweep.ngrams" if config.sweep.ngrams is not None else "embedding.ngrams"
        value = [str(mode) for mode in ngram_modes(config)] if config.sweep.ngrams is not None else str(config.embedding.ngrams)
        _require(config.model.bigram_buckets > 0 or config.model.trigram_buckets > 0, key, value,
                 "pretrained n-gram rows need n-gram rows: set model.bigram_buckets (or model.trigram_buckets) > 0")


def _check_paragraph_vectors(config: Config) -> None:
    paragraphs = config.paragraph_vectors
    _at_least(paragraphs, "paragraph_vectors", ("vector_size", "ngrams", "epochs", "min_count", "workers", "negative"), 1)
    _require(math.isfinite(paragraphs.sample) and paragraphs.sample >= 0, "paragraph_vectors.sample", paragraphs.sample,
             "must be a finite number >= 0")
    _seed(paragraphs.seed, "paragraph_vectors.seed")


def _check_model(config: Config) -> None:
    model = config.model
    _at_least(model, "model", ("max_len", "filters", "lstm_units"), 1)
    _at_least(model, "model", ("hidden_units", "bigram_buckets", "trigram_buckets"), 0)
    _require(0 <= model.dropout < 1, "model.dropout", model.dropout, "must be in [0, 1)")
    for key in ("bigram_buckets", "trigram_buckets"):
        buckets = getattr(model, key)
        _require(buckets == 0 or model.encoder in (Encoder.pooling, Encoder.cnn), f"model.{key}", buckets,
                 "n-gram rows join the token vectors as a bag: only with model.encoder=pooling or cnn")
    _require(len(model.windows) > 0 and all(w >= 1 for w in model.windows), "model.windows", list(model.windows),
             "must be a non-empty list of sizes >= 1")
    unknown = set(model.pooling) - set(POOLING_STATISTICS)
    _require(len(model.pooling) > 0 and not unknown, "model.pooling", list(model.pooling),
             f"must be a non-empty subset of {list(POOLING_STATISTICS)}")


def _check_trainer(config: Config) -> None:
    trainer = config.trainer
    _require(trainer.label_budget is None or trainer.label_budget >= 1, "trainer.label_budget", trainer.label_budget,
             "must be >= 1 (or null: all)")
    _at_least(trainer, "trainer", ("batch_size", "epochs", "min_epoch_examples", "shuffle_buffer", "sort_pool_batches",
                                   "log_every_steps", "checkpoint_every_steps", "steps_per_loop"), 1)
    _require(trainer.width_multiple >= 0, "trainer.width_multiple", trainer.width_multiple, "must be >= 0 (0 or 1: off)")
    _learning_rate(trainer.learning_rate, "trainer.learning_rate")
    _require(trainer.early_stopping_patience >= 0, "trainer.early_stopping_patience", trainer.early_stopping_patience, "must be >= 0")
    _require(trainer.run_name is None or (trainer.run_name != "" and "/" not in trainer.run_name), "trainer.run_name", trainer.run_name,
             "must be a non-empty folder name (or null: named after what the run trains)")


def _check_sweep(config: Config) -> None:
    sweep = config.sweep
    _require(len(sweep.modes) > 0 and len(sweep.seeds) > 0 and len(sweep.label_budgets) > 0, "sweep",
             plain(sweep), "needs at least one mode, one seed and one label budget")
    if sweep.ngrams is not None:
        _require(len(sweep.ngrams) > 0, "sweep.ngrams", [], "must list at least one mode (or be null: embedding.ngrams)")
    for budget in sweep.label_budgets:
        _require(budget is None or budget >= 1, "sweep.label_budgets", list(sweep.label_budgets), "must be counts >= 1 (or null: all)")
    for seed in sweep.seeds:
        _seed(seed, "sweep.seeds")
    if sweep.vectors is not None:
        sources = list(sweep.vectors)
        names = [source_name(source) for source in sources]
        _require(len(sources) > 0 and len(set(names)) == len(names), "sweep.vectors", sources,
                 "must list at least one source, each with its own file name (null: word2vec on the corpus)")


def _check_report(config: Config) -> None:
    _at_least(config.report, "report", ("projector_tokens", "neighbours", "example_tokens"), 1)


def require_local_workdir(workdir: str, command: str) -> None:
    """ConfigError unless ``workdir`` is a local path: only the Beam job (wf-preprocess) writes to an object store."""
    _require("://" not in workdir, "workdir", workdir,
             f"{command} needs a local workdir; only wf-preprocess writes to an object store (s3://, gs://). "
             "Copy <workdir>/preprocess to a local workdir (e.g. aws s3 cp --recursive, gcloud storage cp -r) and run there")


def require_writable_workdir(workdir: str) -> None:
    """ConfigError unless a local ``workdir`` is a folder this process can write, or can be made in one (an object
    store's workdir is checked by its own filesystem)."""
    problem = None if "://" in workdir else unwritable_workdir(workdir)
    _require(problem is None, "workdir", workdir, problem or "")
