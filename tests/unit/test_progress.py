"""What a training job shows: plain lines without control characters, or a live tqdm bar; step facts on the steps logger."""

from __future__ import annotations

import io
import logging
import os
import sys

import pytest

from workflow.config import ProgressDisplay
from workflow.training import progress
from workflow.console import log_above_the_bar, shows_bar
from workflow.training.progress import STEPS, Progress, epoch_line

NAME, EPOCHS, STEPS_PER_EPOCH, BATCH = "finetune-cnn3-word2vec-rownorm-seed0", 3, 40, 16
CONTROL = ("\x1b", "\r", "\b")


def simulated_fit(shown: Progress, resume_at: int = 0) -> None:
    """Three epochs as the trainer drives them: due steps updated, then the epoch's record."""
    best = None
    with shown:
        for epoch in range(1, EPOCHS + 1):
            shown.start_epoch(epoch, resume_at if epoch == 1 else 0, best)
            for step in range((resume_at if epoch == 1 else 0) + 1, STEPS_PER_EPOCH + 1):
                if shown.due(step):
                    shown.update(step, loss=1.0 / (epoch + step), accuracy=0.5 + epoch / 10)
            validation = 0.7 + epoch / 100
            best = max(best or 0.0, validation)
            shown.end_epoch({"epoch": epoch, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": validation, "val_auc": 0.9},
                            best, 1950.4)


@pytest.fixture
def terminal_and_file():
    """What the terminal would show (every logger but the steps logger) and what only the log file gets (the steps logger)."""
    terminal, file_only = io.StringIO(), io.StringIO()
    to_terminal, to_file = logging.StreamHandler(terminal), logging.StreamHandler(file_only)
    to_terminal.addFilter(lambda record: record.name != STEPS.name)
    to_file.addFilter(lambda record: record.name == STEPS.name)
    previous = logging.root.level
    logging.root.setLevel(logging.INFO)
    logging.root.addHandler(to_terminal)
    logging.root.addHandler(to_file)
    yield terminal, file_only
    logging.root.removeHandler(to_terminal)
    logging.root.removeHandler(to_file)
    logging.root.setLevel(previous)


def test_lines_are_plain_one_per_epoch_and_the_steps_go_to_the_steps_logger(terminal_and_file):
    terminal, file_only = terminal_and_file
    stream = io.StringIO()
    simulated_fit(Progress(NAME, EPOCHS, STEPS_PER_EPOCH, BATCH, ProgressDisplay.lines, stream=stream))
    assert stream.getvalue() == "", "no bar, nothing written around the logger"
    shown = terminal.getvalue()
    assert not any(character in shown for character in CONTROL), repr(shown)
    lines = shown.splitlines()
    assert lines == [epoch_line(NAME, EPOCHS, {"epoch": epoch, "loss": 0.5, "accuracy": 0.8, "val_accuracy": 0.7 + epoch / 100},
                                0.7 + epoch / 100, 1950.4) for epoch in range(1, EPOCHS + 1)]
    assert lines[2] == f"{NAME} epoch 3/3: loss 0.5000, accuracy 0.8000, validation accuracy 0.7300 (best 0.7300), 1,950 examples/s"
    steps = file_only.getvalue().splitlines()
    assert [line for line in steps if "step" in line][:2] == [f"{NAME} epoch 1/3: step 4/40, loss 0.2000, accuracy 0.6000",
                                                              f"{NAME} epoch 1/3: step 8/40, loss 0.1111, accuracy 0.6000"]
    assert len([line for line in steps if ": step " in line]) == EPOCHS * progress.LINES_PER_EPOCH
    assert f"{NAME} epoch 2: loss 0.5000, accuracy 0.8000, val_loss 0.6000, val_accuracy 0.7200, val_auc 0.9000" in steps, \
        "the full record (validation loss and AUC) stays in the log file"


def test_a_run_without_validation_says_no_validation_accuracy():
    line = epoch_line("random-seed1", 20, {"epoch": 1, "loss": 0.69, "accuracy": 0.5}, None, 12.0)
    assert line == "random-seed1 epoch 1/20: loss 0.6900, accuracy 0.5000, 12 examples/s"


def test_the_bar_shows_epoch_step_examples_per_second_and_the_best_validation_accuracy(terminal_and_file):
    terminal, _ = terminal_and_file
    stream = io.StringIO()
    simulated_fit(Progress(NAME, EPOCHS, STEPS_PER_EPOCH, BATCH, ProgressDisplay.bar, stream=stream), resume_at=10)
    drawn = stream.getvalue()
    assert "\r" in drawn, "a live bar redraws its line"
    for epoch in range(1, EPOCHS + 1):
        assert f"{NAME} epoch {epoch}/{EPOCHS}:" in drawn
    assert "step 40/40" in drawn and "examples/s" in drawn and "|" in drawn
    assert "best validation accuracy 0.7200" in drawn, "the best of the epochs before, during epoch 3"
    assert len(terminal.getvalue().splitlines()) == EPOCHS, "the terminal keeps one line per epoch: the bar gives way to it"


def test_log_records_print_above_the_bar_while_it_is_shown():
    console = logging.StreamHandler(sys.stdout)
    console.setLevel(logging.WARNING)
    logger = logging.getLogger("tests.progress.console")
    logger.addHandler(console)
    try:
        with log_above_the_bar():
            (swapped,) = logger.handlers
            assert swapped is not console and swapped.stream is sys.stdout and swapped.level == logging.WARNING
        assert logger.handlers == [console], "the console handler is back afterwards"
    finally:
        logger.removeHandler(console)


def test_auto_is_a_bar_on_a_terminal_only():
    assert not shows_bar(ProgressDisplay.auto, io.StringIO())
    assert shows_bar(ProgressDisplay.bar, io.StringIO()) and not shows_bar(ProgressDisplay.lines, io.StringIO())
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as tty:
        assert shows_bar(ProgressDisplay.auto, tty) and not shows_bar(ProgressDisplay.lines, tty)
    os.close(leader)
