"""A TensorBoard projector folder: word2vec vectors and each mode's trained Embedding table.

Keras 3's ``TensorBoard(embeddings_freq=...)`` writes .weights.h5 files the
projector cannot read (keras-team/keras#20210), so this writes what the plugin
reads: one name-based TF checkpoint holding a ``[tokens, dim]`` tensor per table,
named as the projector's tensor menu shows it (``word2vec``,
``finetune-cnn3-word2vec-seed0``; an object-based ``tf.train.Checkpoint``
would show ``<name>/.ATTRIBUTES/VARIABLE_VALUE``), ``metadata.tsv`` (a header,
then token<TAB>count for rows 2..N+1 of the vocabulary) and
``projector_config.pbtxt``. An event file makes the folder a TensorBoard run,
so ``tensorboard --logdir <workdir>`` lists it beside the training runs.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tensorboard.plugins import projector

FIRST_TOKEN = 2  # rows 0 and 1 are <pad> and <unk>
METADATA = "metadata.tsv"
CHECKPOINT = "embeddings.ckpt"


def write_projector(logdir: str, tables: dict[str, np.ndarray], vocabulary: list[tuple[str, int]], tokens: int) -> dict[str, list[int]]:
    """Write ``tables`` (name -> full ``[vocab, dim]`` matrix) for the ``tokens`` most frequent tokens; returns the shapes."""
    os.makedirs(logdir, exist_ok=True)
    rows = vocabulary[FIRST_TOKEN : FIRST_TOKEN + tokens]
    with open(os.path.join(logdir, METADATA), "w", encoding="utf-8") as handle:
        handle.write("token\tcount\n")
        handle.writelines(f"{token}\t{count}\n" for token, count in rows)
    projected = {name: matrix[FIRST_TOKEN : FIRST_TOKEN + len(rows)].astype(np.float32) for name, matrix in tables.items()}
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
        embedding.metadata_path = METADATA
    projector.visualize_embeddings(logdir, config)
    with tf.summary.create_file_writer(logdir).as_default():
        tf.summary.text("projector", f"{len(tables)} embedding tables x {len(rows)} tokens: {', '.join(tables)}", step=0)
    return {name: list(table.shape) for name, table in projected.items()}
