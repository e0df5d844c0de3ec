"""Validate, tokenise and count batches of RawRecords.

Per-element cost is what Beam pipelines pay most for, so records travel in
batches, and tokens are counted in one ``Counter`` per split for the whole
bundle: a worker emits its partial counts once, when the bundle finishes.
"""

from __future__ import annotations

import collections
from typing import Iterator, Mapping, Union

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from workflow.preprocess.counting import SplitCounts
from workflow.preprocess.records import UNLABELLED, Document, RawRecord, Rejection
from workflow.text import Tokenizer

REJECTED = "rejected"
COUNTS = "counts"


class ParseBatch(beam.DoFn):
    """``list[RawRecord]`` -> outputs:

    * main: ``list[Document]``, the valid documents of the batch;
    * ``counts``: ``(split, SplitCounts)`` for each split seen, once per bundle;
    * ``rejected``: one ``Rejection`` per record that is dropped, with the reason.

    A record is rejected when it could not be read, holds bytes that are not
    UTF-8, has no tokens, or (on a labelled split) has a missing label or one
    that ``label_map`` does not know.
    """

    def __init__(self, tokenizer: Tokenizer, label_map: Mapping[str, int]):
        self._tokenizer = tokenizer
        self._label_map = {str(key).strip().lower(): int(value) for key, value in label_map.items()}

    def start_bundle(self) -> None:
        self._counts: dict[str, SplitCounts] = collections.defaultdict(SplitCounts)

    def finish_bundle(self) -> Iterator[pvalue.TaggedOutput]:
        for split, split_counts in self._counts.items():
            yield pvalue.TaggedOutput(COUNTS, GlobalWindows.windowed_value((split, split_counts)))

    def process(self, batch: list[RawRecord]) -> Iterator[Union[list[Document], pvalue.TaggedOutput]]:
        documents = []
        for record in batch:
            split_counts = self._counts[record.split]
            split_counts.records_read += 1
            outcome = self._parse(record)
            if isinstance(outcome, str):
                split_counts.records_rejected += 1
                yield pvalue.TaggedOutput(REJECTED, Rejection(record.doc_id, record.split, record.source, outcome))
                continue
            tokens = outcome
            split_counts.add(tokens)
            documents.append(Document(record.doc_id, record.split, " ".join(tokens), self._label(record), record.rating))
        if documents:
            yield documents

    def _label(self, record: RawRecord) -> int:
        return UNLABELLED if record.split == "unsup" else self._label_map[record.label.strip().lower()]

    def _parse(self, record: RawRecord) -> Union[list[str], str]:
        """The tokens, or the reason (a str) for rejecting the record."""
        if record.error:
            return record.error
        if record.text is None:
            return "missing text"
        try:
            record.text.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"undecodable bytes (not UTF-8) at character {error.start}"
        if record.split != "unsup":
            if record.label is None:
                return "missing label"
            if record.label.strip().lower() not in self._label_map:
                return f"unknown label {record.label!r} (not in data.label_map)"
        tokens = self._tokenizer(record.text)
        return tokens if tokens else "empty text (no tokens)"
