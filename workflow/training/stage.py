"""Run one training job: inputs checked, model built under the strategy, trained, tested, exported.

Output: ``<workdir>/runs/<trainer.run_name>/`` (see workflow/artifacts.py).
``identity.json`` (what the run is: config, input hashes, global batch) is
written first and ``metrics.json`` last. A folder without metrics.json is an
unfinished run, and the same command resumes it from its last checkpoint; a
finished one is reported and not trained again.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from workflow import __version__
from workflow.artifacts import (
    ContractError,
    PreprocessLayout,
    RunLayout,
    Word2VecLayout,
    file_sha256,
    read_json,
    run_dir,
    stage_dir,
    write_json_atomic,
)
from workflow.config import Config, EmbeddingMode
from workflow.embeddings.stage import checked_vocabulary, load_embedding_matrix
from workflow.serving.text_model import export_text_model
from workflow.text import Tokenizer
from workflow.training import data
from workflow.training.loop import Trainer
from workflow.training.model import build_classifier, embedding_matrix
from workflow.training.strategy import describe, is_chief, make_strategy

log = logging.getLogger(__name__)
RESULT_SECTIONS = ("embedding", "model", "trainer", "seed")  # with the input hashes: what a result depends on


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [found for key in sorted(set(old) | set(new)) for found in differences(old.get(key), new.get(key), f"{prefix}{key}.")]
    return [] if old == new else [f"{prefix.rstrip('.')} ({old!r} -> {new!r})"]


def finished_run(layout: RunLayout, identity: dict) -> dict | None:
    """The metrics of the run in ``layout`` if it finished; None if it did not (or never started).

    A folder that holds another experiment (finished or not) is a ContractError
    naming the keys that differ: resuming it would mix two experiments.
    """
    if not os.path.exists(layout.identity):
        return None
    changed = differences(read_json(layout.identity), identity)
    if changed:
        raise ContractError(
            f"{layout.root} holds a run of another configuration ({'; '.join(changed[:5])}): "
            "choose another trainer.run_name or delete that folder"
        )
    return read_json(layout.metrics) if os.path.exists(layout.metrics) else None


def preprocess_tokenizer(preprocess: PreprocessLayout) -> dict:
    """The tokenizer settings the Beam job used (the exported model must reproduce them)."""
    manifest = read_json(preprocess.manifest)
    if "tokenizer" not in manifest:
        raise ContractError(f"{preprocess.manifest} does not record its tokenizer (an older version wrote it): re-run wf-preprocess")
    return manifest["tokenizer"]


def split_sizes(preprocess: PreprocessLayout) -> dict[str, int]:
    splits = read_json(preprocess.stats)["splits"]
    return {split: splits.get(split, {}).get("records_written", 0) for split in ("train", "validation", "test")}


def open_run_folder(layout: RunLayout, identity: dict, chief: bool, replace_stale: bool) -> dict | None:
    """The finished run's metrics if there is one; otherwise make sure the folder is this run's.

    Every worker checks (with a shared workdir they all see the chief's
    folder); only the chief writes. A folder of another configuration is
    refused, or replaced when ``replace_stale`` (wf-run).
    """
    try:
        finished = finished_run(layout, identity)
    except ContractError as stale:
        if not replace_stale:
            raise
        log.warning("replacing the stale run: %s", stale)
        if chief:
            shutil.rmtree(layout.root)
        finished = None
    if finished is None and chief and not os.path.exists(layout.identity):
        os.makedirs(layout.root, exist_ok=True)
        write_json_atomic(layout.identity, identity)
    return finished


def run(config: Config, resolved_config: dict) -> dict:
    """Train ``<workdir>/runs/<run_name>``; returns its metrics."""
    started = time.time()
    preprocess, vocabulary, vocab_sha256 = checked_vocabulary(config.workdir)
    tokenizer = Tokenizer(**preprocess_tokenizer(preprocess))
    sizes = split_sizes(preprocess)
    if sizes["train"] == 0:
        raise ContractError(f"{preprocess.root} has no training examples")
    mode = config.embedding.mode
    pretrained = None
    if mode is not EmbeddingMode.random:
        pretrained = load_embedding_matrix(config.workdir, vocab_sha256, len(vocabulary))
    dim = config.word2vec.vector_size if pretrained is None else pretrained.shape[1]

    strategy = make_strategy(config.strategy)
    if config.trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    chief = is_chief(strategy)
    replicas = strategy.num_replicas_in_sync
    global_batch_size = config.trainer.batch_size * replicas
    learning_rate = config.trainer.learning_rate * (replicas if config.trainer.scale_learning_rate else 1)
    identity = {
        "config": {key: resolved_config[key] for key in RESULT_SECTIONS},
        "inputs": {
            "vocab_sha256": vocab_sha256,
            "matrix_sha256": None if pretrained is None else file_sha256(Word2VecLayout(stage_dir(config.workdir, "word2vec")).matrix),
        },
        "embedding_dim": dim,
        "global_batch_size": global_batch_size,
    }
    layout = RunLayout(run_dir(config.workdir, config.trainer.run_name))
    finished = open_run_folder(layout, identity, chief, config.trainer.replace_stale_run)
    if finished is not None:
        log.info("%s already finished (test accuracy %s); delete it to train again", layout.root,
                 f"{finished['test']['accuracy']:.4f}" if finished["test"] else "n/a")
        return finished
    # Other workers of a cluster keep their checkpoints apart (on their own disk, or beside the chief's).
    own = layout if chief else RunLayout(os.path.join(layout.root, f".worker-{strategy.cluster_resolver.task_id}"))
    log.info("%s: %s embedding (%s x %d), %s encoder, global batch %d, learning rate %g",
             layout.root, mode.value, len(vocabulary), dim, config.model.encoder.value, global_batch_size, learning_rate)
    log.info("strategy: %s", describe(strategy))

    keras.utils.set_random_seed(config.seed)
    examples = {split: data.split_examples(preprocess, split, config.model.max_len) for split in sizes if sizes[split]}
    with strategy.scope():
        model = build_classifier(len(vocabulary), dim, mode, config.model, config.seed, pretrained)
    initial_embedding = embedding_matrix(model)
    trainer = Trainer(strategy, model, config.trainer, own.checkpoints, layout.tensorboard if chief else None, learning_rate)
    trainer.restore()
    best_weights = os.path.join(own.best, "model.weights.h5")
    os.makedirs(own.best, exist_ok=True)
    state = trainer.fit(
        examples["train"], sizes["train"], examples.get("validation"), sizes["validation"], config.seed,
        on_best=lambda: model.save_weights(best_weights),
    )
    model.load_weights(best_weights)
    test = trainer.evaluate(examples["test"], sizes["test"]) if sizes["test"] else None
    trainer.close()
    if not chief:
        shutil.rmtree(own.root, ignore_errors=True)
        return {}

    os.makedirs(os.path.dirname(layout.export), exist_ok=True)
    model.save(layout.export)
    export_text_model(model, [token for token, _ in vocabulary], tokenizer, config.model.max_len, layout.serving)
    metrics = {
        "run": config.trainer.run_name,
        "mode": mode.value,
        "seed": config.seed,
        "test": test,
        "validation_best_accuracy": state.best_accuracy,
        "best_epoch": state.best_epoch,
        "epochs_run": state.epoch,
        "stopped_early": state.stopped_early,
        "history": state.history,
        "train_examples_per_s": round(state.global_step * global_batch_size / state.train_seconds, 1) if state.train_seconds else None,
        "wall_time_s": round(time.time() - started, 2),
        "replicas": replicas,
        "strategy": describe(strategy),
        "global_batch_size": global_batch_size,
        "learning_rate": learning_rate,
        "examples": sizes,
        "embedding_rows_changed": int(np.any(embedding_matrix(model) != initial_embedding, axis=1).sum()),
        "identity": identity,
        "config": resolved_config,
        "process_id": os.getpid(),
        "versions": {"workflow": __version__, "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
    }
    write_json_atomic(layout.metrics, metrics)
    log.info("%s done in %.1f s: test accuracy %s, AUC %s -> %s", config.trainer.run_name, metrics["wall_time_s"],
             f"{test['accuracy']:.4f}" if test else "n/a", f"{test['auc']:.4f}" if test and test["auc"] else "n/a", layout.metrics)
    return metrics
