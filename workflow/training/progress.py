"""What a training job shows while it trains: a live bar on a terminal, plain lines elsewhere, step lines in its log file.

``terminal.progress`` (:class:`~workflow.config.ProgressDisplay`) picks the display:

- ``bar``: one tqdm bar per job on standard output (the sweep sends a job's
  standard error to its log file; standard output is the user's terminal):
  epoch k/N, step, ETA, the running loss and accuracy, examples/s and the best
  validation accuracy so far. It is cleared at each epoch's end, where the
  epoch's line takes its place, so the terminal keeps one line per epoch.
  While it is shown, the log records that console handlers print go through
  ``tqdm.write``, above the bar instead of through it.
- ``lines``: no control characters at all; one line per epoch
  (``<run> epoch 3/20: loss 0.4100, accuracy 0.8100, validation accuracy 0.7900 (best 0.8000), 1,950 examples/s``).
- ``auto``: ``bar`` when standard output is a TTY, ``lines`` otherwise.

The epoch lines go to this module's logger, so they reach the terminal and
the log file alike. Everything else a run learns while it trains (a line every
tenth of an epoch, the full epoch record with validation loss and AUC, each
checkpoint saved, the input pipeline's widths) goes to :data:`STEPS`, the
``workflow.training.progress.steps`` logger: the log configuration sends it to the log
file only, and to the terminal too with ``terminal.steps=true``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Any, TextIO

from tqdm import tqdm

from workflow.config import ProgressDisplay
from workflow.console import log_above_the_bar, shows_bar

log = logging.getLogger(__name__)
STEPS = logging.getLogger("workflow.training.progress.steps")  # per-step facts: the log file (the terminal with terminal.steps=true)
LINES_PER_EPOCH = 10  # step lines to STEPS per epoch
BAR_MOVES_PER_EPOCH = 50  # bar updates per epoch (each reads the running sums from the devices)
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| step {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


def epoch_line(name: str, epochs: int, record: dict[str, Any], best: float | None, examples_per_s: float) -> str:
    """The epoch's one line on the terminal (``record``: the history entry of the epoch)."""
    parts = [f"loss {record['loss']:.4f}", f"accuracy {record['accuracy']:.4f}"]
    if record.get("val_accuracy") is not None:
        parts.append(f"validation accuracy {record['val_accuracy']:.4f}" + (f" (best {best:.4f})" if best is not None else ""))
    parts.append(f"{examples_per_s:,.0f} examples/s")
    return f"{name} epoch {record['epoch']}/{epochs}: " + ", ".join(parts)


class Progress:
    """The progress of one training job's fit, epoch by epoch (use it as a context manager around the epochs).

    ``due(step)`` says whether the display wants the running loss and accuracy
    at ``step`` (the trainer then reads them from the devices); ``update``
    shows them; ``end_epoch`` writes the epoch's line.
    """

    def __init__(self, name: str, epochs: int, steps_per_epoch: int, global_batch_size: int,
                 display: ProgressDisplay = ProgressDisplay.auto, stream: TextIO | None = None):
        self.name, self.epochs, self.steps, self.global_batch_size = name, epochs, steps_per_epoch, global_batch_size
        self.stream = stream if stream is not None else sys.stdout
        self.bar_shown = shows_bar(display, self.stream)
        self.line_interval = max(1, steps_per_epoch // LINES_PER_EPOCH)
        self.bar_interval = max(1, steps_per_epoch // BAR_MOVES_PER_EPOCH)
        self.bar: tqdm | None = None
        self._held = contextlib.ExitStack()

    def __enter__(self) -> "Progress":
        if self.bar_shown:
            self._held.enter_context(log_above_the_bar())
        return self

    def __exit__(self, *exc_info) -> None:
        self._close_bar()
        self._held.close()

    def start_epoch(self, epoch: int, done: int, best: float | None) -> None:
        """Epoch ``epoch`` (1-based) starts at step ``done`` (more than 0 when resumed); ``best``: the best validation accuracy so far."""
        self.epoch, self.first_step, self.best, self.started = epoch, done, best, time.perf_counter()
        self.next_line, self.next_bar = done + self.line_interval, done + self.bar_interval
        if self.bar_shown:
            self.bar = tqdm(total=self.steps, initial=done, desc=f"{self.name} epoch {epoch}/{self.epochs}", file=self.stream,
                            leave=False, dynamic_ncols=True, bar_format=BAR_FORMAT, postfix=self._best_text())

    def due(self, step: int) -> bool:
        """Whether ``step`` should show (the host then reads the running sums from the device)."""
        return step >= self.next_line or step == self.steps or (self.bar is not None and step >= self.next_bar)

    def update(self, step: int, loss: float, accuracy: float) -> None:
        """Show the epoch's running ``loss`` and ``accuracy`` at ``step``, where it is due."""
        if step >= self.next_line or step == self.steps:
            self.next_line = step + self.line_interval
            STEPS.info("%s epoch %d/%d: step %d/%d, loss %.4f, accuracy %.4f", self.name, self.epoch, self.epochs, step, self.steps,
                       loss, accuracy)
        if self.bar is not None and (step >= self.next_bar or step == self.steps):
            self.next_bar = step + self.bar_interval
            seconds = time.perf_counter() - self.started
            rate = (step - self.first_step) * self.global_batch_size / seconds if seconds > 0 else 0.0
            # The most telling first: a narrow terminal cuts the line's end.
            self.bar.set_postfix_str(f"{rate:,.0f} examples/s{self._best_text(', ')}, loss {loss:.3f}, accuracy {accuracy:.3f}", refresh=False)
            self.bar.update(step - self.bar.n)

    def end_epoch(self, record: dict[str, Any], best: float | None, examples_per_s: float) -> None:
        """The epoch's line (the bar, if any, gives way to it); ``record``: its history entry."""
        self._close_bar()
        log.info("%s", epoch_line(self.name, self.epochs, record, best, examples_per_s))
        STEPS.info("%s epoch %d: %s", self.name, record["epoch"],
                   ", ".join(f"{key} {value:.4f}" for key, value in record.items() if key != "epoch" and value is not None))

    def _best_text(self, before: str = "") -> str:
        return f"{before}best validation accuracy {self.best:.4f}" if self.best is not None else ""  # of the epochs before

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.refresh()  # its last state, in case tqdm's rate limit skipped it
            self.bar.close()
            self.bar = None
