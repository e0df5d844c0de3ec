"""Stage 3: the Keras Embedding classifier, trained under a tf.distribute strategy.

data.py (tf.data from the TFRecord splits) -> model.py + encoders.py (Embedding
and encoder) -> strategy.py (which devices) -> loop.py (custom distributed
step, checkpoints, TensorBoard) -> stage.py (one run folder, metrics.json).
"""
