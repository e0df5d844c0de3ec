"""Run one training job: inputs checked, model built under the strategy, trained, tested, exported.

Output: ``<workdir>/runs/<run name>/`` (layout.py, run_folder.py), read through
``RunOutput`` (output.py). The run's name and cache key come from
identity.py: a finished run with the same key is re-used; a checkpointed
one resumes.

A run pins the preprocessing version it starts from for its whole life (its test metrics come from the data it trained
on, whatever is published meanwhile), and its chief holds the run folder's writer lock (run_folder.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from workflow import __version__
from workflow.artifacts import write_json_atomic
from workflow.caching import why_outdated
from workflow.config import Config, EmbeddingMode, plain, with_values
from workflow.embeddings.layout import source_name
from workflow.embeddings.ngram_output import NgramOutput, NgramRows, table_buckets
from workflow.embeddings.output import Word2VecOutput
from workflow.errors import ContractError
from workflow.paragraphs import stage as paragraph_stage
from workflow.paragraphs.output import RERUN as PARAGRAPHS_RERUN
from workflow.paragraphs.output import ParagraphOutput, paragraph_dir
from workflow.preprocess import output as preprocess_output
from workflow.preprocess.layout import SPLITS
from workflow.preprocess.output import PreprocessOutput
from workflow.training import data, devices, identity, precision
from workflow.training.checkpoints import TrainState
from workflow.training.documents import DocumentTable, document_table
from workflow.training.encoders import HashedBigrams, HashedTrigrams
from workflow.training.export import export_text_model
from workflow.training.hparams import run_hparams, write_session
from workflow.training.layout import PREDICTED_SPLITS, RunLayout
from workflow.training.model import build_classifier, embedding_matrix
from workflow.training.optimizer import DENSE_UPDATE
from workflow.training.output import RunMetrics, RunOutput, Score
from workflow.training.progress import STEPS
from workflow.training.run_folder import open_run_folder, publish_run
from workflow.training.scale import rescale
from workflow.training.scoring import write_predictions
from workflow.training.strategy import describe, is_chief, make_strategy
from workflow.training.trainer import Controller, Trainer

log = logging.getLogger(__name__)
CODE = identity.Code(bigram_hash=HashedBigrams.HASH, trigram_hash=HashedTrigrams.HASH, dense_update=DENSE_UPDATE)  # in the key (identity.py rule 4)
# How the tested epoch was chosen. Without a validation split nothing is selected: a training accuracy is never a validation score.
SELECTION = {True: "the best validation epoch is tested", False: "no validation: the last epoch is tested"}


@dataclass
class TrainingInputs:
    """What a training run reads from the earlier stages, checked against their manifests."""

    preprocess: PreprocessOutput
    vocabulary: list[tuple[str, int]]
    sizes: dict[str, int]  # examples per labelled split; train: within the label budget
    pretrained: np.ndarray | None  # None in random mode: the matrix is never read
    matrix_sha256: str | None
    train_hash_threshold: int | None  # the label budget as an id-hash threshold (training/data.py); None = every review
    random_width: int  # the table's width in random mode: the imported matrix's, or word2vec.vector_size
    ngram_rows: dict[int, NgramRows] | None = None  # order -> pretrained n-gram rows (rescaled); None: embedding.ngrams=random
    ngram_rows_sha256: str | None = None
    documents: DocumentTable | None = None  # the reviews' paragraph vectors (model.paragraph_vectors); None without

    @classmethod
    def read(cls, config: Config, preprocess: PreprocessOutput | None = None) -> "TrainingInputs":
        """``preprocess``: the (pinned) output to read; by default the current one."""
        preprocess = preprocess or PreprocessOutput(config.workdir)
        vocabulary = preprocess.vocabulary()
        sizes = preprocess.split_sizes()
        if sizes["train"] == 0:
            raise ContractError(f"{preprocess.layout.root} has no training examples")
        threshold, budget = None, config.trainer.label_budget
        if budget is not None and budget < sizes["train"]:
            threshold, sizes["train"] = data.budget_threshold(preprocess.example_files("train"), budget)
        elif budget is not None:
            log.warning("trainer.label_budget=%d: the training split has only %d labelled reviews; all are used", budget, sizes["train"])
        pretrained = matrix_sha256 = None
        word2vec = Word2VecOutput(config.workdir, config.embedding.vectors)
        width = config.word2vec.vector_size
        if config.embedding.mode is not EmbeddingMode.random:
            check_vector_source(config, word2vec)
            pretrained, matrix_sha256 = word2vec.matrix(preprocess.vocab_sha256, len(vocabulary)), word2vec.matrix_sha256
            pretrained = rescale(pretrained, config.embedding.scale)
        elif config.embedding.vectors is not None:  # random rows as wide as the imported matrix the other modes start from
            check_vector_source(config, word2vec)
            width = word2vec.manifest["outputs"]["dim"]
        inputs = cls(preprocess, vocabulary, sizes, pretrained, matrix_sha256, threshold, width)
        if config.embedding.ngrams is not EmbeddingMode.random:
            ngrams = NgramOutput(config.workdir, config.embedding.vectors)
            found = ngrams.rows(preprocess.vocab_sha256, table_buckets(config), inputs.dim(), matrix_sha256)
            inputs.ngram_rows = {order: NgramRows(table.rows, rescale(table.vectors, config.embedding.scale)) for order, table in found.items()}
            inputs.ngram_rows_sha256 = ngrams.rows_sha256
        if config.model.paragraph_vectors:
            inputs.documents = read_documents(config, preprocess)
        return inputs

    def dim(self) -> int:
        return self.random_width if self.pretrained is None else int(self.pretrained.shape[1])

    def digests(self) -> identity.RunInputs:
        """What the run's key records of its inputs."""
        return identity.RunInputs(self.preprocess.examples_sha256, self.preprocess.manifest["tokenizer"], self.preprocess.vocab_sha256,
                                  self.matrix_sha256, self.ngram_rows_sha256, self.dim(),
                                  None if self.documents is None else self.documents.sha256)


def read_documents(config: Config, preprocess: PreprocessOutput) -> DocumentTable:
    """The document table of ``paragraph_vectors.seed``'s paragraph vectors (ContractError, naming the command, when they
    are missing or were made from other examples)."""
    paragraphs = ParagraphOutput(paragraph_dir(config.workdir, config.paragraph_vectors.seed))
    outdated = why_outdated(paragraphs.manifest["key"], paragraph_stage.key(config, preprocess), config)
    if outdated:
        raise ContractError(f"{paragraphs.root}: the paragraph vectors are not this config's ({outdated}): run {PARAGRAPHS_RERUN} "
                            "(wf-run does)")
    return document_table(paragraphs, {split: data.doc_ids(preprocess.example_files(split)) for split in SPLITS})


def check_vector_source(config: Config, word2vec: Word2VecOutput) -> None:
    """ContractError when the source's folder holds vectors from another file than ``embedding.vectors`` names
    (two files of the same name share ``<workdir>/imported/<name>``: the last one imported is there)."""
    recorded = word2vec.manifest["inputs"]["vectors"]
    recorded_path = recorded.get("path") if recorded["kind"] == "import" else None
    if recorded_path != config.embedding.vectors:
        raise ContractError(
            f"{word2vec.layout.root} holds vectors from {recorded_path or 'word2vec trained on the corpus'}, but "
            f"embedding.vectors={config.embedding.vectors!r}: run wf-word2vec with the same embedding.vectors first (wf-run does)")


def run(config: Config) -> RunOutput | None:
    """Train ``<workdir>/runs/<run name>`` (or re-use it when it finished with the same key); the finished run (None on a
    worker that is not the chief).

    The preprocessing version stays pinned, and the chief's run folder lock held, until it returns.
    """
    devices.tensorflow_environment()  # before TensorFlow's first GPU op and scatter, for a run started outside the commands
    with preprocess_output.pinned(config.workdir) as preprocess, contextlib.ExitStack() as held:
        return train_run(config, preprocess, held)


def train_run(config: Config, preprocess: PreprocessOutput, held: contextlib.ExitStack) -> RunOutput | None:
    """:func:`run` on the pinned ``preprocess``; ``held`` keeps the chief's run folder lock until the caller's block ends."""
    started, asked = time.time(), plain(config)  # the config as asked for (trainer.precision=auto, not what it resolved to)
    name = identity.run_name(config)
    strategy = make_strategy(config.strategy)  # first: reading the inputs runs TensorFlow ops (a label budget's tf.data)
    inputs = TrainingInputs.read(config, preprocess)
    config = resolve_machine_settings(config)
    chief, replicas = is_chief(strategy), strategy.num_replicas_in_sync
    global_batch_size = config.trainer.batch_size * replicas
    run_key = identity.key(config, inputs.digests(), global_batch_size, CODE)
    folder, finished = open_run_folder(RunOutput.named(config.workdir, name).layout, run_key, config, chief, held)
    if finished:
        run = RunOutput(folder.final.root)
        test = run.metrics.test
        log.info("%s already finished with this configuration and these inputs (test accuracy %s): re-used", run.root,
                 f"{test.accuracy:.4f}" if test else "n/a")
        return run
    layout = folder.layout  # the run's own name, or beside a finished run of another configuration until this one finishes

    learning_rate = config.trainer.learning_rate * (replicas if config.trainer.scale_learning_rate else 1)
    announce(config, inputs, strategy, layout, learning_rate)
    trained = train_and_test(config, name, inputs, strategy, layout, learning_rate)
    if not chief:
        return None
    export(config, inputs, layout, trained)
    metrics = run_metrics(config, name, asked, inputs, strategy, run_key, learning_rate, trained, started)
    write_session(layout.tensorboard, name, {**run_hparams(config, inputs.sizes["train"]), "selection": metrics.selection},
                  trained.test.accuracy if trained.test else None, trained.state.best_accuracy)
    write_json_atomic(layout.metrics, metrics.to_json())
    publish_run(folder)
    test, state = trained.test, trained.state
    tested = (f"epoch {state.best_epoch} of {state.epoch} tested{' (stopped early)' if state.stopped_early else ''}" if metrics.selection == SELECTION[True]
              else f"{SELECTION[False]} ({state.epoch})")
    log.info("%s done in %.1f s, %s: test accuracy %s, AUC %s", name, metrics.wall_time_s, tested,
             f"{test.accuracy:.4f}" if test else "n/a", f"{test.auc:.4f}" if test and test.auc else "n/a")
    return RunOutput(folder.final.root)


def resolve_machine_settings(config: Config) -> Config:
    """What depends on the machine, settled before the key is computed: the config with ``trainer.precision=auto``
    resolved (the key and the model get what it resolves to here); op determinism on where ``trainer.deterministic``."""
    if config.trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    return with_values(config, {"trainer.precision": precision.resolve(config.trainer.precision)})


def announce(config: Config, inputs: TrainingInputs, strategy: tf.distribute.Strategy, layout: RunLayout, learning_rate: float) -> None:
    """What the run trains and where, in its log file; the terminal names the run on each epoch line."""
    global_batch_size = config.trainer.batch_size * strategy.num_replicas_in_sync
    STEPS.info("%s: %s embedding (%s x %d), %s encoder, global batch %d, learning rate %g", layout.root, config.embedding.mode.value,
             len(inputs.vocabulary), inputs.dim(), config.model.encoder.value, global_batch_size, learning_rate)
    STEPS.info("strategy: %s", describe(strategy))
    if inputs.sizes["validation"] == 0:
        log.warning("%s: all %d epochs (trainer.epochs), no early stopping", SELECTION[False], config.trainer.epochs)


def export(config: Config, inputs: TrainingInputs, layout: RunLayout, trained: Trained) -> None:
    """The trained classifier (export/model.keras), its raw-string SavedModel (export/serving/, export.py; not for a network
    with a document table, which has rows for the corpus's reviews only) and its predictions on the validation and test
    splits it has (scoring.py, predictions.py)."""
    os.makedirs(os.path.dirname(layout.export), exist_ok=True)
    trained.model.save(layout.export)
    if inputs.documents is None:
        export_text_model(trained.model, [token for token, _ in inputs.vocabulary], inputs.preprocess.tokenizer(), config.model.max_len,
                          layout.serving)
    else:
        log.info("%s: no serving model: the network reads paragraph vectors, which only the corpus's reviews have", layout.root)
    for split in PREDICTED_SPLITS:
        if inputs.sizes[split] and (split != "test" or trained.test is not None):
            write_predictions(layout, split, trained.model, inputs.preprocess.example_files(split), config.model.max_len,
                              inputs.preprocess.films, inputs.documents)


def run_metrics(config: Config, name: str, asked: dict, inputs: TrainingInputs, strategy: tf.distribute.Strategy, run_key: dict,
                learning_rate: float, trained: Trained, started: float) -> RunMetrics:
    """metrics.json of a finished run (``asked``: the config as asked for; ``started``: its ``time.time()`` at the start)."""
    replicas = strategy.num_replicas_in_sync
    state = trained.state
    return RunMetrics(
        run=name,
        mode=config.embedding.mode,
        seed=config.seed,
        label_budget=config.trainer.label_budget,
        vector_source=source_name(config.embedding.vectors),
        embedding_scale=config.embedding.scale if config.embedding.mode is not EmbeddingMode.random else None,
        embedding_ngrams=config.embedding.ngrams,
        ngram_scale=config.embedding.scale if config.embedding.ngrams is not EmbeddingMode.random else None,
        test=trained.test,
        selection=SELECTION[inputs.sizes["validation"] > 0],
        validation_best_accuracy=state.best_accuracy,
        best_epoch=state.best_epoch,
        epochs_run=state.epoch,
        stopped_early=state.stopped_early,
        history=state.history,
        train_examples_per_s=round(state.global_step * config.trainer.batch_size * replicas / state.train_seconds, 1) if state.train_seconds else None,
        wall_time_s=round(time.time() - started, 2),
        replicas=replicas,
        strategy=describe(strategy),
        global_batch_size=config.trainer.batch_size * replicas,
        learning_rate=learning_rate,
        examples=inputs.sizes,
        embedding_rows_changed=trained.rows_changed,
        identity=run_key,
        config=asked,
        process_id=os.getpid(),
        versions={"workflow": __version__, "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
    )


class Trained(NamedTuple):
    """What :func:`train_and_test` returns."""

    model: keras.Model
    state: TrainState  # the final training state
    test: Score | None  # the test metrics (None without a test split, or trainer.score_test=false)
    rows_changed: int  # embedding rows that training changed


def train_and_test(config: Config, name: str, inputs: TrainingInputs, strategy: tf.distribute.Strategy, layout: RunLayout,
                   learning_rate: float) -> Trained:
    """Build, train (resuming), restore the best validation epoch (the last epoch without validation), test."""
    chief = is_chief(strategy)
    # A non-chief worker's own checkpoints go to a scratch folder that nobody reads; it is removed at the end.
    scratch = None if chief else os.path.join(layout.root, f".worker-{strategy.cluster_resolver.task_id}")
    keras.utils.set_random_seed(config.seed)
    sizes = inputs.sizes
    lookup = None if inputs.documents is None else inputs.documents.lookup()
    examples = {split: data.split_examples(inputs.preprocess.example_files(split), config.model.max_len,
                                           inputs.train_hash_threshold if split == "train" else None, lookup)
                for split in sizes if sizes[split]}
    with strategy.scope():
        model = build_classifier(len(inputs.vocabulary), inputs.dim(), config.embedding.mode, config.model, config.seed, inputs.pretrained,
                                 config.trainer.precision, config.embedding.ngrams, inputs.ngram_rows,
                                 None if inputs.documents is None else inputs.documents.vectors)
    initial_embedding = embedding_matrix(model)
    controller = Controller(Trainer(strategy, model, config.trainer, learning_rate), config.trainer, layout.checkpoints,
                            layout.tensorboard if chief else None, scratch_dir=None if chief else os.path.join(scratch, "checkpoints"),
                            display=config.terminal.progress, name=name)
    controller.restore()
    if chief:
        os.makedirs(layout.best, exist_ok=True)
    state = controller.fit(examples["train"], sizes["train"], examples.get("validation"), sizes["validation"], config.seed,
                           on_best=(lambda: model.save_weights(layout.best_weights)) if chief else (lambda: None))
    controller.barrier()  # the chief has written the best weights
    model.load_weights(layout.best_weights)
    test = Score(**controller.evaluate(examples["test"], sizes["test"])) if sizes["test"] and config.trainer.score_test else None
    controller.close()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    return Trained(model, state, test, int(np.any(embedding_matrix(model) != initial_embedding, axis=1).sum()))
