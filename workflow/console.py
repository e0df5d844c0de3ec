"""What the terminal shows a person: one line per stage, the training jobs' progress, warnings, and the results.

::

    preprocess   done in 14.2 s (read 4,000 = written 4,000 + rejected 0: 886 train, 114 validation, 1,000 test, 2,000 unlabelled; 18,569 words)
    word2vec     skipped (up to date)
    training     3 runs (their logs: <log folder>/train/<run name>/train.log)
    frozen-cnn3-word2vec-rownorm-seed0 epoch 1/20: loss 0.6931, accuracy 0.5100, validation accuracy 0.5300 (best 0.5300), 1,950 examples/s
    ...
    training     done in 301.2 s (3 of 3 runs finished)
    report       done in 4.1 s (3 runs)

    mode       labelled reviews  test accuracy    seeds  95% CI (t, over seeds)
    ...

The log file (Hydra's ``<command>.log``; each training job's ``train.log``)
gets everything, the terminal what a person reads: conf/config.yaml's
``hydra.job_logging`` sends the INFO lines of the stages' details (the
modules a stage line summarises) and the per-step training lines
(``workflow.training.progress.steps``) to the log file only, and formats what reaches
the terminal with :class:`TerminalFormatter`. ``terminal.steps=true`` puts the
step lines on the terminal too (:func:`show_steps`, at each command's start).

A stage's line is printed when it ends; on a terminal (TTY) a ``running``
line stands in its place meanwhile, replaced by it (anything logged to the
terminal first ends that line, so nothing is written over).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

from tqdm import tqdm

from workflow.config import ProgressDisplay

log = logging.getLogger(__name__)  # conf/config.yaml: the log file only (the terminal gets the lines from print)
STEPS = "workflow.training.progress.steps"  # the per-step training lines (workflow/training/progress.py)
STAGE_COLUMN = 12  # "preprocess   done in ..."
CLEAR_LINE = "\r\x1b[K"
STAGE_BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{unit} [{elapsed}<{remaining}{postfix}]"


class _Terminal:
    """Standard output, and whether a ``running`` line is waiting on it for its stage's end."""

    pending = False

    def write(self, text: str, end: str = "\n") -> None:
        sys.stdout.write(text + end)
        sys.stdout.flush()

    def end_pending(self) -> None:
        """End a waiting ``running`` line where it stands (something else is about to be written)."""
        if self.pending:
            self.pending = False
            self.write("")


terminal = _Terminal()


def stage_line(name: str, text: str) -> None:
    """``<name>  <text>`` on the terminal (replacing the stage's ``running`` line there) and in the log file."""
    line = f"{name:<{STAGE_COLUMN}} {text}"
    log.info("%s", line)
    if terminal.pending:
        terminal.pending = False
        terminal.write(CLEAR_LINE + line)
    else:
        terminal.write(line)


def stage_running(name: str, why: str) -> None:
    """On a terminal, ``<name>  running (<why>) ...`` until the stage's own line replaces it; elsewhere nothing
    (a pipe gets one line per stage, at its end)."""
    terminal.end_pending()
    if sys.stdout.isatty():
        terminal.write(f"{name:<{STAGE_COLUMN}} running ({why}) ...", end="")
        terminal.pending = True


def count(number: int, noun: str) -> str:
    """``1 run``, ``3 runs``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def seconds_text(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 600 else f"{seconds / 60:.1f} min"


def stage_done(name: str, seconds: float, summary: str | None = None) -> None:
    stage_line(name, f"done in {seconds_text(seconds)}" + (f" ({summary})" if summary else ""))


@dataclass
class Running:
    """A stage being run (:func:`running`); ``summary``: what its line says it made, set before the block ends."""

    summary: str | None = None


@contextlib.contextmanager
def running(name: str, why: str) -> Iterator[Running]:
    """The stage's lines around its run: ``running`` (on a terminal), then ``done in 21.3 s (<summary>)``, or
    ``failed after 3.2 s`` before the error's own line."""
    stage_running(name, why)
    started, stage = time.time(), Running()
    try:
        yield stage
    except BaseException:
        stage_line(name, f"failed after {seconds_text(time.time() - started)}")
        raise
    stage_done(name, time.time() - started, stage.summary)


class TerminalFormatter(logging.Formatter):
    """A log record as a person reads it: the message alone, ``warning: ...`` or ``error: ...`` above INFO.

    A traceback stays in the log file: the terminal gets its last line (``error: training x failed: KeyError: 'y'``).
    It ends a stage's waiting ``running`` line first.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        level = "warning" if record.levelno < logging.ERROR else "error"
        if record.levelno >= logging.WARNING and not message.startswith(f"{level}: "):
            message = f"{level}: {message}"
        if terminal.pending:
            terminal.pending = False
            message = "\n" + message
        return message


def _is_terminal(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) and \
        getattr(handler, "stream", None) in (sys.stdout, sys.stderr)


def shows_bar(display: ProgressDisplay, stream: TextIO) -> bool:
    """Whether ``display`` (``terminal.progress``) means a live bar on ``stream``: ``auto`` on a TTY, or ``bar``."""
    if display is ProgressDisplay.auto:
        return bool(getattr(stream, "isatty", lambda: False)())
    return display is ProgressDisplay.bar


class _AboveTheBar(logging.StreamHandler):
    """A console handler's records (its level, format and filters), written with ``tqdm.write``: above a live bar."""

    def __init__(self, console: logging.StreamHandler):
        super().__init__(console.stream)
        self.setLevel(console.level)
        self.setFormatter(console.formatter)
        for record_filter in console.filters:
            self.addFilter(record_filter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging's own policy: report and carry on
            self.handleError(record)


@contextlib.contextmanager
def log_above_the_bar() -> Iterator[None]:
    """Every console handler of every logger (the root's, the steps logger's...) writes through ``tqdm.write`` meanwhile."""
    loggers = [logging.root, *(logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger))]
    swapped = []
    for logger in loggers:
        for position, handler in enumerate(logger.handlers):
            if _is_terminal(handler):
                swapped.append((logger, position, handler))
                logger.handlers[position] = _AboveTheBar(handler)
    try:
        yield
    finally:
        for logger, position, handler in swapped:
            logger.handlers[position] = handler


class StageProgress:
    """The progress of a long stage (word2vec's epochs, the Beam job's input) while it runs.

    On a terminal (``terminal.progress=auto`` on a TTY, or ``bar``) a live bar stands in the stage's ``running``
    line: how much of ``total`` is done (``unit``), the rate, the ETA and a short note (``epoch 2/5``); log lines
    print above it, and the stage's own line replaces it at the end. Elsewhere (a pipe, CI) a plain line
    (``word2vec     epoch 2/5: 41% ...``) at most every ``LINE_SECONDS``, so a long stage shows a sign of life
    every minute and a short one prints nothing.
    """

    LINE_SECONDS = 60.0

    def __init__(self, name: str, total: float, unit: str, display: ProgressDisplay = ProgressDisplay.auto, stream: TextIO | None = None):
        """``unit`` follows the scaled count as it is: ``"B"`` gives ``113MB``, ``" words"`` ``6.95M words``."""
        self.name, self.total, self.unit = name, total, unit
        self.stream = stream if stream is not None else sys.stdout
        self.bar: tqdm | None = None
        self.started = self.last_line = time.monotonic()
        self._held = contextlib.ExitStack()
        if shows_bar(display, self.stream):
            terminal.pending = False  # the bar takes the place of the stage's running line
            self.stream.write(CLEAR_LINE)
            self._held.enter_context(log_above_the_bar())
            self.bar = tqdm(total=total, desc=f"{name:<{STAGE_COLUMN}}", unit=unit, unit_scale=True, file=self.stream, leave=False,
                            dynamic_ncols=True, bar_format=STAGE_BAR_FORMAT)

    def __enter__(self) -> "StageProgress":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.bar is not None:
            self.bar.refresh()  # its last state, in case tqdm's rate limit skipped it
            self.bar.close()
            self.bar = None
        self._held.close()

    def update(self, done: float, note: str) -> None:
        """``done`` of ``total`` so far; ``note`` says where (``epoch 2/5``)."""
        done = min(done, self.total)
        if self.bar is not None:
            self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if now - self.last_line >= self.LINE_SECONDS:
            self.last_line = now
            elapsed = now - self.started
            remaining = elapsed * (self.total - done) / done if done else None
            eta = f", about {seconds_text(remaining)} to go" if remaining is not None else ""
            stage_line(self.name, f"{note}: {100 * done / self.total:.0f}% of {tqdm.format_sizeof(self.total)}{self.unit} in "
                                  f"{seconds_text(elapsed)}{eta}")


def show_steps(on: bool) -> None:
    """``terminal.steps``: the per-step training lines reach the terminal too (the root logger's terminal handlers join
    those of the steps logger, which conf/config.yaml gives the log file only)."""
    if not on:
        return
    steps = logging.getLogger(STEPS)
    for handler in logging.getLogger().handlers:
        if _is_terminal(handler) and handler not in steps.handlers:
            steps.addHandler(handler)


def preprocess_summary(config: Any) -> str:
    """``read 4,000 = written 4,000 + rejected 0: 886 train, 114 validation, 1,000 test, 2,000 unlabelled; 18,569 words``."""
    from workflow.preprocess.output import PreprocessOutput

    stats = PreprocessOutput(config.workdir).stats()
    totals, splits = stats["totals"], stats["splits"]
    written = ", ".join(f"{splits[split]['records_written']:,} {'unlabelled' if split == 'unsup' else split}"
                        for split in ("train", "validation", "test", "unsup") if split in splits)
    return (f"read {totals['records_read']:,} = written {totals['records_written']:,} + rejected {totals['records_rejected']:,}: "
            f"{written}; {stats['vocabulary_size']:,} words")


def word2vec_summary(config: Any) -> str:
    """``18,569 x 100 matrix; 97.9% of corpus tokens have a vector``."""
    from workflow.embeddings.output import Word2VecOutput

    output = Word2VecOutput(config.workdir, config.embedding.vectors)
    rows, dim = output.manifest["outputs"]["matrix_shape"]
    return f"{rows:,} x {dim} matrix; {100 * output.coverage()['token_coverage']:.1f}% of corpus tokens have a vector"


def _row(entry: dict) -> tuple[str, str, str, str, str]:
    """One summary entry of the report as the table's cells; one seed has neither a spread nor an interval."""
    accuracy, interval = entry.get("test_accuracy"), entry.get("test_accuracy_interval")
    mean = "n/a" if accuracy is None else f"{accuracy[0]:.4f}" + (f" ± {accuracy[1]:.4f}" if entry["runs"] > 1 else "")
    return (entry["mode"], f"{entry['labelled_reviews']:,}", mean, str(entry["runs"]),
            f"{interval[0]:.4f} to {interval[1]:.4f}" if interval else "")


def results_lines(configurations: list[dict]) -> list[str]:
    """The results table: per configuration (named by what sets it apart, when several), mode, labelled reviews, test
    accuracy (mean ± std over seeds) and, with two seeds or more, its 95% t-interval over seeds."""
    header = ("mode", "labelled reviews", "test accuracy", "seeds", "95% CI (t, over seeds)")
    blocks = []  # (heading or None, rows)
    for configuration in configurations:
        heading = None
        if len(configurations) > 1:
            differs = ", ".join(f"{path.removeprefix('config.')}={value}" for path, value in configuration["differs_in"].items())
            heading = f"configuration {configuration['number']}" + (f": {differs}" if differs else "")
        blocks.append((heading, [_row(entry) for entry in configuration["summary"]]))
    every_row = [row for _, rows in blocks for row in rows]
    columns = len(header) if any(row[4] for row in every_row) else len(header) - 1
    widths = [max(len(row[column]) for row in [header, *every_row]) for column in range(columns)]
    right = (False, True, False, True, False)

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.rjust(width) if right[column] else cell.ljust(width)
                         for column, (cell, width) in enumerate(zip(row, widths))).rstrip()

    lines = [line(header)]
    for heading, rows in blocks:
        lines += ([heading] if heading else []) + [line(row) for row in rows]
    return lines


def results(workdir: str) -> None:
    """After the report: the results table, where the report is, and how to open TensorBoard."""
    from workflow.report.output import ReportOutput

    report = ReportOutput(workdir)
    lines = ["", *results_lines(report.configurations()), "",
             f"Report:      {report.results_md}",
             f"TensorBoard: tensorboard --logdir {workdir}   (curves; projector: run report/projector)"]
    for line in lines:
        log.info("%s", line)
    terminal.end_pending()
    terminal.write("\n".join(lines))
