"""The classifier's compute dtype: float32, or bfloat16 where the hardware computes it natively.

``mixed_bfloat16`` is Keras's mixed policy: layers compute in bfloat16 and keep
float32 variables, so the Embedding tables (whose rows are cast after the
gather), the optimizer's moments and every update stay float32; the output
unit computes in float32 too, so the loss and the probabilities are float32.
bfloat16 has float32's exponent range: no loss scaling is needed.
``mixed_float16`` is the same policy in float16, whose five exponent bits
need the loss scaled (loss_scale.py): for GPUs before Ampere, whose tensor
cores compute float16 but not bfloat16; ``auto`` never picks it.

``auto`` picks bfloat16 where it is native and float32 elsewhere: on GPUs of
compute capability >= 8.0 (Ampere and later) and on CPUs with AMX-BF16
(``amx_bf16`` in /proc/cpuinfo; measured on one: a cnn3-sized step 11.7 ms
against 13.9 in float32). It depends on the machine, so the training stage
puts the resolved policy in the run's key.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import tensorflow as tf

from workflow.config import Precision

OUTPUT_DTYPE = "float32"  # the sentiment unit: a float32 sigmoid and loss whatever the policy


def cpu_has_amx_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU's flags list ``amx_bf16`` (False where /proc/cpuinfo does not exist)."""
    try:
        with open(cpuinfo) as lines:
            return any(line.startswith("flags") and "amx_bf16" in line.split() for line in lines)
    except OSError:
        return False


def resolve(precision: Precision) -> Precision:
    """``auto`` -> ``mixed_bfloat16`` where every GPU (or, without GPUs, the CPU) computes bfloat16 natively, else ``float32``."""
    if precision is not Precision.auto:
        return precision
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        native = all(tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0)) >= (8, 0) for gpu in gpus)
    else:
        native = cpu_has_amx_bf16()
    return Precision.mixed_bfloat16 if native else Precision.float32


@contextlib.contextmanager
def dtype_policy(precision: Precision) -> Iterator[None]:
    """Keras's global dtype policy set to ``precision`` (resolved) while the block builds layers; restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve(precision).value)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
