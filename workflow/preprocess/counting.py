"""Token counting and vocabulary building, designed against Beam's per-element cost.

Counting happens inside each read task in a ``collections.Counter`` (never
one element per token: Beam's cost per element would be paid 17.56 M times
on IMDB's training side) and the partial counters of all tasks are merged by
one combiner. The whole job, IMDB archive to published output, takes 1.22x
the time of a plain ``tarfile`` + ``Counter`` pass over the training side
(docs/results.md, "Every record accounted for").
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field

import apache_beam as beam
import numpy as np

from workflow.preprocess.layout import PAD, UNK
from workflow.text import line_break_in

LENGTH_PERCENTILES = (50, 90, 95, 99)


@dataclass
class SplitCounts:
    """Everything one split's stats need; partial per read task, merged by ``MergeSplitCounts``."""

    records_read: int = 0
    records_rejected: int = 0
    documents: int = 0
    token_counts: collections.Counter = field(default_factory=collections.Counter)
    lengths: list[int] = field(default_factory=list)

    def add(self, tokens: list[str]) -> None:
        self.documents += 1
        self.token_counts.update(tokens)
        self.lengths.append(len(tokens))

    def merge(self, other: "SplitCounts") -> None:
        self.records_read += other.records_read
        self.records_rejected += other.records_rejected
        self.documents += other.documents
        self.token_counts.update(other.token_counts)
        self.lengths.extend(other.lengths)


SplitTotals = dict  # split -> SplitCounts


class MergeSplitCounts(beam.CombineFn):
    """``(split, SplitCounts)`` partials of every task -> ``{split: SplitCounts}`` totals (lengths sorted), in one combine."""

    def create_accumulator(self) -> SplitTotals:
        return {}

    def add_input(self, totals: SplitTotals, split_and_counts: tuple[str, SplitCounts]) -> SplitTotals:
        split, partial = split_and_counts
        totals.setdefault(split, SplitCounts()).merge(partial)
        return totals

    def merge_accumulators(self, accumulators) -> SplitTotals:
        merged: SplitTotals = {}
        for totals in accumulators:
            for split, partial in totals.items():
                merged.setdefault(split, SplitCounts()).merge(partial)
        return merged

    def extract_output(self, totals: SplitTotals) -> SplitTotals:
        for counts in totals.values():
            counts.lengths.sort()
        return totals


def build_vocabulary(token_counts: collections.Counter, min_count: int, max_size: int) -> list[tuple[str, int]]:
    """``[(token, count)]`` with id = index: <pad>, <unk>, then count desc, token asc.

    ``<unk>``'s count is the number of corpus tokens that fall outside the
    vocabulary (too rare or past ``max_size``), so the file also tells how much
    of the training text maps to ``<unk>``.
    """
    kept = sorted(
        ((token, count) for token, count in token_counts.items() if count >= min_count),
        key=lambda item: (-item[1], item[0]),
    )[: max_size - 2]
    unknown = sum(token_counts.values()) - sum(count for _, count in kept)
    return [(PAD, 0), (UNK, unknown)] + kept


def render_vocabulary(vocabulary: list[tuple[str, int]]) -> str:
    """vocab.tsv text: ``token<TAB>count`` per line, row number = id.

    A token that is empty, or holds a tab or any character ``str.splitlines()``
    ends a line at, would shift every id after it for some reader: refused
    (the tokenizer never makes one: text.py), by the rule the reader applies.
    """
    for token, _ in vocabulary:
        found = line_break_in(token)
        if not token or found is not None:
            raise ValueError(f"token {token!r} cannot be written to vocab.tsv: "
                             + ("it is empty" if not token else f"it holds {found!r}, a tab or a line break"))
    return "".join(f"{token}\t{count}\n" for token, count in vocabulary)


def split_summary(counts: SplitCounts, vocabulary_tokens: frozenset[str]) -> dict:
    """The numbers ``stats.json`` reports for one split (its OOV against the final vocabulary)."""
    tokens = sum(counts.lengths)
    oov = sum(count for token, count in counts.token_counts.items() if token not in vocabulary_tokens)
    lengths = np.asarray(counts.lengths) if counts.lengths else np.zeros(1, dtype=np.int64)
    return {
        "records_read": counts.records_read,
        "records_rejected": counts.records_rejected,
        "documents": counts.documents,
        "tokens": tokens,
        "distinct_tokens": len(counts.token_counts),
        "oov_tokens": oov,
        "oov_rate": round(oov / tokens, 6) if tokens else 0.0,
        "length": {
            "min": int(lengths.min()),
            "mean": round(float(lengths.mean()), 2),
            **{f"p{q}": int(np.percentile(lengths, q, method="lower")) for q in LENGTH_PERCENTILES},
            "max": int(lengths.max()),
        },
    }


@dataclass
class FileCounts:
    """One input file's records counted where they are read, and their outcomes; partial per read task.

    ``kind``: ``lines`` (JSONL, text: one record a non-blank line), ``csv``
    (a header, then records of one or more lines), ``members`` (the reviews
    of an aclImdb archive or folder) or ``unread`` (an entry a pattern matched
    that is no readable file: one rejected record, input_paths.py). The
    readers count the physical lines and records; ``TokenizeTask._take``
    counts each record's outcome. ``objects`` and ``fields`` (JSONL: the JSON
    objects read, and how many hold each field name) are for columns.py's
    check, not for stats.json.
    """

    kind: str = "lines"
    lines: int = 0
    blank_lines: int = 0
    header_lines: int = 0
    record_lines: int = 0
    records: int = 0
    written: int = 0
    rejected: int = 0
    objects: int = 0
    fields: dict[str, int] = field(default_factory=dict)

    def merge(self, other: "FileCounts") -> None:
        if other.kind != self.kind:
            raise AssertionError(f"one input file read as {self.kind} and as {other.kind}")
        for name in ("lines", "blank_lines", "header_lines", "record_lines", "records", "written", "rejected", "objects"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, count in other.fields.items():
            self.fields[name] = self.fields.get(name, 0) + count

    def summary(self, path: str) -> dict:
        """The numbers ``stats.json`` reports for the file; AssertionError naming it when they do not reconcile (a bug, not bad input)."""
        if self.records != self.written + self.rejected:
            raise AssertionError(f"{path}: {self.records} records read but {self.written} written + {self.rejected} rejected")
        counted = {"records": self.records, "written": self.written, "rejected": self.rejected}
        if self.kind in ("members", "unread"):
            return counted
        if self.lines != self.blank_lines + self.header_lines + self.record_lines:
            raise AssertionError(f"{path}: {self.lines} lines but {self.blank_lines} blank + {self.header_lines} header "
                                 f"+ {self.record_lines} in records")
        if self.kind == "lines" and self.record_lines != self.records:
            raise AssertionError(f"{path}: {self.records} records in {self.record_lines} lines (one a line)")
        lines = {"lines": self.lines, "blank_lines": self.blank_lines}
        if self.kind == "csv":
            lines.update(header_lines=self.header_lines, record_lines=self.record_lines)
        return {**lines, **counted}


FileTotals = dict  # input file -> FileCounts
Tally = dict  # input file -> FileCounts: what one read task saw of each file it read (readers.read_task)


def file_counts(tally: Tally | None, path: str, kind: str) -> FileCounts:
    """The counts of ``path`` in ``tally`` (new ones of ``kind`` the first time; a throwaway without a tally)."""
    if tally is None:
        return FileCounts(kind)
    return tally.setdefault(path, FileCounts(kind))


class MergeFileCounts(beam.CombineFn):
    """``(input file, FileCounts)`` partials of every task -> ``{input file: FileCounts}``, in one combine."""

    def create_accumulator(self) -> FileTotals:
        return {}

    def add_input(self, totals: FileTotals, file_and_counts: tuple[str, FileCounts]) -> FileTotals:
        path, partial = file_and_counts
        totals.setdefault(path, FileCounts(partial.kind)).merge(partial)
        return totals

    def merge_accumulators(self, accumulators) -> FileTotals:
        merged: FileTotals = {}
        for totals in accumulators:
            for path, partial in totals.items():
                merged.setdefault(path, FileCounts(partial.kind)).merge(partial)
        return merged

    def extract_output(self, totals: FileTotals) -> FileTotals:
        return totals


REASONS_LISTED = 10  # kinds of rejection stats.json names, the most frequent first
_NUMBER = re.compile(r"\d+")


def reason_kind(reason: str) -> str:
    """A rejection's reason with its numbers as ``N``: ``line 12: 4 fields, the header has 3`` -> ``line N: N fields, ...``."""
    return _NUMBER.sub("N", reason)


class CountReasons(beam.CombineFn):
    """Rejections -> ``Counter`` of their reasons' kinds (:func:`reason_kind`), in one combine."""

    def create_accumulator(self) -> collections.Counter:
        return collections.Counter()

    def add_input(self, counts: collections.Counter, rejection) -> collections.Counter:
        counts[reason_kind(rejection.reason)] += 1
        return counts

    def merge_accumulators(self, accumulators) -> collections.Counter:
        merged: collections.Counter = collections.Counter()
        for counts in accumulators:
            merged.update(counts)
        return merged

    def extract_output(self, counts: collections.Counter) -> collections.Counter:
        return counts


def most_common_reasons(counts: collections.Counter) -> list[list]:
    """``[[kind, records], ...]``: the :data:`REASONS_LISTED` most frequent kinds (ties by kind), then ``["other kinds", n]``."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    listed = [[kind, count] for kind, count in ranked[:REASONS_LISTED]]
    rest = sum(count for _, count in ranked[REASONS_LISTED:])
    return listed + ([["other kinds", rest]] if rest else [])


def describe_reasons(reasons: list[list], limit: int = 3) -> str:
    """``25 x missing label; 15 x unknown label 'good' (not in data.label_map)``: the first ``limit`` of stats.json's list."""
    return "; ".join(f"{count:,} x {kind}" for kind, count in reasons[:limit])
