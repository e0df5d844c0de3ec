"""Stage 3: the Keras Embedding classifier, trained under a tf.distribute strategy.

data.py (tf.data from the TFRecord splits) -> model.py + encoders.py (Embedding
and encoder) -> strategy.py (which devices) -> trainer.py (custom distributed
step and the epochs; checkpoints.py, epochs.py, evaluation.py, summaries.py,
progress.py) -> stage.py (one run folder, metrics.json; export.py: the
raw-string SavedModel).
"""

import os

from workflow.training.devices import grow_gpu_memory

# TensorFlow reads this once per process, at its first scatter. With op determinism on and it unset, a GPU
# scatter (resource_variable_ops.cc's DoScatter) copies the whole variable to the host, scatters there and
# copies it back: three times per fine-tuned table per step in the lazy Adam update. Every scatter of the
# training step writes indices made unique first (optimizer.sum_duplicate_rows; tests/unit/test_steps.py
# checks the step's graph), and a scatter of unique indices is deterministic on the device. workflow/cli.py
# sets it before anything imports TensorFlow; this covers other entry points (benchmarks, notebooks).
os.environ.setdefault("TF_DISABLE_SCATTER_OP_DETERMINISM", "1")
grow_gpu_memory()  # GPU memory as it is needed, in this process and the ones it starts (devices.py)
