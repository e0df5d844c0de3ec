"""Validate and tokenise one RawRecord: its tokens, or the reason it is rejected."""

from __future__ import annotations

from typing import Mapping, Union

from workflow.preprocess.records import UNLABELLED, RawRecord
from workflow.text import Tokenizer

INT64_MAX = 2**63 - 1  # an example's rating is an int64 feature


class RecordParser:
    """``RawRecord`` -> its tokens, or a ``str``: why the record is rejected.

    A record is rejected when it could not be read, holds bytes that are not
    UTF-8 (in its text or its id), has a rating that an int64 feature cannot
    hold, has no tokens, or (on a labelled split) has a missing label or one
    that ``label_map`` does not know. The readers check each field value and
    say why first (fields.FieldRecords); the id and rating checks here are
    the last guard before encode_example, for every reader.
    """

    def __init__(self, tokenizer: Tokenizer, label_map: Mapping[str, int]):
        self._tokenizer = tokenizer
        self._label_map = {str(key).strip().lower(): int(value) for key, value in label_map.items()}

    def __call__(self, record: RawRecord) -> Union[list[str], str]:
        if record.error:
            return record.error
        if record.text is None:
            return "missing text"
        try:
            record.text.encode("utf-8")
        except UnicodeEncodeError as error:
            return f"undecodable bytes (not UTF-8) at character {error.start}"
        try:
            record.doc_id.encode("utf-8")
        except UnicodeEncodeError:
            return "document id is not UTF-8"
        if not 0 <= record.rating <= INT64_MAX:
            return f"rating {record.rating} is out of range (0 to 2**63-1)"
        if record.split != "unsup":
            if record.label is None:
                return "missing label"
            if record.label.strip().lower() not in self._label_map:
                return f"unknown label {record.label!r} (not in data.label_map)"
        tokens = self._tokenizer(record.text)
        return tokens if tokens else "empty text (no tokens)"

    def label(self, record: RawRecord) -> int:
        """0/1 of a record that parsed; UNLABELLED on the unsup split."""
        return UNLABELLED if record.split == "unsup" else self._label_map[record.label.strip().lower()]
