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
  the next physical line: a bad line costs its own record;
* a quoted field still open after :data:`MAX_RECORD_LINES` lines is followed
  to its end by :class:`_RecordScan`, which applies the csv module's strict
  rules to one line at a time and keeps no text (the lines it passes wait in
  a temporary file). If the record ends there as legal CSV with the header's
  number of fields, it is rejected once, as one record spanning all its
  lines, and framing goes on after it: the field's inner lines never become
  records. Otherwise its first line was an unbalanced quote: that line alone
  is rejected and every line after it is framed again.

Every physical line is counted as blank (only ASCII whitespace), the header,
or a line of one record, so ``lines = blank + header + record lines`` holds
by construction and ``records = written + rejected`` can be checked against
what the job wrote (pipeline.assemble_stats).
"""

from __future__ import annotations

import collections
import csv
import itertools
import re
import tempfile
from typing import IO, Iterator, NamedTuple, Optional

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, at the start of the file only
MAX_RECORD_LINES = 1000  # a quoted field may span this many lines; an unbalanced quote is given up on after them
QUOTE = '"'
CSV_FIELD_LIMIT = 2**31 - 1  # the csv module's default (131,072 characters) would refuse one long review
SPOOL_BYTES = 16 << 20  # of the lines past the bound held in memory while a record's end is looked for; more go to disk
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


class _RecordScan:
    """Where a CSV record ends, fed one physical line at a time: the csv module's strict rules, no text kept.

    States as the csv module's parser has them: at the start of a field, in
    an unquoted field (where a quote is a literal character), in a quoted
    field (where line ends belong to the field), or just after a quote inside
    a quoted field (a second quote escapes it; a delimiter or the line's end
    closes the field; anything else is an error, as ``strict=True`` says).
    Each line costs a search per quote or delimiter, so the inner lines of a
    long quoted field pass at the speed of ``str.find``.
    """

    FIELD_START, UNQUOTED, QUOTED, AFTER_QUOTE = range(4)

    def __init__(self, delimiter: str):
        self.fields = 1
        self.state = self.FIELD_START
        self._delimiter = delimiter
        self._special = re.compile("[\r" + re.escape(delimiter) + "]")

    def feed(self, text: str) -> Optional[bool]:
        """One physical line without its terminator: True when the record ends with it, False when it breaks the rules,
        None when a quoted field goes on into the next line."""
        at, end = 0, len(text)
        while at < end:
            if self.state == self.QUOTED:
                at = text.find(QUOTE, at)
                if at < 0:
                    return None
                self.state, at = self.AFTER_QUOTE, at + 1
                continue
            char = text[at]
            if self.state == self.AFTER_QUOTE:  # a doubled quote is a literal one; a delimiter closes the field
                if char == QUOTE:
                    self.state, at = self.QUOTED, at + 1
                    continue
                if char != self._delimiter:
                    return char == "\r" and not text[at:].strip("\r")  # trailing carriage returns end it, as in the csv module
                self.fields, self.state, at = self.fields + 1, self.FIELD_START, at + 1
                continue
            if self.state == self.FIELD_START:
                if char == QUOTE:
                    self.state, at = self.QUOTED, at + 1
                    continue
                if char == self._delimiter:
                    self.fields, at = self.fields + 1, at + 1
                    continue
                self.state = self.UNQUOTED
            found = self._special.search(text, at)  # unquoted: a quote is a literal character here
            if found is None:
                return True
            if found.group() == "\r":
                return not text[found.start():].strip("\r")
            self.fields, self.state, at = self.fields + 1, self.FIELD_START, found.end()
        return None if self.state == self.QUOTED else True


class CsvFraming:
    """``(header, records)`` of one CSV stream of bytes; ``counts`` grows as the records are read.

    ``header`` is None for a file with no non-blank line; a header that does
    not frame raises ``ValueError`` (the caller names the file). Call
    :meth:`close` when done: lines waiting in a temporary file are released.
    """

    def __init__(self, stream: IO[bytes], delimiter: str = ",", max_record_lines: Optional[int] = None):
        csv.field_size_limit(CSV_FIELD_LIMIT)
        self._lines = self._physical_lines(stream)
        # lines read ahead, framed again after a rejection: sources read before the stream, the first one first
        self._pending: collections.deque[Iterator[tuple[int, bytes]]] = collections.deque()
        self._delimiter = delimiter
        self._max_lines = max_record_lines or MAX_RECORD_LINES
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

    def close(self) -> None:
        """Release the lines still waiting to be framed again (and their temporary file)."""
        while self._pending:
            source = self._pending.popleft()
            if hasattr(source, "close"):
                source.close()

    # ------------------------------------------------------------------ framing

    def _physical_lines(self, stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
        number = 0
        for number, data in enumerate(stream, start=1):
            if number == 1 and data.startswith(BOM):
                data = data[len(BOM):]
            self.counts.lines += 1
            yield number, data

    def _line(self) -> Optional[tuple[int, bytes]]:
        while self._pending:
            line = next(self._pending[0], None)
            if line is not None:
                return line
            self._pending.popleft()
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
        record, unused = self._frame(first, width)
        self.counts.records += 1
        self.counts.record_lines += record.lines
        # the lines read ahead but not used are framed again: a bad record costs only its first line
        self._pending.appendleft(unused)
        return record

    def _frame(self, first: tuple[int, bytes], width: Optional[int]) -> tuple[CsvRecord, Iterator[tuple[int, bytes]]]:
        """The record that starts at ``first``, and the lines read for it that are not part of it."""
        number, data = first
        if b"\0" in data:
            return CsvRecord(number, 1, None, f"line {number}: NUL byte"), iter(())
        text = _strip_terminator(decode(data))
        if QUOTE not in text and "\r" not in text:  # fast path: nothing the csv module would read differently
            return self._checked(number, 1, text.split(self._delimiter), width), iter(())
        used, parts = [first], [decode(data)]
        while True:
            try:
                rows = list(csv.reader([_strip_terminator("".join(parts))], delimiter=self._delimiter, strict=True))
            except csv.Error as error:
                if str(error) != _UNTERMINATED:
                    if len(used) > 1:  # a quote opened on this line, closed on a later one, and what follows it is not CSV
                        return CsvRecord(number, 1, None, f"line {number}: unbalanced quote (the field it opens ends on line "
                                                          f"{used[-1][0]}, where {error})"), iter(used[1:])
                    return CsvRecord(number, 1, None, f"line {number}: malformed CSV record ({error})"), iter(())
                stopped = self._joined_line(used, parts)
                if stopped == "bound":
                    return self._beyond_bound(used, width)
                if stopped is not None:
                    return CsvRecord(number, 1, None, f"line {number}: unbalanced quote (no closing quote before {stopped})"), iter(used[1:])
                continue
            if len(rows) != 1:
                return CsvRecord(number, 1, None, f"line {number}: malformed CSV record ({len(rows)} rows)"), iter(used[1:])
            record = self._checked(number, len(used), rows[0], width)
            return record, iter(used[record.lines:])

    def _joined_line(self, used: list[tuple[int, bytes]], parts: list[str]) -> Optional[str]:
        """Join physical lines to an open quoted field until one holds a quote (only then can the field close): None
        then; otherwise what stopped it: ``"bound"`` (:data:`MAX_RECORD_LINES` lines), the end of the file or a NUL byte."""
        while len(used) < self._max_lines:
            following = self._line()
            if following is None:
                return "the end of the file"
            used.append(following)
            if b"\0" in following[1]:
                return f"a NUL byte on line {following[0]}"
            parts.append(decode(following[1]))
            if b'"' in following[1]:
                return None
        return "bound"

    def _beyond_bound(self, used: list[tuple[int, bytes]], width: Optional[int]) -> tuple[CsvRecord, Iterator[tuple[int, bytes]]]:
        """A quoted field open after the bound: followed to its end (see the module docstring)."""
        number, scan = used[0][0], _RecordScan(self._delimiter)
        for _, data in used:
            scan.feed(_strip_terminator(decode(data)))
        waiting = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        last, verdict, why = used[-1][0], None, "the end of the file"
        while verdict is None:
            following = self._line()
            if following is None:
                break
            waiting.write(following[1])
            last = following[0]
            if b"\0" in following[1]:
                why = f"a NUL byte on line {last}"
                break
            verdict = scan.feed(_strip_terminator(decode(following[1])))
        if verdict and (width is None or scan.fields == width):
            waiting.close()
            return CsvRecord(number, last - number + 1, None, f"lines {number}-{last}: a quoted field longer than {self._max_lines} "
                                                             "lines (legal CSV, rejected as one record)"), iter(())
        if verdict:
            why = f"the record it opens ends on line {last} with {scan.fields} fields, the header has {width}"
        elif verdict is False:
            why = f"the field it opens ends on line {last}, where what follows the closing quote is not CSV"
        else:
            why = f"no closing quote before {why}"
        waiting.seek(0)
        return CsvRecord(number, 1, None, f"line {number}: unbalanced quote ({why})"), itertools.chain(
            iter(used[1:]), _waiting_lines(waiting, used[-1][0] + 1))

    def _checked(self, number: int, lines: int, fields: list[str], width: Optional[int]) -> CsvRecord:
        if width is not None and len(fields) != width:
            return CsvRecord(number, 1, None, f"line {number}: {len(fields)} fields, the header has {width}")
        return CsvRecord(number, lines, fields)


def _waiting_lines(waiting: IO[bytes], first: int) -> Iterator[tuple[int, bytes]]:
    """The lines :meth:`CsvFraming._beyond_bound` put in ``waiting``, numbered from ``first``; the file is closed after them."""
    with waiting:
        yield from enumerate(iter(waiting.readline, b""), start=first)
