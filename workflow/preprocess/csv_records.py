"""CSV records framed from physical lines, so one bad row costs that row and never the rest of the file.

Python's csv module, handed a whole file, opens a quoted field at a leading
``"`` and reads on, across newlines, until the next quote: an unbalanced
quote on line 12 can swallow every later row as one field, and a count of
what the parser yielded cannot see it. Here the lines are read one by one:

* a line without a quote character is split on the delimiter (the fast path);
* a line with one is parsed by ``csv.reader(..., strict=True)``; while the
  parser reports an unterminated quote, the next physical line is joined to
  it, at most :data:`MAX_RECORD_LINES` lines, so a legal quoted field that
  spans lines is still one record;
* a record that still does not parse, or whose number of fields differs from
  the header's, is rejected at its first line, and framing starts again at
  the next physical line: a bad line costs its own record.

Every physical line is counted as blank (only ASCII whitespace), the header,
or a line of one record, so ``lines = blank + header + record lines`` holds
by construction and ``records = written + rejected`` can be checked against
what the job wrote (pipeline.assemble_stats).
"""

from __future__ import annotations

import collections
import csv
from typing import IO, Iterator, NamedTuple, Optional

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, at the start of the file only
MAX_RECORD_LINES = 1000  # a quoted field may span this many lines; an unbalanced quote is given up on after them
QUOTE = '"'
CSV_FIELD_LIMIT = 2**31 - 1  # the csv module's default (131,072 characters) would refuse one long review
_UNTERMINATED = "unexpected end of data"  # csv.Error of a strict parse that ends inside a quoted field


class CsvRecord(NamedTuple):
    """One framed record: the fields, or why it is rejected (``fields`` is None then)."""

    line: int  # the number of its first physical line
    lines: int  # physical lines it spans
    fields: Optional[list[str]]
    error: Optional[str] = None


class CsvLineCounts:
    """What framing saw in one file: physical lines, blank lines, header lines, records and their lines."""

    __slots__ = ("lines", "blank_lines", "header_lines", "records", "record_lines")

    def __init__(self) -> None:
        self.lines = self.blank_lines = self.header_lines = self.records = self.record_lines = 0


def decode(data: bytes) -> str:
    # surrogateescape keeps undecodable bytes as lone surrogates: the parser rejects exactly the records that hold them
    return data.decode("utf-8", errors="surrogateescape")


def _strip_terminator(text: str) -> str:
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    return text


class CsvFraming:
    """``(header, records)`` of one CSV stream of bytes; ``counts`` grows as the records are read.

    ``header`` is None for a file with no non-blank line; a header that does
    not frame raises ``ValueError`` (the caller names the file).
    """

    def __init__(self, stream: IO[bytes], delimiter: str = ",", max_record_lines: int = MAX_RECORD_LINES):
        csv.field_size_limit(CSV_FIELD_LIMIT)
        self._lines = self._physical_lines(stream)
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()  # read ahead, framed again after a rejection
        self._delimiter = delimiter
        self._max_lines = max_record_lines
        self.counts = CsvLineCounts()
        self.header: Optional[list[str]] = None
        first = self._next_record(None)
        if first is not None:
            if first.fields is None:
                raise ValueError(f"header (line {first.line}): {first.error}")
            self.header = first.fields
            self.counts.header_lines = first.lines
            self.counts.records = self.counts.record_lines = 0

    def records(self) -> Iterator[CsvRecord]:
        if self.header is None:
            return
        width = len(self.header)
        while True:
            record = self._next_record(width)
            if record is None:
                return
            yield record

    # ------------------------------------------------------------------ framing

    def _physical_lines(self, stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
        number = 0
        for number, data in enumerate(stream, start=1):
            if number == 1 and data.startswith(BOM):
                data = data[len(BOM):]
            self.counts.lines += 1
            yield number, data

    def _line(self) -> Optional[tuple[int, bytes]]:
        if self._pending:
            return self._pending.popleft()
        return next(self._lines, None)

    def _next_record(self, width: Optional[int]) -> Optional[CsvRecord]:
        """The next record (blank lines counted and skipped), or None at the end of the file."""
        while True:
            first = self._line()
            if first is None:
                return None
            if first[1] and not first[1].isspace():
                break
            self.counts.blank_lines += 1
        record, used = self._frame(first, width)
        self.counts.records += 1
        self.counts.record_lines += record.lines
        # the lines read ahead but not used are framed again: a bad record costs only its first line
        self._pending.extendleft(reversed(used[record.lines:]))
        return record

    def _frame(self, first: tuple[int, bytes], width: Optional[int]) -> tuple[CsvRecord, list[tuple[int, bytes]]]:
        number, data = first
        if b"\0" in data:
            return CsvRecord(number, 1, None, f"line {number}: NUL byte"), [first]
        text = _strip_terminator(decode(data))
        if QUOTE not in text and "\r" not in text:  # fast path: nothing the csv module would read differently
            return self._checked(number, 1, text.split(self._delimiter), width), [first]
        used, parts = [first], [decode(data)]
        while True:
            try:
                rows = list(csv.reader([_strip_terminator("".join(parts))], delimiter=self._delimiter, strict=True))
            except csv.Error as error:
                if str(error) != _UNTERMINATED:
                    if len(used) > 1:  # a quote opened on this line, closed on a later one, and what follows it is not CSV
                        return CsvRecord(number, 1, None, f"line {number}: unbalanced quote (the field it opens ends on line "
                                                          f"{used[-1][0]}, where {error})"), used
                    return CsvRecord(number, 1, None, f"line {number}: malformed CSV record ({error})"), used
                following = self._joined_line(used, parts)
                if following is None:
                    return CsvRecord(number, 1, None, f"line {number}: unbalanced quote (no closing quote before the end of "
                                                      f"the file, a NUL byte or {self._max_lines} lines)"), used
                continue
            if len(rows) != 1:
                return CsvRecord(number, 1, None, f"line {number}: malformed CSV record ({len(rows)} rows)"), used
            return self._checked(number, len(used), rows[0], width), used

    def _joined_line(self, used: list[tuple[int, bytes]], parts: list[str]) -> Optional[tuple[int, bytes]]:
        """Join physical lines to an open quoted field until one holds a quote (only then can the field close)."""
        while len(used) < self._max_lines:
            following = self._line()
            if following is None:
                return None
            used.append(following)
            if b"\0" in following[1]:
                return None
            parts.append(decode(following[1]))
            if b'"' in following[1]:
                return following
        return None

    def _checked(self, number: int, lines: int, fields: list[str], width: Optional[int]) -> CsvRecord:
        if width is not None and len(fields) != width:
            return CsvRecord(number, 1, None, f"line {number}: {len(fields)} fields, the header has {width}")
        return CsvRecord(number, lines, fields)
