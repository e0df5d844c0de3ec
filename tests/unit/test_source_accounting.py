"""Every record a file holds is read once, counted at its source and ends written or rejected (readers, no Beam).

A property test over many tiny generated files with planted damage
(tests/damaged_corpora.py): unbalanced quotes, NUL bytes, truncated lines,
bad UTF-8, surplus and missing fields, bad field values, blank lines, BOMs,
CRLF, no final newline, quoted fields past the line bound; JSONL and text
read in blocks of random size; compressed files whole, cut short or
corrupt; archives whose members repeat or are folders and links; globs and
folders whose entries are pipes, folders, broken links and link loops.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import random
import tarfile
from pathlib import Path

import pytest

from tests.conftest import TINY_REVIEWS, write_aclimdb_folder
from tests.damaged_corpora import (COMPRESSIONS, LABELS, PlantedFile, archive_with_repeats, compressed_copy, csv_file, jsonl_file,
                                   text_file, unreadable_entries)
from workflow.config import CorpusFormat, DataConfig, SplitPaths
from workflow.errors import InputError
from workflow.preprocess import csv_records
from workflow.preprocess.counting import FileCounts, SplitCounts
from workflow.preprocess.line_blocks import count_newlines, numbered
from workflow.preprocess.parse import RecordParser
from workflow.preprocess.pipeline import assemble_stats
from workflow.preprocess.readers import corpus_tasks, input_files, read_task
from workflow.preprocess.records import RawRecord
from workflow.preprocess.settings import CorpusSettings
from workflow.text import Tokenizer

PARSER = RecordParser(Tokenizer(), LABELS)


def read_everything(data: CorpusSettings, block_bytes: int, parallelism: int = 1) -> tuple[list[RawRecord], dict[str, FileCounts]]:
    """What the job's read tasks yield and count, task by task as TokenizeTask reads them (the line numbering of CorpusTasks)."""
    tasks = corpus_tasks(data, parallelism, block_bytes)
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


def renamed(planted: PlantedFile, path: Path) -> PlantedFile:
    return dataclasses.replace(planted, path=path)


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
        return assemble_stats(None, {"train": train}, written, [("<pad>", 0), ("<unk>", 0)], (0, 0), {"/in/a.csv": FileCounts("csv", **counts)},
                              collections.Counter({"missing label": 1}))

    ok = dict(lines=5, blank_lines=1, header_lines=1, record_lines=3, records=3, written=2, rejected=1)
    assert json.loads(stats(**ok))["files"] == {"/in/a.csv": ok}
    with pytest.raises(AssertionError, match=r"/in/a\.csv: 3 records read but 1 written \+ 1 rejected"):
        stats(**{**ok, "written": 1})
    with pytest.raises(AssertionError, match=r"/in/a\.csv: 6 lines but 1 blank \+ 1 header \+ 3 in records"):
        stats(**{**ok, "lines": 6})
    with pytest.raises(AssertionError, match="the input files hold"):
        stats(**{**ok, "records": 4, "written": 3})


def test_csv_quoted_fields_past_the_line_bound_are_one_rejected_record_each(tmp_path: Path, monkeypatch):
    """Legal quoted fields longer than the bound, whose inner lines look like rows, among every other kind of damage:
    each is rejected once under its first line, and no inner line is read as a record (a bound of 4 lines: the
    module's 1,000 at the scale of these files)."""
    monkeypatch.setattr(csv_records, "MAX_RECORD_LINES", 4)
    rng = random.Random(34)
    planted = [csv_file(tmp_path / f"f{number:02d}.csv", rng, rng.randint(0, 25), f"f{number}", line_bound=4) for number in range(60)]
    records, files = read_everything(data_config(CorpusFormat.csv, str(tmp_path / "*.csv"), id_field="id"), 1 << 20)
    for file in planted:
        check_file(file, records, files[str(file.path)])
    long_fields = [record for file in planted for record in file.records if record.damage == "long field"]
    assert len(long_fields) > 40 and not any("fake" in record.doc_id for record in records)


@pytest.mark.parametrize("suffix", sorted(COMPRESSIONS))
def test_a_compressed_file_is_read_whole_or_fails_naming_the_file_and_where_it_broke(tmp_path: Path, suffix):
    """Intact: every record as from the plain file. Cut short or with a flipped byte, in any format and as
    data.unlabelled: an InputError naming the file, never a shorter file read as whole (Beam's own decompression
    read a .jsonl.gz cut in half as 16 records of 40, without a word)."""
    rng = random.Random(suffix)
    for round_ in range(4):
        folder = tmp_path / str(round_)
        folder.mkdir()
        planted = {"csv": csv_file(folder / "r.csv", rng, rng.randint(5, 30), f"{round_}c"),
                   "jsonl": jsonl_file(folder / "r.jsonl", rng, rng.randint(5, 30), f"{round_}j"),
                   "text": text_file(folder / "u.txt", rng, rng.randint(5, 30))}
        whole = {kind: renamed(file, compressed_copy(file, suffix, rng)) for kind, file in planted.items()}
        for kind, unlabelled in (("csv", []), ("jsonl", [str(whole["text"].path)])):
            data = data_config(CorpusFormat(kind), str(whole[kind].path), id_field="id", rating_field="rating" if kind == "jsonl" else None,
                               unlabelled=unlabelled)
            records, files = read_everything(data, 1 << 20)
            for file in [whole[kind]] + ([whole["text"]] if unlabelled else []):
                check_file(file, records, files[str(file.path)])
        for damage in ("truncated", "corrupt"):
            for kind, file in planted.items():
                broken = compressed_copy(file, suffix, rng, damage)
                data = (data_config(CorpusFormat.jsonl, str(whole["jsonl"].path), unlabelled=[str(broken)]) if kind == "text"
                        else data_config(CorpusFormat(kind), str(broken)))
                with pytest.raises(InputError, match=rf"^{broken}: (truncated|corrupt) .* stream") as raised:
                    read_everything(data, 1 << 20)
                assert str(raised.value).endswith(": repair or remove the file"), str(raised.value)


def test_a_zstd_file_is_refused_before_any_read_naming_its_config_key(tmp_path: Path):
    (tmp_path / "u.txt.zst").write_bytes(b"\x28\xb5\x2f\xfd")
    (tmp_path / "r.txt").write_text("a line\n")
    with pytest.raises(InputError, match=r"data\.unlabelled\[0\]: .*u\.txt\.zst: zstd compression is not supported"):
        input_files(data_config(CorpusFormat.text, str(tmp_path / "r.txt"), unlabelled=[str(tmp_path / "*.zst")]))


def test_a_path_that_exists_is_the_file_it_names_and_only_a_missing_one_a_pattern(tmp_path: Path):
    rng = random.Random(4)
    literal = csv_file(tmp_path / "reviews[2023].csv", rng, 8, "lit")
    other = csv_file(tmp_path / "reviews2.csv", rng, 8, "other")
    data = data_config(CorpusFormat.csv, str(literal.path), id_field="id")
    records, files = read_everything(data, 1 << 20)
    assert list(files) == [str(literal.path)]
    check_file(literal, records, files[str(literal.path)])
    literal.path.unlink()
    records, files = read_everything(data, 1 << 20)  # now a pattern: the class [2023] matches reviews2.csv
    assert list(files) == [str(other.path)]
    check_file(other, records, files[str(other.path)])
    other.path.unlink()
    with pytest.raises(InputError, match=r"^data\.path=.*: no file matches this pattern"):
        input_files(data)
    (tmp_path / "plain.csv").write_text("id,text,label\n")
    with pytest.raises(InputError, match=r"^data\.unlabelled\[1\]=.*gone\.txt': no such file or folder"):
        input_files(data_config(CorpusFormat.csv, str(tmp_path / "plain.csv"), unlabelled=[str(tmp_path / "plain.csv"), str(tmp_path / "gone.txt")]))
    with pytest.raises(InputError, match=r"^data\.splits\.test=.*: no such file or folder"):
        input_files(CorpusSettings.of(DataConfig(name="d", format=CorpusFormat.csv, path=str(tmp_path / "plain.csv"),
                                                 splits=SplitPaths(test=str(tmp_path / "gone.csv")))))
    with pytest.raises(InputError, match=r"^data\.path=.* is a folder: name the files in it, e\.g\. data\.path=.*/\*'"):
        input_files(data_config(CorpusFormat.csv, str(tmp_path)))
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(InputError, match=r"^data\.path=.*pipe\.csv': a named pipe \(FIFO\), not a regular file"):
        input_files(data_config(CorpusFormat.csv, str(tmp_path / "pipe.csv")))


def check_refused(records: list[RawRecord], files: dict[str, FileCounts], planted: dict[str, str], counted_under=None) -> None:
    """Each planted entry that is no readable file: exactly one record, rejected with its reason, counted once."""
    for path, reason in planted.items():
        (record,) = [record for record in records if record.source == path]
        outcome = PARSER(record)
        assert isinstance(outcome, str) and outcome.startswith(reason), (path, outcome)
        under = counted_under(path) if counted_under else path
        assert record.input_file == under
        if not counted_under:
            assert (files[path].kind, files[path].records) == ("unread", 1)


def test_entries_a_pattern_matches_that_are_no_files_are_each_one_rejected_record(tmp_path: Path):
    """Pipes (which would block the first open), folders, broken links and link loops among planted CSV files, and
    in the folders of an aclImdb corpus: counted and rejected with their reason, never opened, never silently skipped.
    A link to a file is that file."""
    rng = random.Random(8)
    planted = [csv_file(tmp_path / f"f{number}.csv", rng, rng.randint(1, 10), f"f{number}") for number in range(5)]
    linked = tmp_path / "elsewhere"
    linked.mkdir()
    target = csv_file(linked / "target.csv", rng, 6, "linked")
    (tmp_path / "link.csv").symlink_to(target.path)
    entries = unreadable_entries(tmp_path, rng, ".csv")
    records, files = read_everything(data_config(CorpusFormat.csv, str(tmp_path / "*.csv"), id_field="id"), 1 << 20)
    assert sorted(files) == sorted([str(file.path) for file in planted] + [str(tmp_path / "link.csv")] + list(entries))
    for file in planted + [renamed(target, tmp_path / "link.csv")]:
        check_file(file, records, files[str(file.path)])
    check_refused(records, files, entries)

    root = write_aclimdb_folder(tmp_path / "corpus", TINY_REVIEWS)
    entries = {**unreadable_entries(root / "train" / "pos", rng, ".txt"), **unreadable_entries(root / "test" / "neg", rng, ".txt")}
    records, files = read_everything(data_config(CorpusFormat.aclimdb, str(root)), 1 << 20)
    check_refused(records, files, entries, counted_under=os.path.dirname)
    reviews = collections.Counter(os.path.dirname(str(root.parent / name)) for name in TINY_REVIEWS if name.endswith(".txt"))
    assert {path: counts.records for path, counts in files.items()} == dict(reviews + collections.Counter(map(os.path.dirname, entries)))
    assert sorted(record.doc_id for record in records if record.source in entries) == sorted(
        f"{path.split('/')[-3]}/{path.split('/')[-2]}/{os.path.basename(path)[:-4]}" for path in entries)


@pytest.mark.parametrize("parallelism", [1, 2, 3])
def test_a_repeated_archive_member_keeps_its_last_copy_as_tar_does_and_every_other_is_counted(tmp_path: Path, parallelism):
    """Copies appended later (``tar rf``), folders and links named like reviews: every review member is one record;
    the last copy of a name is written with its text, each earlier copy rejected naming the one that replaces it.
    The written documents are those of the folder ``tar x`` unpacks the archive to."""
    rng = random.Random(parallelism)
    archive = tmp_path / "repeats.tar.gz"
    planted = archive_with_repeats(archive, rng, 60)
    assert sum(1 for member in planted if member.reason == "repeated archive member") > 5
    records, files = read_everything(data_config(CorpusFormat.aclimdb, str(archive)), 1 << 20, parallelism)
    assert files[str(archive)].records == len(planted) == len(records)
    by_name = collections.defaultdict(list)
    for record in records:
        by_name[record.source.split("!", 1)[1]].append(record)
    for name in {member.name for member in planted}:
        expected = [member for member in planted if member.name == name]
        got = by_name[name]
        assert len(got) == len(expected), name
        outcomes = [PARSER(record) for record in got]
        kept = [record.text for record, outcome in zip(got, outcomes) if not isinstance(outcome, str)]
        assert kept == [member.text for member in expected if member.text is not None], name
        reasons = sorted(outcome for outcome in outcomes if isinstance(outcome, str))
        planted_reasons = sorted(member.reason for member in expected if member.reason)
        assert len(reasons) == len(planted_reasons) and all(map(str.startswith, reasons, planted_reasons)), (name, reasons)

    folder = tmp_path / "unpacked"
    with tarfile.open(archive) as unpacking:
        unpacking.extractall(folder, filter="tar")
    from_folder, _ = read_everything(data_config(CorpusFormat.aclimdb, str(folder)), 1 << 20)
    written = lambda found: {record.doc_id: record.text for record in found if not isinstance(PARSER(record), str)}  # noqa: E731
    assert written(from_folder) == written(records)


def test_a_file_that_vanishes_after_it_was_listed_fails_its_task_naming_it(tmp_path: Path):
    """Listed when the job was planned, gone when its task reads it: one InputError naming the file and the cause."""
    rng = random.Random(6)
    for file_format, make in ((CorpusFormat.csv, lambda path: csv_file(path, rng, 5, "v")), (CorpusFormat.jsonl, lambda path: jsonl_file(path, rng, 5, "v"))):
        planted = make(tmp_path / f"vanishing.{file_format.value}")
        data = data_config(file_format, str(planted.path))
        tasks = corpus_tasks(data, 1, 1 << 20)
        planted.path.unlink()
        with pytest.raises(InputError, match=rf"^{planted.path}: cannot read \(FileNotFoundError: .*No such file"):
            for kind, split, fmt, what in tasks:
                list(read_task((kind, split, fmt, (what, 0) if kind == "lines" else what), data))
