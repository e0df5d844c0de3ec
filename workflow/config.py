"""Typed schema of the Hydra config tree (``conf/``), registered in ConfigStore.

The YAML files under ``conf/`` are merged onto these dataclasses, so a typo in
a key or a value of the wrong type fails when the config is composed, before
any work starts. Range checks that a type cannot express live in
``config_checks.validate``, which every entry point calls first; the
``${...}`` resolvers and the values derived from the config in resolvers.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from workflow.text import DEFAULT_TOKEN_PATTERN

POOLING_STATISTICS = ("mean", "max")  # what model.pooling may list


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
    """How one of the classifier's tables starts and whether it trains (``embedding.mode``: the token rows;
    ``embedding.ngrams``: the n-gram rows)."""

    frozen = "frozen"  # pretrained matrix, trainable=False
    finetune = "finetune"  # pretrained matrix, trainable
    random = "random"  # the layer's own initializer; the matrix is never read

    def __str__(self) -> str:  # so that ${embedding.mode} interpolates as "finetune" in run names
        return self.value


class Encoder(enum.Enum):
    pooling = "pooling"  # fastText-style: masked average (and max) of the token vectors
    cnn = "cnn"  # convolutions over windows of tokens (Kim 2014: sizes 3, 4, 5), pooled over time
    bilstm = "bilstm"  # bidirectional LSTM over the masked sequence


class EmbeddingScale(enum.Enum):
    """The scale of the pretrained rows the table starts from (see workflow/training/scale.py)."""

    as_trained = "as_trained"  # the vectors' own norms (word2vec's run from ~0.3 to ~6 with frequency)
    row = "row"  # every row rescaled to the random initializer's expected row norm, direction kept
    table = "table"  # one factor for the whole table: its median row norm becomes the random initializer's

    def __str__(self) -> str:
        return self.value


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
    mixed_float16 = "mixed_float16"  # float16 compute, as mixed_bfloat16, with dynamic loss scaling
    auto = "auto"  # mixed_bfloat16 where the device computes bfloat16 natively (AMX CPUs, GPUs of compute capability >= 8.0)


class StrategyKind(enum.Enum):
    auto = "auto"  # MirroredStrategy over every visible GPU; the default device otherwise
    mirrored = "mirrored"  # MirroredStrategy over strategy.devices (all GPUs when empty)
    multiworker = "multiworker"  # MultiWorkerMirroredStrategy; the cluster comes from TF_CONFIG


class Collectives(enum.Enum):
    """How MultiWorkerMirroredStrategy's workers all-reduce."""

    auto = "auto"  # NCCL when this machine has a GPU, RING (gRPC) otherwise
    nccl = "nccl"
    ring = "ring"


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


# data.csv_delimiter as a shell passes a tab: data.csv_delimiter='\t' arrives as a backslash and a t.
DELIMITER_ESCAPES = {"\\t": "\t", "tab": "\t"}


def csv_delimiter(value: str) -> str:
    """The delimiter ``data.csv_delimiter`` means: ``\\t`` (two characters) or ``tab`` is a tab; anything else as given."""
    return DELIMITER_ESCAPES.get(value, value)


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
    test_fraction: Optional[float] = None  # share of train carved out as test; None = auto (see resolvers.carved_test_fraction())
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
class NgramsConfig:
    """The n-gram stage (workflow/embeddings/ngram_stage.py): vectors for the hashed n-gram rows, learned by gensim word2vec
    on the n-gram-annotated corpus beside the token rows, which it holds fixed."""

    sg: int = 0  # 0 = CBOW, 1 = skip-gram (about 9x slower on the annotated corpus)
    window: int = 5  # tokens of text on each side; gensim's window is this x the keys per token (1 + orders)
    negative: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    epochs: int = 5
    min_count: int = 1  # occurrences a bucket needs for a vector; a bucket with fewer keeps the layer's random start
    workers: int = 2
    seed: int = 0


@dataclass
class EmbeddingConfig:
    mode: EmbeddingMode = EmbeddingMode.finetune
    vectors: Optional[str] = None  # None: train word2vec on the corpus; else a file to import
    vectors_format: VectorsFormat = VectorsFormat.auto
    scale: EmbeddingScale = EmbeddingScale.row  # frozen/finetune: the pretrained rows' norms; random mode reads no matrix
    ngrams: EmbeddingMode = EmbeddingMode.random  # n-gram rows: random (trained from the layer's start), or the n-gram stage's


@dataclass
class ModelConfig:
    name: str = MISSING  # the model config's name (conf/model/<name>.yaml), part of run names
    encoder: Encoder = Encoder.pooling
    max_len: int = 800  # tokens kept from the start of each review
    dropout: float = 0.5
    pooling: List[str] = field(default_factory=lambda: ["mean", "max"])  # statistics over time, concatenated (pooling and cnn)
    hidden_units: int = 0  # a ReLU layer before each output unit (0 = linear, as fastText)
    bigram_buckets: int = 0  # rows of hashed token bigrams in a bag with the token rows (fastText): pooled, or beside a cnn; 0 = none
    trigram_buckets: int = 0  # rows of hashed token trigrams, as bigram_buckets; 0 = none
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
    score_test: bool = True  # false: the test split is never scored (runs that choose settings on validation)


@dataclass
class StrategyConfig:
    kind: StrategyKind = StrategyKind.auto
    devices: List[str] = field(default_factory=list)  # mirrored: e.g. ["/gpu:0", "/gpu:1"]; empty = all GPUs
    logical_devices: int = 0  # split the first GPU (or the CPU) into this many logical devices; 0 = off
    logical_gpu_memory_mb: int = 4096  # memory of each logical GPU
    collectives: Collectives = Collectives.auto  # multiworker: NCCL or RING all-reduce (auto: NCCL with GPUs)


@dataclass
class SweepConfig:
    """What ``wf-run`` trains after preprocessing and word2vec: every vector source x label budget x n-gram row mode x mode x seed."""

    modes: List[EmbeddingMode] = field(default_factory=lambda: [EmbeddingMode.frozen, EmbeddingMode.finetune, EmbeddingMode.random])
    seeds: List[int] = field(default_factory=lambda: [0])
    label_budgets: List[Optional[int]] = field(default_factory=lambda: [None])  # labelled training reviews; null = all
    vectors: Optional[List[Optional[str]]] = None  # vector sources to compare (null in the list: word2vec); null = embedding.vectors
    ngrams: Optional[List[EmbeddingMode]] = None  # n-gram row modes to compare; null = embedding.ngrams


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


class ProgressDisplay(enum.Enum):
    auto = "auto"  # a live bar per training job on a terminal (TTY), one line per epoch elsewhere or under a parallel launcher
    bar = "bar"
    lines = "lines"


@dataclass
class TerminalConfig:
    """What the terminal shows; operational, in no stage's key. Everything always goes to the log files."""

    progress: ProgressDisplay = ProgressDisplay.auto
    steps: bool = False  # true: the per-step training lines on the terminal too (they always go to each run's log file)


@dataclass
class Config:
    workdir: str = MISSING
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    word2vec: Word2VecConfig = field(default_factory=Word2VecConfig)
    ngrams: NgramsConfig = field(default_factory=NgramsConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    terminal: TerminalConfig = field(default_factory=TerminalConfig)


def register() -> None:
    """Register the schema in ConfigStore and the config's ``${...}`` resolvers (workflow/resolvers.py) in OmegaConf (idempotent)."""
    from workflow import resolvers  # it reads this module's enums: imported here, so that the import goes one way

    ConfigStore.instance().store(name="schema", node=Config)
    resolvers.register()
