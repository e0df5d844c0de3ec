"""CSV rows and JSON objects as RawRecords: the fields the config names (id, text, label, rating), every value checked
before it can reach an example (shared by csv_reader.py and line_reader.py)."""

from __future__ import annotations

import math
import posixpath
from typing import Optional

from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import CorpusSettings

INT64_MAX = 2**63 - 1  # the example's rating is an int64 feature


class FieldRecords:
    """RawRecords of one split from CSV rows or JSON objects (``fields``: column -> value), every field value checked.

    A value that cannot go into an example is the record's ``error``, with the
    reason: an id that is a list or an object, or not UTF-8 (the record is then
    named ``<file>:<number>``); a label that is a list or an object; a rating
    that is not a finite, non-negative integer below 2**63 (:func:`rating_value`).
    """

    def __init__(self, data: CorpusSettings, split: str):
        self._split = split
        self._id, self._text, self._label, self._rating = data.id_field, data.text_field, data.label_field, data.rating_field
        self._name = ""  # basename of the file of the last record (one per reader)
        self._path = None

    def record(self, path: str, number: int, fields: dict, line: Optional[int] = None) -> RawRecord:
        """``number``: the record's number in its file (its default id); ``line``: its first line, when not ``number``."""
        error = doc_id = None
        raw_id = fields.get(self._id) if self._id else None
        if raw_id is not None and raw_id != "":
            if type(raw_id) in (list, dict):
                error = f"id field {self._id!r} is {_kind(raw_id)}, not a string or a number"
            else:
                raw_id = raw_id if type(raw_id) is str else str(raw_id)
                if raw_id.isascii() or _is_utf8(raw_id):
                    doc_id = raw_id
                else:
                    error = f"id field {self._id!r} is not UTF-8"
        if doc_id is None:
            doc_id = f"{self._basename(path)}:{number}"
        text = fields.get(self._text, _ABSENT)
        if text is _ABSENT:
            text, error = None, error or f"missing text field {self._text!r}"
        elif text is not None and type(text) is not str:
            error = error or f"text field {self._text!r} is not a string"
        label = fields.get(self._label)
        if label is not None and type(label) is not str:
            if type(label) in (list, dict):
                error, label = error or f"label field {self._label!r} is {_kind(label)}, not a string or a number", None
            else:
                label = str(label)
        rating, rating_error = rating_value(fields.get(self._rating)) if self._rating else (0, None)
        return RawRecord(doc_id, self._split, f"{path}:{number if line is None else line}", text if error is None else None,
                         label or None, rating, error or rating_error, path)

    def _basename(self, path: str) -> str:
        if path != self._path:
            self._path, self._name = path, posixpath.basename(path)
        return self._name

    def rejected(self, path: str, number: int, reason: str, line: Optional[int] = None) -> RawRecord:
        source = f"{path}:{number if line is None else line}"
        return RawRecord(f"{posixpath.basename(path)}:{number}", self._split, source, None, None, 0, reason, path)


_ABSENT = object()


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else "an object"


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")  # lone surrogates: undecodable bytes (surrogateescape) or a JSON "\ud800"
    except UnicodeEncodeError:
        return False
    return True


def rating_value(value: object) -> tuple[int, Optional[str]]:
    """``(rating, None)``, or ``(0, why it is refused)``: a rating is a finite integer in [0, 2**63), or empty (0 = unknown).

    ``"9"``, ``9`` and ``9.0`` are 9; ``7.5``, ``-3``, ``NaN``, ``Infinity``, ``1e30``, ``true`` and lists are refused.
    """
    if type(value) is int and 0 <= value <= INT64_MAX:
        return value, None
    if value is None or value == "":
        return 0, None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return 0, f"rating {value!r} is not a number"
    number: object = value
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return 0, f"rating {value!r} is not a number"
    if isinstance(number, float):
        if not math.isfinite(number):
            return 0, f"rating {value!r} is not a finite number"
        if not number.is_integer():
            return 0, f"rating {value!r} is not an integer"
        number = int(number)
    if not 0 <= number <= INT64_MAX:
        return 0, f"rating {value!r} is out of range (0 to 2**63-1)"
    return number, None
