"""Every record a file holds is read once, counted at its source and ends written or rejected (readers, no Beam).

A property test over many tiny generated files with planted damage
(tests/damaged_corpora.py): unbalanced quotes, NUL bytes, truncated lines,
bad UTF-8, surplus and missing fields, bad field values, blank lines, BOMs,
CRLF, no final newline; JSONL and text read in blocks of random size.
"""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path

import pytest

from tests.damaged_corpora import LABELS, PlantedFile, csv_file, jsonl_file, text_file
from workflow.config import CorpusFormat, DataConfig
from workflow.preprocess.counting import FileCounts, SplitCounts
from workflow.preprocess.line_blocks import count_newlines, numbered
from workflow.preprocess.parse import RecordParser
from workflow.preprocess.pipeline import assemble_stats
from workflow.preprocess.readers import corpus_tasks, read_task
from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import CorpusSettings
from workflow.text import Tokenizer

PARSER = RecordParser(Tokenizer(), LABELS)


def read_everything(data: CorpusSettings, block_bytes: int) -> tuple[list[RawRecord], dict[str, FileCounts]]:
    """What the job's read tasks yield and count, task by task as TokenizeTask reads them (the line numbering of CorpusTasks)."""
    tasks = corpus_tasks(data, 1, block_bytes)
    newlines = collections.defaultdict(list)
    for kind, _, _, block in tasks:
        if kind == "lines" and block[2] is not None:
            path, counted = count_newlines(block)
            newlines[path].append(counted)
    records, files = [], {}
    for kind, split, file_format, what in tasks:
        tally: dict[str, FileCounts] = {}
        task = (kind, split, file_format, numbered(what, newlines) if kind == "lines" else what)
        records += read_task(task, data, tally=tally)
        for path, partial in tally.items():
            files.setdefault(path, FileCounts(partial.kind)).merge(partial)
    return records, files


def check_file(planted: PlantedFile, records: list[RawRecord], counts: FileCounts) -> None:
    """Each planted record yielded exactly once, under its first line: intact ones written with their id and text, damaged ones rejected."""
    path = str(planted.path)
    mine = [record for record in records if record.input_file == path]
    lines = [int(record.source.rsplit(":", 1)[1]) for record in mine]
    assert sorted(lines) == [record.line for record in planted.records], path
    by_line = dict(zip(lines, mine))
    for expected in planted.records:
        record = by_line[expected.line]
        outcome = PARSER(record)
        context = (path, expected, record, outcome)
        if expected.damage:
            assert isinstance(outcome, str), context
            counts.rejected += 1
        else:
            assert not isinstance(outcome, str), context
            assert record.doc_id == (expected.doc_id or f"{planted.path.name}:{expected.line}"), context
            assert record.text == expected.text, context
            counts.written += 1
    assert (counts.lines, counts.blank_lines, counts.header_lines, counts.records) == (
        planted.lines, planted.blank_lines, planted.header_lines, len(planted.records)), path
    counts.summary(path)  # reconciles: records = written + rejected, lines = blank + header + lines in records


def data_config(file_format: CorpusFormat, path: str, **fields) -> CorpusSettings:
    return CorpusSettings.of(DataConfig(name="damaged", format=file_format, path=path, **fields))


def test_csv_files_with_planted_damage_lose_no_record(tmp_path: Path):
    rng = random.Random(20261201)
    planted = [csv_file(tmp_path / f"f{number:03d}.csv", rng, rng.randint(0, 25), f"f{number}") for number in range(150)]
    records, files = read_everything(data_config(CorpusFormat.csv, str(tmp_path / "*.csv"), id_field="id"), 1 << 20)
    assert sorted(files) == sorted(str(file.path) for file in planted)
    for file in planted:
        check_file(file, records, files[str(file.path)])
    damage = collections.Counter(record.damage for file in planted for record in file.damaged)
    assert len(damage) == 7 and min(damage.values()) > 20, damage  # every kind of damage was planted, many times


def test_jsonl_and_text_files_with_planted_damage_lose_no_record_in_blocks_of_any_size(tmp_path: Path):
    rng = random.Random(121)
    for round_ in range(12):
        folder = tmp_path / str(round_)
        folder.mkdir()
        jsonl = [jsonl_file(folder / f"j{n:02d}.jsonl", rng, rng.randint(0, 30), f"{round_}.{n}") for n in range(8)]
        text = [text_file(folder / f"t{n:02d}.txt", rng, rng.randint(0, 30)) for n in range(4)]
        data = data_config(CorpusFormat.jsonl, str(folder / "*.jsonl"), id_field="id", rating_field="rating",
                           unlabelled=[str(folder / "*.txt")])
        records, files = read_everything(data, rng.choice([7, 40, 150, 1 << 20]))
        assert sorted(files) == sorted(str(file.path) for file in jsonl + text)
        for file in jsonl + text:
            check_file(file, records, files[str(file.path)])


def test_a_count_that_does_not_reconcile_fails_the_job_naming_the_file():
    """records = written + rejected and lines = blank + header + lines in records, per file: a mismatch is the job's bug."""
    train = SplitCounts(records_read=3, records_rejected=1)
    train.add(["good"])
    train.add(["bad"])
    written = {"examples/train": 2, "corpus/train": 2}

    def stats(**counts) -> str:
        return assemble_stats(None, {"train": train}, written, [("<pad>", 0), ("<unk>", 0)], (0, 0), {"/in/a.csv": FileCounts("csv", **counts)})

    ok = dict(lines=5, blank_lines=1, header_lines=1, record_lines=3, records=3, written=2, rejected=1)
    assert json.loads(stats(**ok))["files"] == {"/in/a.csv": ok}
    with pytest.raises(AssertionError, match=r"/in/a\.csv: 3 records read but 1 written \+ 1 rejected"):
        stats(**{**ok, "written": 1})
    with pytest.raises(AssertionError, match=r"/in/a\.csv: 6 lines but 1 blank \+ 1 header \+ 3 in records"):
        stats(**{**ok, "lines": 6})
    with pytest.raises(AssertionError, match="the input files hold"):
        stats(**{**ok, "records": 4, "written": 3})
