"""A TensorBoard projector folder: the pretrained vectors and each arm's trained Embedding table, with columns to colour them by.

Keras 3's ``TensorBoard(embeddings_freq=...)`` writes .weights.h5 files the
projector cannot read (keras-team/keras#20210), so this writes what the plugin
reads: one name-based TF checkpoint holding a ``[tokens, dim]`` tensor per table,
named as the projector's tensor menu shows it (``word2vec``,
``finetune-cnn3-word2vec-rownorm-seed0``; an object-based ``tf.train.Checkpoint``
would show ``<name>/.ATTRIBUTES/VARIABLE_VALUE``), one metadata file per
table and ``projector_config.pbtxt``. An event file makes the folder a
TensorBoard run, so ``tensorboard --logdir <workdir>`` lists it beside the
training runs.

``metadata/<table>.tsv`` has a header (the projector reads one when there is
more than one column), then one line per projected row (vocabulary rows
2..N+1, the most frequent tokens)::

    token  count  polarity  in_labelled_training  moved

* ``count``: the token's count in the training-side text (vocab.tsv);
* ``polarity``: its NBSVM log-count ratio in the labelled training reviews
  the table's run trained on (its label budget's subset; polarity.py):
  above 0 in more positive than negative reviews;
* ``in_labelled_training``: 1 when at least one of those reviews contains it, else 0;
* ``moved``: the L2 distance between the row where the run's training started and
  where it ended (0 everywhere for a frozen table; empty when the start cannot be
  rebuilt, e.g. the vectors were re-trained since).

The pretrained vectors' table carries the columns of the fine-tuned run that
started from it (the arm shown beside it; ``moved`` from its start at the run's
``embedding.scale``), so that colouring the vectors by
``moved`` shows what fine-tuning changed; without such a run, polarity over
every labelled training review and no ``moved``. The projector offers every
numeric column in its "Color by" menu (a gradient; 0/1 as two colours) and
searches any column.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins import projector

from workflow.embeddings.output import Word2VecOutput
from workflow.errors import ContractError
from workflow.preprocess.output import PreprocessOutput
from workflow.report.insight import split_reviews
from workflow.report.polarity import log_count_ratio, review_counts, row_shift
from workflow.report.runs import FinishedRun, mode_rank
from workflow.training.model import embedding_matrix, load_classifier
from workflow.training.scale import RANDOM_INIT_BOUND, rescale

log = logging.getLogger(__name__)
FIRST_TOKEN = 2  # rows 0 and 1 are <pad> and <unk>
METADATA_FOLDER = "metadata"
COLUMNS = ("token", "count", "polarity", "in_labelled_training", "moved")
CHECKPOINT = "embeddings.ckpt"


@dataclass(frozen=True)
class LabelledTokens:
    """What one set of labelled training reviews says about each vocabulary id (``[vocab]`` arrays)."""

    polarity: np.ndarray
    present: np.ndarray  # bool: in at least one of the reviews
    reviews: int

    @classmethod
    def read(cls, preprocess: PreprocessOutput, label_budget: int | None, vocabulary_size: int) -> "LabelledTokens":
        """From the labelled training reviews of a label budget (None: all), read as training reads them (training/data.py)."""
        reviews, labels = split_reviews(preprocess, "train", label_budget)
        positive, negative = review_counts(reviews, labels, vocabulary_size)
        return cls(log_count_ratio(positive, negative), (positive + negative) > 0, len(reviews))


@dataclass(frozen=True)
class ProjectedTable:
    """One tensor of the projector: the full ``[vocab, dim]`` table and its metadata columns (``[vocab]`` each)."""

    name: str
    matrix: np.ndarray
    labelled: LabelledTokens
    moved: np.ndarray | None  # None: where training started is not known


def metadata_path(name: str) -> str:
    """A table's metadata file, relative to the projector folder (and so to projector_config.pbtxt)."""
    return f"{METADATA_FOLDER}/{name}.tsv"


def _number(value: float) -> str:
    return "0" if value == 0 else f"{value:.4g}"


def write_projector(logdir: str, tables: list[ProjectedTable], vocabulary: list[tuple[str, int]], tokens: int) -> dict[str, list[int]]:
    """Write ``tables`` for the ``tokens`` most frequent tokens; returns the shapes (name -> ``[tokens, dim]``)."""
    os.makedirs(os.path.join(logdir, METADATA_FOLDER), exist_ok=True)
    rows = vocabulary[FIRST_TOKEN : FIRST_TOKEN + tokens]
    shown = slice(FIRST_TOKEN, FIRST_TOKEN + len(rows))
    for table in tables:
        polarity, present = table.labelled.polarity[shown], table.labelled.present[shown]
        moved = [""] * len(rows) if table.moved is None else [_number(value) for value in table.moved[shown]]
        with open(os.path.join(logdir, metadata_path(table.name)), "w", encoding="utf-8") as handle:
            handle.write("\t".join(COLUMNS) + "\n")
            handle.writelines(f"{token}\t{count}\t{polarity[i]:.4f}\t{int(present[i])}\t{moved[i]}\n"
                              for i, (token, count) in enumerate(rows))
    projected = {table.name: table.matrix[shown].astype(np.float32) for table in tables}
    names = list(projected)
    tf.raw_ops.SaveV2(prefix=os.path.join(logdir, CHECKPOINT), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[projected[name] for name in names])
    # A relative path and no model_checkpoint_path in the config: the plugin finds the checkpoint
    # through this file, so the folder still works after it is moved (out of staging, or copied).
    with open(os.path.join(logdir, "checkpoint"), "w", encoding="utf-8") as handle:
        handle.write(f'model_checkpoint_path: "{CHECKPOINT}"\n')
    config = projector.ProjectorConfig()
    for name in names:
        embedding = config.embeddings.add()
        embedding.tensor_name = name
        embedding.metadata_path = metadata_path(name)
    projector.visualize_embeddings(logdir, config)
    with tf.summary.create_file_writer(logdir).as_default():
        tf.summary.text("projector", f"{len(tables)} embedding tables x {len(rows)} tokens: {', '.join(names)}; metadata columns: "
                        f"{', '.join(COLUMNS)}", step=0)
    return {name: list(table.shape) for name, table in projected.items()}


def starting_table(workdir: str, vocab_sha256: str, run: FinishedRun, trained: np.ndarray) -> np.ndarray | None:
    """The table ``run``'s training started from, rebuilt; None (and a log line) when it cannot be.

    frozen and finetune: the matrix of the run's vector source, at the run's ``embedding.scale``, if it is
    still the one the run read (its digest); random: the layer's initializer draw for the run's seed
    (training/model.py). Either way the ``<pad>`` row, which no gradient reaches, must be the trained one's.
    """
    embedding = run.metrics.config["embedding"]
    if run.mode == "random":
        initializer = keras.initializers.RandomUniform(-RANDOM_INIT_BOUND, RANDOM_INIT_BOUND, seed=run.seed)
        start = keras.ops.convert_to_numpy(initializer(trained.shape))
    else:
        try:
            vectors = Word2VecOutput(workdir, embedding.get("vectors"))
            same = vectors.exists() and vectors.matrix_sha256 == run.metrics.identity["inputs"]["matrix_sha256"]
            start = rescale(vectors.matrix(vocab_sha256, len(trained)), run.row_scale) if same else None
        except ContractError as error:  # the vectors' folder changed since (re-run, another format)
            log.info("projector: %s: %s; no 'moved' column for it", run.name, error)
            return None
        if start is None:
            log.info("projector: %s: the vectors it started from are no longer in %s; no 'moved' column for it", run.name, workdir)
            return None
    if start.shape != trained.shape or not np.array_equal(start[0], trained[0]):
        log.warning("projector: %s: its starting table could not be rebuilt (the <pad> row differs); no 'moved' column for it", run.name)
        return None
    return start


def projected_tables(workdir: str, preprocess: PreprocessOutput, source_name: str, pretrained: np.ndarray | None,
                     runs: list[FinishedRun]) -> list[ProjectedTable]:
    """The pretrained table of ``source_name`` (when there is one) and the trained table of each arm's first run in ``runs``."""
    vocabulary_size = len(preprocess.vocabulary())
    evidence: dict[int | None, LabelledTokens] = {}

    def labelled(budget: int | None) -> LabelledTokens:  # read once per label budget
        if budget not in evidence:
            evidence[budget] = LabelledTokens.read(preprocess, budget, vocabulary_size)
        return evidence[budget]

    first_of_arm: dict[str, FinishedRun] = {}
    for run in runs:
        first_of_arm.setdefault(run.label, run)
    tables, tuned_from_source = [], None
    for run in (first_of_arm[arm] for arm in sorted(first_of_arm, key=mode_rank)):
        trained = embedding_matrix(load_classifier(run.output.classifier))
        start = starting_table(workdir, preprocess.vocab_sha256, run, trained)
        moved = None if start is None else row_shift(start, trained)
        table = ProjectedTable(run.name, trained, labelled(run.metrics.label_budget), moved)
        tables.append(table)
        # the pretrained table's "moved" column: how far fine-tuning took each of its rows from where the run started them
        # (at the run's embedding.scale)
        if tuned_from_source is None and run.mode == "finetune" and run.vectors == source_name:
            tuned_from_source = table
    if pretrained is not None:
        like = tuned_from_source
        tables.insert(0, ProjectedTable(source_name, pretrained, like.labelled if like else labelled(None), like.moved if like else None))
    return tables
