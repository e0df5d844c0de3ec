"""Stage 3: the Keras Embedding classifier, trained under a tf.distribute strategy.

data.py (tf.data from the TFRecord splits) -> model.py + encoders.py (Embedding
and encoder) -> strategy.py (which devices) -> trainer.py (custom distributed
step and the epochs; checkpoints.py, epochs.py, evaluation.py, summaries.py,
progress.py) -> stage.py (one run folder, metrics.json; export.py: the
raw-string SavedModel) -> output.py (the reader of a finished run). identity.py
names and keys a run, without TensorFlow.
"""
