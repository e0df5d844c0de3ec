"""CSV files (decompressed by extension) as RawRecords, framed line by line (csv_records.py), so one bad row costs that row."""

from __future__ import annotations

from typing import IO, Iterator, Optional

from workflow.errors import InputError
from workflow.preprocess.columns import check_header
from workflow.preprocess.compressed import DamagedStream, damaged, open_input
from workflow.preprocess.counting import FileCounts, Tally, file_counts
from workflow.preprocess.csv_records import CsvFraming
from workflow.preprocess.fields import FieldRecords
from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import CorpusSettings
from workflow.storage import IN_JOB, Storage


class CsvFile:
    """One CSV file (decompressed by extension) -> RawRecords, framed line by line (csv_records.py)."""

    def __init__(self, data: CorpusSettings, split: str):
        self._data, self._split = data, split
        self._records = FieldRecords(data, split)

    def records(self, path: str, tally: Optional[Tally] = None) -> Iterator[RawRecord]:
        counts = file_counts(tally, path, "csv")
        lines_before = counts.lines
        try:
            with open_input(path) as stream:
                yield from self._csv_records(path, stream, counts)
        except DamagedStream as error:
            raise damaged(path, error, counts.lines - lines_before) from error
        except OSError as error:
            raise InputError(f"{path}: cannot read ({type(error).__name__}: {error})") from error

    def _csv_records(self, path: str, stream: IO[bytes], counts: FileCounts) -> Iterator[RawRecord]:
        """One record per framed record; one that does not frame is a rejected record, and reading goes on at its next line."""
        try:
            framing = CsvFraming(stream, self._data.csv_delimiter)
        except ValueError as error:
            raise InputError(f"{path}: cannot read the CSV {error}") from error
        try:
            header = framing.header
            if header is None:
                return
            check_header(path, header, self._data, self._split)
            for number, framed in enumerate(framing.records(), start=1):
                if framed.fields is None:
                    yield self._records.rejected(path, number, framed.error, framed.line)
                else:
                    yield self._records.record(path, number, dict(zip(header, framed.fields)), framed.line)
        finally:
            framing.close()
            frame = framing.counts
            counts.lines += frame.lines
            counts.blank_lines += frame.blank_lines
            counts.header_lines += frame.header_lines
            counts.records += frame.records
            counts.record_lines += frame.record_lines


def csv_header(path: str, delimiter: str, storage: Storage = IN_JOB) -> Optional[list[str]]:
    """The header of a CSV file as the reader frames it (None for a file with no non-blank line); InputError naming the
    file when it cannot be read or its header does not frame."""
    try:
        with open_input(path, storage) as stream:
            framing = CsvFraming(stream, delimiter)
            framing.close()
            return framing.header
    except (DamagedStream, OSError) as error:
        raise InputError(f"{path}: cannot read ({error})") from error
    except ValueError as error:
        raise InputError(f"{path}: cannot read the CSV {error}") from error
