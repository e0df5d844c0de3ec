"""JSONL and text files as RawRecords, line by line, in the byte ranges line_blocks.py reads: a JSON object a line, or
one unlabelled document a line."""

from __future__ import annotations

import json
import posixpath
from typing import Iterator, Optional

from workflow.preprocess.columns import FIELDS_LISTED, required_fields
from workflow.preprocess.counting import FileCounts, Tally, file_counts
from workflow.preprocess.csv_records import BOM, decode
from workflow.preprocess.fields import FieldRecords
from workflow.preprocess.line_blocks import Block, read_block
from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import TEXT, CorpusSettings


class LineFile:
    """Lines of a JSONL or text file -> RawRecords (line_blocks.py reads the lines of a block).

    A blank line (ASCII whitespace only) is counted as blank, not as a record;
    a UTF-8 byte-order mark at the start of the file is dropped; a line with a
    NUL byte is rejected. The field names of every JSON object are tallied
    (columns.py checks that each field the config names is in one of them).
    """

    def __init__(self, data: CorpusSettings, file_format: str, split: str):
        self._format = file_format
        self._split = split
        self._records = FieldRecords(data, split)
        self._named = frozenset(name for _, name in required_fields(data, split))

    def records(self, numbered_block: tuple[Block, int], tally: Optional[Tally] = None) -> Iterator[RawRecord]:
        counts = file_counts(tally, numbered_block[0][0], "lines")
        for path, number, data in read_block(numbered_block):
            counts.lines += 1
            if number == 1 and data.startswith(BOM):  # line 1 is the start of the file, whichever block reads it
                data = data[len(BOM):]
            if not data or data.isspace():  # ASCII whitespace only; isspace stops at the first other byte, no copy
                counts.blank_lines += 1
                continue
            counts.records += 1
            counts.record_lines += 1
            yield self._record(path, number, data, counts)

    def _record(self, path: str, number: int, data: bytes, counts: FileCounts) -> RawRecord:
        if b"\0" in data:
            return self._records.rejected(path, number, "NUL byte in the line")
        line = decode(data).rstrip("\r\n")
        if self._format == TEXT:
            return RawRecord(f"{posixpath.basename(path)}:{number}", self._split, f"{path}:{number}", line, None, 0, None, path)
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as error:
            return self._records.rejected(path, number, f"invalid JSON: {error.msg} at column {error.colno}")
        except RecursionError:
            return self._records.rejected(path, number, "invalid JSON: nested too deeply")
        if not isinstance(fields, dict):
            return self._records.rejected(path, number, "JSON line is not an object")
        counts.objects += 1
        for name in fields:
            if name in counts.fields or name in self._named or len(counts.fields) < FIELDS_LISTED:
                counts.fields[name] = counts.fields.get(name, 0) + 1
        return self._records.record(path, number, fields)
