"""The typed config: one read-only ``Config`` per command, the schema of the Hydra config tree (``conf/``).

The defaults live here, once: the YAML files under ``conf/`` hold only what a
group option sets apart (``model/cnn.yaml``: a cnn of three window sizes) and
an experiment's setup. Hydra merges them onto these dataclasses
(workflow/compose.py registers them), so a typo in a key or a value of the
wrong type fails when the config is composed; ``compose.load`` converts the
composed config once into these objects, checks what a type cannot say
(config_checks.py) and hands them out read-only: a stage never changes the
config it was given, and a variant of it (one job of a sweep, one vector
source) is a new object (:func:`with_values`).

This module imports neither Hydra nor OmegaConf: TensorFlow, gensim and Beam
code that reads a setting or an enum loads nothing of the config machinery.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from workflow.text import DEFAULT_TOKEN_PATTERN

MISSING: Any = "???"  # OmegaConf's literal for a value the config must give (data.path of data=imdb); not importing OmegaConf for it
OPERATIONAL = {"operational": True}  # field metadata: a setting that cannot change any output (logging cadence...), in no stage's key

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

    def __str__(self) -> str:  # "finetune" in messages and run names
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
    dense = "dense"  # every row every step (TensorFlow's fused Adam kernel), as Keras's Adam does: cost follows the vocabulary

    def __str__(self) -> str:
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


class ReadOnly:
    """A config section that cannot be changed once built (``dataclasses.FrozenInstanceError`` on assignment).

    Not ``@dataclass(frozen=True)``: Hydra composes by merging the YAML files
    onto the schema's nodes, which OmegaConf refuses for a frozen dataclass.
    Built by OmegaConf's conversion (``compose.load``), by
    :func:`with_values`, or by hand; a copy or an unpickled one (a training
    job's process) is read-only too.
    """

    def __post_init__(self) -> None:
        object.__setattr__(self, "_built", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_built", False):
            raise dataclasses.FrozenInstanceError(f"cannot set {name!r}: the config is read-only (config.with_values makes a changed copy)")
        object.__setattr__(self, name, value)


@dataclass
class SplitPaths(ReadOnly):
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
class DataConfig(ReadOnly):
    """The corpus (conf/data/: sample, imdb, csv, jsonl)."""

    name: str = MISSING  # the data set's name: the default workdir is runs/<name>
    format: CorpusFormat = CorpusFormat.aclimdb
    path: str = MISSING  # a file, a folder or a glob; .gz files are decompressed
    split: SourceSplit = SourceSplit.train  # CSV/JSONL/text: the split data.path holds (aclImdb knows from its paths)
    text_field: str = "text"
    label_field: str = "label"
    id_field: Optional[str] = None  # default: <file name>:<record number>
    rating_field: Optional[str] = None
    label_map: Dict[str, int] = field(
        default_factory=lambda: {"pos": 1, "neg": 0, "positive": 1, "negative": 0, "1": 1, "0": 0}
    )
    csv_delimiter: str = ","  # one character; '\\t' or tab: a tab
    unlabelled: List[str] = field(default_factory=list)  # extra plain-text globs for the training side
    splits: SplitPaths = field(default_factory=SplitPaths)  # CSV/JSONL/text: more files by split, e.g. data.splits.test=test.csv


@dataclass
class TokenizerConfig(ReadOnly):
    pattern: str = DEFAULT_TOKEN_PATTERN  # RE2 and Python re alike; no capturing groups
    lowercase: bool = True  # ASCII only, as tf.strings.lower
    strip_html: bool = True  # <br /> -> space


@dataclass
class PreprocessConfig(ReadOnly):
    """The Beam job (conf/preprocess/default.yaml)."""

    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    min_count: int = 2  # a token needs this many training-side occurrences
    max_size: int = 50_000  # vocabulary rows, including <pad> (0) and <unk> (1)
    validation_fraction: float = 0.1
    validation_by_film: bool = True  # aclImdb: whole films to validation (train/urls_*.txt), so no film straddles train and validation
    test_fraction: Optional[float] = None  # share of train carved out as test; None = auto (carved_test_fraction)
    read_parallelism: int = 2  # workers that each stream a (non-splittable) archive and keep 1/N of it (and write their own files)
    read_block_mb: float = 64.0  # JSONL/text files are read in blocks, review folders in groups of files, of this size; a task each


@dataclass
class QualityConfig(ReadOnly):
    probes: List[str] = field(
        default_factory=lambda: ["good", "bad", "great", "awful", "boring", "funny", "plot", "actor", "director", "music"]
    )
    topn: int = 8
    analogy_restrict_vocab: int = 30_000  # most frequent words searched for analogy answers


@dataclass
class Word2VecConfig(ReadOnly):
    """gensim Word2Vec on <workdir>/preprocess/corpus (corpus_file mode)."""

    sg: int = 0  # 0 = CBOW (fast), 1 = skip-gram (better on rare words, ~3x slower)
    vector_size: int = 100
    window: int = 5
    negative: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    epochs: int = 5
    min_count: int = 1  # on top of preprocess.min_count, which already shaped vocab.tsv
    workers: int = 2  # > 1 is faster but not bit-reproducible; 1 + seed gives identical vectors
    seed: int = 0  # its own seed (vectors and OOV rows): a sweep over the training seed reuses one set of vectors
    quality: QualityConfig = field(default_factory=QualityConfig)


@dataclass
class NgramsConfig(ReadOnly):
    """The n-gram stage (workflow/embeddings/ngram_stage.py): vectors for the hashed n-gram rows, learned by gensim word2vec
    on the n-gram-annotated corpus beside the token rows, which it holds fixed. Run when embedding.ngrams (or sweep.ngrams)
    asks for pretrained n-gram rows."""

    sg: int = 0  # 0 = CBOW, 1 = skip-gram (about 9x slower on the annotated corpus)
    window: int = 5  # tokens of text on each side; gensim's window is this x the keys per token (1 + orders)
    negative: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    epochs: int = 5
    min_count: int = 1  # occurrences a bucket needs for a vector; a bucket with fewer keeps the layer's random start
    workers: int = 2  # > 1 is faster but not bit-reproducible; 1 + seed gives identical vectors
    seed: int = 0


@dataclass
class ParagraphVectorsConfig(ReadOnly):
    """The paragraph-vector stage (workflow/paragraphs/stage.py, wf-paragraph-vectors): gensim PV-DBOW over the
    training-side reviews (tokens and their runs of up to ``ngrams`` adjacent tokens), a vector inferred for every
    labelled review, and a logistic regression on them whose predictions are averaged with a network's
    (benchmarks/paragraph_vectors.py)."""

    vector_size: int = 100
    ngrams: int = 2  # the longest run of adjacent tokens that is one of a document's words (a_b; 3 adds a_b_c; 1: tokens alone)
    epochs: int = 20  # of training, and of inferring each review's vector
    negative: int = 5
    sample: float = 1e-4
    min_count: int = 2  # occurrences a word (a token or an n-gram) needs to be one of the model's
    workers: int = 2  # > 1 is faster but not bit-reproducible
    seed: int = 0  # the model's, the documents' order's and the cross-validation folds': it names the output (pv-dbow-seed<seed>)


@dataclass
class EmbeddingConfig(ReadOnly):
    """The classifier's Embedding table (conf/embedding/: finetune, frozen, random)."""

    mode: EmbeddingMode = EmbeddingMode.finetune
    vectors: Optional[str] = None  # None: train word2vec on the corpus; else a file to import
    vectors_format: VectorsFormat = VectorsFormat.auto  # auto: .bin, a "count dim" header, or GloVe
    scale: EmbeddingScale = EmbeddingScale.row  # the pretrained rows' norms (token rows in frozen/finetune, pretrained n-gram rows)
    ngrams: EmbeddingMode = EmbeddingMode.random  # n-gram rows: random (trained from the layer's start), or the n-gram stage's


@dataclass
class ModelConfig(ReadOnly):
    """The classifier (conf/model/: cnn3, cnn, pooling, bilstm)."""

    name: str = MISSING  # the model config's name (conf/model/<name>.yaml), part of run names
    encoder: Encoder = Encoder.pooling
    max_len: int = 800  # tokens kept from the start of each review
    dropout: float = 0.5
    pooling: List[str] = field(default_factory=lambda: ["mean", "max"])  # statistics over time, concatenated (pooling and cnn)
    hidden_units: int = 0  # a ReLU layer before each output unit (0 = linear, as fastText)
    bigram_buckets: int = 0  # rows of hashed token bigrams in a bag with the token rows (fastText): pooled, or beside a cnn; 0 = none
    trigram_buckets: int = 0  # rows of hashed token trigrams, as bigram_buckets; 0 = none
    # A frozen table of the reviews' paragraph vectors (wf-paragraph-vectors, paragraph_vectors.seed), a head of its own
    # averaged with the others (training/documents.py): the network scores only the corpus's reviews, so it is not served.
    paragraph_vectors: bool = False
    windows: List[int] = field(default_factory=lambda: [3, 4, 5])  # cnn
    filters: int = 100  # cnn: feature maps per window size
    lstm_units: int = 64  # bilstm: units per direction


@dataclass
class TrainerConfig(ReadOnly):
    """The training loop. batch_size is per replica: the global batch is batch_size x replicas."""

    # The run's folder under <workdir>/runs/; null: named after what it trains (training/identity.py's run_name).
    run_name: Optional[str] = field(default=None, metadata=OPERATIONAL)
    batch_size: int = 64
    label_budget: Optional[int] = None  # train on this many labelled reviews (lowest id hashes; nested); None = all
    epochs: int = 20  # at most; early stopping on validation accuracy ends most runs sooner
    min_epoch_examples: int = 2048  # an epoch over fewer training examples passes over them several times
    learning_rate: float = 5e-3  # Adam
    embedding_update: EmbeddingUpdate = EmbeddingUpdate.lazy
    scale_learning_rate: bool = False  # multiply by the number of replicas (linear scaling rule)
    shuffle_buffer: int = 50_000
    sort_pool_batches: int = 50  # batches per pool sorted by length, so that each batch pads little
    early_stopping_patience: int = 3  # epochs without a better validation accuracy; 0 = never stop early
    log_every_steps: int = field(default=50, metadata=OPERATIONAL)  # TensorBoard scalars every N steps, and every epoch
    checkpoint_every_steps: int = field(default=200, metadata=OPERATIONAL)  # resume point inside an epoch
    # Training steps per tf.function call (Orbit's steps_per_loop); step results stay on the device until a log or
    # checkpoint step or the epoch's end, so it cannot change a result.
    steps_per_loop: int = field(default=1, metadata=OPERATIONAL)
    width_multiple: int = 0  # batch widths rounded up to a multiple of this (bounded shapes); 0 or 1 = the longest review
    precision: Precision = Precision.float32  # auto resolves per machine; the run's key records what it resolved to
    deterministic: bool = True  # tf.config.experimental.enable_op_determinism: the same result on CPU for a config and seed
    score_test: bool = True  # false: the test split is never scored (runs that choose settings on validation)


@dataclass
class StrategyConfig(ReadOnly):
    """tf.distribute (conf/strategy/: auto, mirrored, multiworker)."""

    kind: StrategyKind = StrategyKind.auto
    devices: List[str] = field(default_factory=list)  # mirrored: e.g. ["/gpu:0", "/gpu:1"]; empty = all GPUs
    logical_devices: int = 0  # split the first GPU (or the CPU) into this many logical devices; 0 = off
    logical_gpu_memory_mb: int = 4096  # memory of each logical GPU
    collectives: Collectives = Collectives.auto  # multiworker: NCCL or RING all-reduce (auto: NCCL with GPUs)


@dataclass
class SweepConfig(ReadOnly):
    """What ``wf-run`` trains after preprocessing and word2vec: every vector source x label budget x n-gram row mode x mode x
    seed (training/identity.py's sweep_axes)."""

    modes: List[EmbeddingMode] = field(default_factory=lambda: [EmbeddingMode.frozen, EmbeddingMode.finetune, EmbeddingMode.random])
    seeds: List[int] = field(default_factory=lambda: [0])
    label_budgets: List[Optional[int]] = field(default_factory=lambda: [None])  # labelled training reviews; null = all
    vectors: Optional[List[Optional[str]]] = None  # vector sources to compare (null in the list: word2vec); null = embedding.vectors
    ngrams: Optional[List[EmbeddingMode]] = None  # n-gram row modes to compare; null = embedding.ngrams


@dataclass
class ReportConfig(ReadOnly):
    """wf-report, the last step of wf-run: <workdir>/report/."""

    runs: List[str] = field(default_factory=list)  # run folders, or folders holding them (a Hydra multirun folder); empty = <workdir>/runs
    projector_tokens: int = 5000  # most frequent tokens shown in the TensorBoard projector
    probes: List[str] = field(default_factory=lambda: ["good", "bad", "great", "awful", "boring", "funny", "plot", "music"])
    neighbours: int = 6  # nearest neighbours listed per probe word, before and after fine-tuning
    example_tokens: int = 12  # tokens of the example review traced through the Embedding layer


@dataclass
class BeamConfig(ReadOnly):
    """The Beam runner of wf-preprocess (conf/beam/: local, portable, flink, spark, dataflow)."""

    runner: str = "FnApiRunner"  # or DataflowRunner, FlinkRunner, SparkRunner, PortableRunner...
    num_workers: int = 2  # FnApiRunner only: one worker process per core
    running_mode: RunningMode = RunningMode.multi_processing  # FnApiRunner only
    options: Dict[str, Any] = field(default_factory=dict)  # any Beam pipeline option, passed through; an object store's too
    shared_workdir: bool = False  # Flink/Spark: a local workdir and data paths are storage every worker sees at the same path


class ProgressDisplay(enum.Enum):
    auto = "auto"  # a live bar per training job on a terminal (TTY), one line per epoch elsewhere or under a parallel launcher
    bar = "bar"
    lines = "lines"


@dataclass
class TerminalConfig(ReadOnly):
    """What the terminal shows; operational, in no stage's key. Everything always goes to the log files."""

    progress: ProgressDisplay = ProgressDisplay.auto
    steps: bool = False  # true: the per-step training lines on the terminal too (they always go to each run's log file)


@dataclass
class Config(ReadOnly):
    workdir: str = "runs/${data.name}"  # where every stage writes its folder (preprocess/, word2vec/, runs/, report/)
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    word2vec: Word2VecConfig = field(default_factory=Word2VecConfig)
    ngrams: NgramsConfig = field(default_factory=NgramsConfig)
    paragraph_vectors: ParagraphVectorsConfig = field(default_factory=ParagraphVectorsConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    terminal: TerminalConfig = field(default_factory=TerminalConfig)


def with_values(config: Any, values: Mapping[str, Any]) -> Any:
    """A copy of ``config`` (a Config or one of its sections) with dotted keys set: ``{"embedding.mode": EmbeddingMode.frozen}``.

    The typed builder for a variant of a config: one job of a sweep, one vector source, a setting resolved on this
    machine. Values are typed (enum members, not their names); a key that is no field fails.
    """
    nested: dict[str, dict[str, Any]] = {}
    direct: dict[str, Any] = {}
    for key, value in values.items():
        head, _, rest = key.partition(".")
        if head not in {item.name for item in dataclasses.fields(config)}:
            raise KeyError(f"{key}: no such setting in {type(config).__name__}")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    changed = {head: with_values(getattr(config, head), inner) for head, inner in nested.items()}
    return dataclasses.replace(config, **direct, **changed)


def plain(value: Any) -> Any:
    """A config object (dataclasses, enums, lists) as plain JSON values: what a manifest records, and what a key holds."""
    if dataclasses.is_dataclass(value):
        return {item.name: plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def operational(section_type: type) -> list[str]:
    """The settings of a section that cannot change any output (``metadata=OPERATIONAL``): in no stage's key."""
    return [item.name for item in dataclasses.fields(section_type) if item.metadata.get("operational")]


AUTO_TEST_FRACTION = 0.2


def carved_test_fraction(config: Config) -> float:
    """The share of train that becomes the test split.

    ``preprocess.test_fraction`` when set; otherwise 0.2 for a CSV/JSONL/text
    training file (such a corpus has no test split of its own) and 0 for
    aclImdb (which has one).
    """
    if config.preprocess.test_fraction is not None:
        return float(config.preprocess.test_fraction)
    own_test_split = config.data.format is CorpusFormat.aclimdb or config.data.split is SourceSplit.test or config.data.splits.test
    return 0.0 if own_test_split else AUTO_TEST_FRACTION


def carved_validation_fraction(config: Config) -> float:
    """The share of train that becomes the validation split: none when ``data.splits`` names a validation file."""
    return 0.0 if config.data.splits.validation else float(config.preprocess.validation_fraction)
