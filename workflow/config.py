"""Typed schema of the Hydra config tree (``conf/``), registered in ConfigStore.

The YAML files under ``conf/`` are merged onto these dataclasses, so a typo in
a key or a value of the wrong type fails when the config is composed, before
any work starts. Range checks that a type cannot express live in
:func:`validate`, which every entry point calls first.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from workflow.errors import ConfigError
from workflow.text import DEFAULT_TOKEN_PATTERN, check_pattern

SAMPLE_ARCHIVE = "aclImdb_sample.tar.gz"
POOLING_STATISTICS = ("mean", "max")


class CorpusFormat(enum.Enum):
    aclimdb = "aclimdb"  # aclImdb/{train,test}/{pos,neg,unsup}/<id>_<rating>.txt, folder or .tar.gz
    csv = "csv"
    jsonl = "jsonl"
    text = "text"  # one unlabelled document per line


class SourceSplit(enum.Enum):
    """Which split a single CSV/JSONL/text source holds (aclImdb knows from its paths)."""

    train = "train"
    test = "test"
    unsup = "unsup"


class VectorsFormat(enum.Enum):
    auto = "auto"  # word2vec_binary for .bin; else word2vec_text when the first line is "count dim"; else glove
    word2vec_text = "word2vec_text"
    word2vec_binary = "word2vec_binary"
    glove = "glove"  # word2vec text without the header line


class EmbeddingMode(enum.Enum):
    """How the classifier's Embedding layer starts and whether it trains."""

    frozen = "frozen"  # pretrained matrix, trainable=False
    finetune = "finetune"  # pretrained matrix, trainable
    random = "random"  # the layer's own initializer; the matrix is never read

    def __str__(self) -> str:  # so that ${embedding.mode} interpolates as "finetune" in run names
        return self.value


class Encoder(enum.Enum):
    pooling = "pooling"  # fastText-style: masked average (and max) of the token vectors
    cnn = "cnn"  # convolutions over windows of tokens (Kim 2014: sizes 3, 4, 5), pooled over time
    bilstm = "bilstm"  # bidirectional LSTM over the masked sequence


class EmbeddingUpdate(enum.Enum):
    """How Adam updates the Embedding table (see workflow/training/optimizer.py)."""

    lazy = "lazy"  # only the rows in the batch, with their moments: cost follows the batch
    dense = "dense"  # every row every step, as Keras's Adam does: cost follows the vocabulary

    def __str__(self) -> str:  # so that ${trainer.embedding_update} interpolates as "lazy" in run names
        return self.value


class Precision(enum.Enum):
    """The classifier's compute dtype (see workflow/training/precision.py)."""

    float32 = "float32"
    mixed_bfloat16 = "mixed_bfloat16"  # bfloat16 compute; tables, optimizer state and the output unit in float32
    auto = "auto"  # mixed_bfloat16 where the device computes bfloat16 natively (AMX CPUs, GPUs of compute capability >= 8.0)


class StrategyKind(enum.Enum):
    auto = "auto"  # MirroredStrategy over every visible GPU; the default device otherwise
    mirrored = "mirrored"  # MirroredStrategy over strategy.devices (all GPUs when empty)
    multiworker = "multiworker"  # MultiWorkerMirroredStrategy; the cluster comes from TF_CONFIG


class RunningMode(enum.Enum):
    in_memory = "in_memory"
    multi_threading = "multi_threading"
    multi_processing = "multi_processing"


@dataclass
class SplitPaths:
    """CSV/JSONL/text files (a path or glob) that hold one split each, beside ``data.path``; null = not given."""

    train: Optional[str] = None
    validation: Optional[str] = None
    test: Optional[str] = None
    unsup: Optional[str] = None

    def given(self) -> dict[str, str]:
        return {split: path for split, path in vars(self).items() if path}


@dataclass
class DataConfig:
    name: str = MISSING
    format: CorpusFormat = CorpusFormat.aclimdb
    path: str = MISSING  # a file, a folder or a glob; .gz files are decompressed
    split: SourceSplit = SourceSplit.train
    text_field: str = "text"
    label_field: str = "label"
    id_field: Optional[str] = None  # default: <file name>:<record number>
    rating_field: Optional[str] = None
    label_map: Dict[str, int] = field(
        default_factory=lambda: {"pos": 1, "neg": 0, "positive": 1, "negative": 0, "1": 1, "0": 0}
    )
    csv_delimiter: str = ","
    unlabelled: List[str] = field(default_factory=list)  # extra plain-text globs for the training side
    splits: SplitPaths = field(default_factory=SplitPaths)  # CSV/JSONL/text: more files by split, e.g. data.splits.test=test.csv


@dataclass
class TokenizerConfig:
    pattern: str = DEFAULT_TOKEN_PATTERN
    lowercase: bool = True
    strip_html: bool = True


@dataclass
class PreprocessConfig:
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    min_count: int = 2
    max_size: int = 50_000  # including <pad> and <unk>
    validation_fraction: float = 0.1
    validation_by_film: bool = True  # aclImdb: whole films to validation (train/urls_*.txt), so no film straddles train and validation
    test_fraction: Optional[float] = None  # share of train carved out as test; None = auto (see carved_test_fraction())
    read_parallelism: int = 2  # workers that each stream a (non-splittable) archive and keep 1/N of it
    read_block_mb: float = 64.0  # an uncompressed JSONL or text file is read in blocks of this size, by many workers


@dataclass
class QualityConfig:
    probes: List[str] = field(
        default_factory=lambda: ["good", "bad", "great", "awful", "boring", "funny", "plot", "actor", "director", "music"]
    )
    topn: int = 8
    analogy_restrict_vocab: int = 30_000  # most frequent words searched for analogy answers


@dataclass
class Word2VecConfig:
    sg: int = 0  # 0 = CBOW, 1 = skip-gram
    vector_size: int = 100
    window: int = 5
    negative: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    epochs: int = 5
    min_count: int = 1  # on top of preprocess.min_count, which already shaped vocab.tsv
    workers: int = 2
    seed: int = 0
    quality: QualityConfig = field(default_factory=QualityConfig)


@dataclass
class EmbeddingConfig:
    mode: EmbeddingMode = EmbeddingMode.finetune
    vectors: Optional[str] = None  # None: train word2vec on the corpus; else a file to import
    vectors_format: VectorsFormat = VectorsFormat.auto


@dataclass
class ModelConfig:
    name: str = MISSING  # the model config's name (conf/model/<name>.yaml), part of run names
    encoder: Encoder = Encoder.pooling
    max_len: int = 800  # tokens kept from the start of each review
    dropout: float = 0.5
    pooling: List[str] = field(default_factory=lambda: ["mean", "max"])  # statistics over time, concatenated (pooling and cnn)
    hidden_units: int = 0  # pooling encoder: a ReLU layer before the output (0 = linear, as fastText)
    bigram_buckets: int = 0  # pooling encoder: rows of hashed token bigrams beside the token rows (fastText); 0 = none
    windows: List[int] = field(default_factory=lambda: [3, 4, 5])  # cnn
    filters: int = 100  # cnn: feature maps per window size
    lstm_units: int = 64  # bilstm: units per direction


@dataclass
class TrainerConfig:
    run_name: str = MISSING  # folder under <workdir>/runs/
    batch_size: int = 64  # per replica; the global batch is batch_size x replicas
    label_budget: Optional[int] = None  # train on this many labelled reviews (lowest id hashes; nested); None = all
    epochs: int = 20
    min_epoch_examples: int = 2048  # an epoch over fewer training examples passes over them several times
    learning_rate: float = 5e-3  # Adam
    embedding_update: EmbeddingUpdate = EmbeddingUpdate.lazy
    scale_learning_rate: bool = False  # multiply by the number of replicas (linear scaling rule)
    shuffle_buffer: int = 50_000
    sort_pool_batches: int = 50  # batches per pool sorted by length, so that each batch pads little
    early_stopping_patience: int = 3  # epochs without a better validation accuracy; 0 = never stop early
    log_every_steps: int = 50  # TensorBoard scalars
    checkpoint_every_steps: int = 200  # resume point inside an epoch
    steps_per_loop: int = 1  # training steps per tf.function call (Orbit's steps_per_loop); cannot change a result
    width_multiple: int = 0  # batch widths rounded up to a multiple of this (bounded shapes); 0 or 1 = the longest review
    precision: Precision = Precision.float32  # auto resolves per machine; the run's key records what it resolved to
    deterministic: bool = True  # tf.config.experimental.enable_op_determinism


@dataclass
class StrategyConfig:
    kind: StrategyKind = StrategyKind.auto
    devices: List[str] = field(default_factory=list)  # mirrored: e.g. ["/gpu:0", "/gpu:1"]; empty = all GPUs
    logical_devices: int = 0  # split the first GPU (or the CPU) into this many logical devices; 0 = off
    logical_gpu_memory_mb: int = 4096  # memory of each logical GPU


@dataclass
class SweepConfig:
    """What ``wf-run`` trains after preprocessing and word2vec: every vector source x label budget x mode x seed."""

    modes: List[EmbeddingMode] = field(default_factory=lambda: [EmbeddingMode.frozen, EmbeddingMode.finetune, EmbeddingMode.random])
    seeds: List[int] = field(default_factory=lambda: [0])
    label_budgets: List[Optional[int]] = field(default_factory=lambda: [None])  # labelled training reviews; null = all
    vectors: Optional[List[Optional[str]]] = None  # vector sources to compare (null in the list: word2vec); null = embedding.vectors


@dataclass
class ReportConfig:
    runs: List[str] = field(default_factory=list)  # run folders, or folders holding them (a Hydra multirun folder); empty = <workdir>/runs
    projector_tokens: int = 5000  # most frequent tokens shown in the TensorBoard projector
    probes: List[str] = field(default_factory=lambda: ["good", "bad", "great", "awful", "boring", "funny", "plot", "music"])
    neighbours: int = 6  # nearest neighbours listed per probe word, before and after fine-tuning
    example_tokens: int = 12  # tokens of the example review traced through the Embedding layer


@dataclass
class BeamConfig:
    runner: str = "FnApiRunner"  # or DataflowRunner, FlinkRunner, SparkRunner, PortableRunner...
    num_workers: int = 2  # FnApiRunner only
    running_mode: RunningMode = RunningMode.multi_processing  # FnApiRunner only
    options: Dict[str, Any] = field(default_factory=dict)  # any Beam pipeline option, passed through
    shared_workdir: bool = False  # Flink/Spark: a local workdir and data paths are storage every worker sees at the same path


@dataclass
class Config:
    workdir: str = MISSING
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    word2vec: Word2VecConfig = field(default_factory=Word2VecConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


AUTO_TEST_FRACTION = 0.2


def carved_test_fraction(config: Any) -> float:
    """The share of train that becomes the test split.

    ``preprocess.test_fraction`` when set; otherwise 0.2 for a CSV/JSONL/text
    training file (such a corpus has no test split of its own) and 0 for
    aclImdb (which has one).
    """
    if config.preprocess.test_fraction is not None:
        return float(config.preprocess.test_fraction)
    own_test_split = (config.data.format in (CorpusFormat.aclimdb, "aclimdb") or config.data.split in (SourceSplit.test, "test")
                      or config.data.splits.test)
    return 0.0 if own_test_split else AUTO_TEST_FRACTION


def carved_validation_fraction(config: Any) -> float:
    """The share of train that becomes the validation split: none when ``data.splits`` names a validation file."""
    return 0.0 if config.data.splits.validation else float(config.preprocess.validation_fraction)


def sample_path() -> str:
    """Path of the bundled aclImdb sample shipped inside the package."""
    return str(resources.files("workflow") / "sample_data" / SAMPLE_ARCHIVE)


def vectors_source(vectors: Optional[str]) -> str:
    """A run-name part for the vector source: ``word2vec`` (trained here) or the imported file's name, e.g. ``glove.6B.100d``."""
    if not vectors:
        return "word2vec"
    name = os.path.basename(vectors.rstrip("/"))
    for suffix in (".gz", ".bin", ".txt", ".vec"):
        name = name.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "vectors"


def label_budget_part(budget: Optional[int]) -> str:
    """A run-name suffix for a label budget: ``-labels1000``, or nothing for all labels."""
    return "" if budget is None else f"-labels{budget}"


def local_dir(workdir: str) -> str:
    """``workdir`` itself, or ``outputs/<scheme>/<bucket>/<path>`` for an object-store workdir: Hydra's logs are local files."""
    scheme, separator, rest = workdir.partition("://")
    return os.path.join("outputs", scheme, rest.strip("/")) if separator else workdir


def require_local_workdir(workdir: str, command: str) -> None:
    """ConfigError unless ``workdir`` is a local path: only the Beam job (wf-preprocess) writes to an object store."""
    _require("://" not in workdir, "workdir", workdir,
             f"{command} needs a local workdir; only wf-preprocess writes to an object store (s3://, gs://). "
             "Copy <workdir>/preprocess to a local workdir (e.g. aws s3 cp --recursive, gcloud storage cp -r) and run there")


def package_wheel() -> str:
    """The wheel ``pip wheel --no-deps -w dist .`` builds of this version: what Dataflow's workers install."""
    from workflow import __version__

    return f"dist/embedding_workflow-{__version__}-py3-none-any.whl"


def register() -> None:
    """Register the schema and the ``${sample_data:}``, ``${vectors_source:...}``, ``${label_budget_part:...}``, ``${local_dir:...}``
    and ``${package_wheel:}`` resolvers (idempotent)."""
    ConfigStore.instance().store(name="schema", node=Config)
    if not OmegaConf.has_resolver("label_budget_part"):
        OmegaConf.register_new_resolver("label_budget_part", label_budget_part)
    if not OmegaConf.has_resolver("sample_data"):
        OmegaConf.register_new_resolver("sample_data", sample_path)
    if not OmegaConf.has_resolver("vectors_source"):
        OmegaConf.register_new_resolver("vectors_source", vectors_source)
    if not OmegaConf.has_resolver("local_dir"):
        OmegaConf.register_new_resolver("local_dir", local_dir)
    if not OmegaConf.has_resolver("package_wheel"):
        OmegaConf.register_new_resolver("package_wheel", package_wheel)


def _require(condition: bool, key: str, value: Any, why: str) -> None:
    if not condition:
        raise ConfigError(f"{key}={value!r}: {why}")


def validate(cfg: DictConfig) -> None:
    """Check what types cannot: ranges and cross-field rules. Raises ConfigError."""
    pre = cfg.preprocess
    _require(pre.min_count >= 1, "preprocess.min_count", pre.min_count, "must be >= 1")
    _require(pre.read_block_mb > 0, "preprocess.read_block_mb", pre.read_block_mb, "must be > 0")
    _require(pre.max_size >= 3, "preprocess.max_size", pre.max_size, "must be >= 3 (<pad>, <unk> and one token)")
    _require(0 <= pre.validation_fraction < 1, "preprocess.validation_fraction", pre.validation_fraction, "must be in [0, 1)")
    carved = carved_test_fraction(cfg)
    _require(0 <= carved < 1, "preprocess.test_fraction", pre.test_fraction, "must be in [0, 1)")
    _require(
        pre.validation_fraction + carved < 1,
        "preprocess.test_fraction",
        pre.test_fraction,
        "validation_fraction + test_fraction must leave some training data",
    )
    _require(pre.read_parallelism >= 1, "preprocess.read_parallelism", pre.read_parallelism, "must be >= 1")
    try:
        check_pattern(pre.tokenizer.pattern)
    except ValueError as error:
        raise ConfigError(f"preprocess.{error}") from None
    _require(cfg.beam.num_workers >= 1, "beam.num_workers", cfg.beam.num_workers, "must be >= 1")
    w2v = cfg.word2vec
    _require(w2v.sg in (0, 1), "word2vec.sg", w2v.sg, "must be 0 (CBOW) or 1 (skip-gram)")
    for key in ("vector_size", "window", "epochs", "min_count", "workers"):
        _require(w2v[key] >= 1, f"word2vec.{key}", w2v[key], "must be >= 1")
    _require(w2v.negative >= 0, "word2vec.negative", w2v.negative, "must be >= 0")
    model = cfg.model
    for key in ("max_len", "filters", "lstm_units"):
        _require(model[key] >= 1, f"model.{key}", model[key], "must be >= 1")
    _require(0 <= model.dropout < 1, "model.dropout", model.dropout, "must be in [0, 1)")
    _require(model.hidden_units >= 0, "model.hidden_units", model.hidden_units, "must be >= 0")
    _require(model.bigram_buckets >= 0, "model.bigram_buckets", model.bigram_buckets, "must be >= 0")
    _require(model.bigram_buckets == 0 or model.encoder in (Encoder.pooling, "pooling"), "model.bigram_buckets", model.bigram_buckets,
             "bigram rows join the token vectors as a bag: only with model.encoder=pooling")
    _require(len(model.windows) > 0 and all(w >= 1 for w in model.windows), "model.windows", list(model.windows), "must be a non-empty list of sizes >= 1")
    unknown = set(model.pooling) - set(POOLING_STATISTICS)
    _require(len(model.pooling) > 0 and not unknown, "model.pooling", list(model.pooling), f"must be a non-empty subset of {list(POOLING_STATISTICS)}")
    trainer = cfg.trainer
    _require(trainer.label_budget is None or trainer.label_budget >= 1, "trainer.label_budget", trainer.label_budget, "must be >= 1 (or null: all)")
    for key in ("batch_size", "epochs", "min_epoch_examples", "shuffle_buffer", "sort_pool_batches", "log_every_steps", "checkpoint_every_steps",
                "steps_per_loop"):
        _require(trainer[key] >= 1, f"trainer.{key}", trainer[key], "must be >= 1")
    _require(trainer.width_multiple >= 0, "trainer.width_multiple", trainer.width_multiple, "must be >= 0 (0 or 1: off)")
    _require(trainer.learning_rate > 0, "trainer.learning_rate", trainer.learning_rate, "must be > 0")
    _require(trainer.early_stopping_patience >= 0, "trainer.early_stopping_patience", trainer.early_stopping_patience, "must be >= 0")
    _require(bool(trainer.run_name) and "/" not in trainer.run_name, "trainer.run_name", trainer.run_name, "must be a non-empty folder name")
    _require(len(cfg.sweep.modes) > 0 and len(cfg.sweep.seeds) > 0 and len(cfg.sweep.label_budgets) > 0, "sweep",
             OmegaConf.to_container(cfg.sweep), "needs at least one mode, one seed and one label budget")
    for budget in cfg.sweep.label_budgets:
        _require(budget is None or budget >= 1, "sweep.label_budgets", list(cfg.sweep.label_budgets), "must be counts >= 1 (or null: all)")
    if cfg.sweep.vectors is not None:
        sources = list(cfg.sweep.vectors)
        names = [vectors_source(source) for source in sources]
        _require(len(sources) > 0 and len(set(names)) == len(names), "sweep.vectors", sources,
                 "must list at least one source, each with its own file name (null: word2vec on the corpus)")
    for key in ("projector_tokens", "neighbours", "example_tokens"):
        _require(cfg.report[key] >= 1, f"report.{key}", cfg.report[key], "must be >= 1")
    _require(cfg.strategy.logical_devices >= 0, "strategy.logical_devices", cfg.strategy.logical_devices, "must be >= 0")
    for split, pattern in ((split, pattern) for split, pattern in cfg.data.splits.items() if pattern):
        _require(cfg.data.format not in (CorpusFormat.aclimdb, "aclimdb"), f"data.splits.{split}", pattern,
                 "aclImdb has its own splits; data.splits is for CSV, JSONL and text corpora")
        _require(split != str(getattr(cfg.data.split, "value", cfg.data.split)), f"data.splits.{split}", pattern,
                 f"data.path already holds the {split} split (data.split)")
    for label, value in cfg.data.label_map.items():
        _require(value in (0, 1), f"data.label_map.{label}", value, "labels must map to 0 or 1")
