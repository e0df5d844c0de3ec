"""An epoch's end: its history record, the choice of the epoch to test, early stopping.

With a validation split, the epoch of the best validation accuracy (the first
of equal ones) is the one tested, and training stops early after
``early_stopping_patience`` epochs without a better one (never on the last
epoch, where it would change nothing). Without one nothing is selected, since
a training accuracy is no validation score: every epoch replaces the last, so
the last epoch is tested.
"""

from __future__ import annotations

from typing import Any

from workflow.training.checkpoints import TrainState


def record(state: TrainState) -> dict[str, Any]:
    """The history entry of the epoch that ``state`` has just trained (its training loss and accuracy)."""
    sums = state.epoch_sums
    return {"epoch": state.epoch + 1, "loss": sums["loss"] / sums["examples"], "accuracy": sums["correct"] / sums["examples"]}


def select(state: TrainState, validation_accuracy: float | None, patience: int, epochs: int) -> bool:
    """Whether the epoch just trained is the one to keep (so far); updates the best epoch and early stopping in ``state``.

    ``validation_accuracy``: None without a validation split.
    """
    if validation_accuracy is None:
        return True
    if state.best_accuracy is None or validation_accuracy > state.best_accuracy:
        state.best_accuracy, state.best_epoch, state.epochs_without_improvement = validation_accuracy, state.epoch + 1, 0
        return True
    state.epochs_without_improvement += 1
    if patience and state.epochs_without_improvement >= patience and state.epoch + 1 < epochs:
        state.stopped_early = True
    return False


def advance(state: TrainState) -> None:
    """The epoch is done: the next one starts at its first step, with empty sums."""
    state.epoch += 1
    state.step_in_epoch = 0
    state.epoch_sums = {"loss": 0.0, "correct": 0.0, "examples": 0.0}
