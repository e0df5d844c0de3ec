"""No text in two splits: a file named by two splits is refused, a document id in two splits is kept once.

Test text must never reach the vocabulary, the word2vec corpus or training.
Two ways it can, with a user's own CSV or JSONL files:

* **One file, two splits**: ``data.path='data/*.csv' data.splits.test=data/test.csv``
  reads test.csv as training data as well. :func:`check_split_sources`
  stops the job before any work, naming both config keys and the file.
* **One id, two records**: the same document id in train.csv and test.csv,
  or twice in one file. :class:`DuplicateIds` reads the ids of every read
  task before the job tokenises anything, and decides which copies are
  rejected: the copy in the split that ranks first in :data:`SPLIT_RANK`
  is kept (test is the user's official one), every copy in a later split is
  rejected with ``id also in <split>``, and a repeated id within one split
  keeps its first copy in source order (task index, then position).

Only corpora whose ids come from a field can repeat one (``data.id_field``
of a CSV or JSONL corpus): aclImdb's ids are its file paths and the default
id is ``<file>:<line>``, unique by construction, so those corpora skip the
id pass and pay nothing for it.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import apache_beam as beam

from workflow.errors import ConfigError
from workflow.preprocess.input_paths import matched
from workflow.preprocess.readers import Task, read_task
from workflow.preprocess.settings import ACLIMDB, CSV, JSONL, CorpusSettings

SPLIT_RANK = ("test", "validation", "train", "unsup")  # the copy of an id in the first of these splits is kept
Occurrence = tuple[int, int, int, str]  # (split rank, task index, position in the task, source "file:line")
TaskRejections = tuple[int, tuple[int, str]]  # (task index, (position in the task, reason))


def split_sources(data: CorpusSettings) -> dict[str, str]:
    """Every config key that names input files, with its path or glob: ``{"data.path": ..., "data.splits.test": ...}``."""
    named = {"data.path": data.path, **{f"data.splits.{split}": path for split, path in data.splits}}
    return named | {f"data.unlabelled[{index}]": path for index, path in enumerate(data.unlabelled)}


def check_split_sources(data: CorpusSettings) -> None:
    """ConfigError, before any work, when one file is matched by the paths of two config keys (InputError when one names none)."""
    if data.format == ACLIMDB:
        return  # one source, whose paths say the split (config validation forbids data.splits there)
    claimed: dict[str, str] = {}
    for key, pattern in split_sources(data).items():
        found = matched(pattern, key)
        for path in [meta.path for meta in found.files] + [entry.path for entry in found.refused]:
            if path in claimed:
                raise ConfigError(f"{path} is matched by both {claimed[path]}={split_sources(data)[claimed[path]]!r} and "
                                  f"{key}={pattern!r}: a file belongs to one split (narrow the glob)")
            claimed[path] = key


def needs_id_pass(data: CorpusSettings) -> bool:
    """Whether ids can repeat: only ids read from a field of a CSV or JSONL record."""
    return data.format in (CSV, JSONL) and bool(data.id_field)


class _TaskIds(beam.DoFn):
    """``(task index, task)`` -> ``(doc_id, Occurrence)`` for every record the readers could read (the others are rejected anyway)."""

    def __init__(self, data: CorpusSettings):
        self._data = data

    def process(self, indexed: tuple[int, Task]) -> Iterator[tuple[str, Occurrence]]:
        index, task = indexed
        for position, record in enumerate(read_task(task, self._data)):
            if record.error is None:
                yield record.doc_id, (SPLIT_RANK.index(record.split), index, position, record.source)


def rejected_copies(occurrences: Iterable[Occurrence]) -> Iterator[TaskRejections]:
    """The copies of one id to reject, with why: all but the first in the best-ranked split (none of a unique id)."""
    ordered = sorted(occurrences)
    kept_rank, _, _, kept_source = ordered[0]
    for rank, index, position, _ in ordered[1:]:
        reason = (f"repeated id (first copy at {kept_source})" if rank == kept_rank
                  else f"id also in {SPLIT_RANK[kept_rank]} (at {kept_source})")
        yield index, (position, reason)


class DuplicateIds(beam.PTransform):
    """Read tasks -> ``(task index, (position, reason))`` for every record whose id another record holds already.

    The result is a side input of the tokenising step, which rejects those
    records before they are parsed or counted (task_outputs.py). It reads
    every input once more, for the ids alone: the price of knowing, before
    the first corpus line is written, that no training line is a test text.
    """

    def __init__(self, data: CorpusSettings):
        super().__init__()
        self._data = data

    def expand(self, tasks: beam.PCollection[tuple[int, Task]]) -> beam.PCollection[TaskRejections]:
        return (
            tasks
            | "TaskIds" >> beam.ParDo(_TaskIds(self._data))
            | "ById" >> beam.GroupByKey()
            | "RejectedCopies" >> beam.FlatMap(lambda id_and_copies: rejected_copies(id_and_copies[1]))
        )
