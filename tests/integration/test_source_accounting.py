"""Through the whole stage: every input file's records counted where they are read and reconciled in stats.json."""

from __future__ import annotations

import glob
import json
import random
from pathlib import Path

import gzip
import os

import pytest

from tests.conftest import TINY_REVIEWS, write_aclimdb_folder
from tests.damaged_corpora import PlantedFile, archive_with_repeats, compressed_copy, csv_file, jsonl_file, text_file, unreadable_entries
from tests.integration.test_preprocess_stage import examples, run
from workflow import locks
from workflow.artifacts import read_json
from workflow.errors import ConfigError, EmptyCorpusError, InputError
from workflow.preprocess.layout import PreprocessLayout

ALL_SPLITS = ("train", "validation", "test")


def rejected_rows(layout: PreprocessLayout) -> list[dict]:
    return [json.loads(line) for path in sorted(glob.glob(layout.rejected_glob)) for line in Path(path).read_text().splitlines()]


def written_ids(layout: PreprocessLayout) -> set[str]:
    return {doc_id for split in ALL_SPLITS for doc_id in examples(layout, split)}


def test_the_issues_csv_with_a_bad_quote_on_line_12_loses_only_that_row(make_config, tmp_path):
    rows = ["id,text,label"] + [f"r{i},text number {i},{'pos' if i % 2 else 'neg'}" for i in range(1, 61)]
    rows[11] = 'r10,"wow and left,pos'
    corpus = tmp_path / "reviews.csv"
    corpus.write_text("\n".join(rows) + "\n")
    layout = run(make_config, "data=csv", f"data.path={corpus}", "data.id_field=id", "preprocess.min_count=1")
    stats = read_json(layout.stats)
    assert stats["totals"] == {"records_read": 60, "records_written": 59, "records_rejected": 1}
    assert stats["files"] == {str(corpus): {"lines": 61, "blank_lines": 0, "header_lines": 1, "record_lines": 60,
                                            "records": 60, "written": 59, "rejected": 1}}
    (rejected,) = rejected_rows(layout)
    assert rejected["source"] == f"{corpus}:12" and rejected["reason"].startswith("line 12: unbalanced quote")
    assert written_ids(layout) == {f"r{i}" for i in range(1, 61) if i != 11}


def test_a_bom_hides_no_header_and_no_first_line(make_config, tmp_path):
    bom = b"\xef\xbb\xbf"
    csv_path = tmp_path / "bom.csv"
    csv_path.write_bytes(bom + b"id,text,label\r\nfirst,good film,pos\r\nsecond,bad film,neg\r\n")
    layout = run(make_config, "data=csv", f"data.path={csv_path}", "data.id_field=id", "preprocess.min_count=1",
                 "preprocess.test_fraction=0", "preprocess.validation_fraction=0")
    assert set(examples(layout, "train")) == {"first", "second"}, "ids from the id column, not <file>:<line>"
    jsonl_path, text_path = tmp_path / "bom.jsonl", tmp_path / "bom.txt"
    jsonl_path.write_bytes(bom + b'{"id": "j1", "text": "good film", "label": "pos"}\n{"id": "j2", "text": "bad film", "label": "neg"}\n')
    text_path.write_bytes(bom + b"an unlabelled line\n\nanother one\n")
    layout = run(make_config, "data=jsonl", f"data.path={jsonl_path}", "data.id_field=id", f"data.unlabelled=[{text_path}]",
                 "preprocess.min_count=1", "preprocess.test_fraction=0", "preprocess.validation_fraction=0")
    assert set(examples(layout, "train")) == {"j1", "j2"} and rejected_rows(layout) == []
    stats = read_json(layout.stats)
    assert stats["files"][str(text_path)] == {"lines": 3, "blank_lines": 1, "records": 2, "written": 2, "rejected": 0}
    assert Path(layout.root, "corpus").exists() and "\ufeff" not in "".join(
        Path(path).read_text() for path in sorted(glob.glob(layout.corpus_glob)))


def test_field_values_an_example_cannot_hold_are_rejected_and_the_rest_parse_in_tensorflow(make_config, tmp_path):
    lines = [
        '{"id": "inf", "text": "good film", "label": "pos", "rating": Infinity}',
        '{"id": "nan", "text": "good film", "label": "pos", "rating": NaN}',
        '{"id": "neg", "text": "good film", "label": "pos", "rating": -3}',
        '{"id": "big", "text": "good film", "label": "pos", "rating": 1e30}',
        '{"id": "half", "text": "good film", "label": "pos", "rating": 7.5}',
        '{"id": "list", "text": "good film", "label": ["pos"]}',
        '{"id": "dict", "text": "good film", "label": {"v": "pos"}}',
        '{"id": "caf\xe9", "text": "good film", "label": "pos"}',
        '{"id": "max", "text": "good film", "label": "pos", "rating": 9223372036854775807}',
        '{"id": "nine", "text": "bad film", "label": "neg", "rating": 9.0}',
    ]
    corpus = tmp_path / "values.jsonl"
    corpus.write_bytes("\n".join(lines).encode("latin-1"))
    layout = run(make_config, "data=jsonl", f"data.path={corpus}", "data.id_field=id", "data.rating_field=rating",
                 "preprocess.min_count=1", "preprocess.test_fraction=0", "preprocess.validation_fraction=0")
    assert {doc_id: row["rating"] for doc_id, row in examples(layout, "train").items()} == {"max": 2**63 - 1, "nine": 9}
    reasons = {row["source"].rsplit(":", 1)[1]: row["reason"] for row in rejected_rows(layout)}
    assert reasons == {
        "1": "rating inf is not a finite number", "2": "rating nan is not a finite number",
        "3": "rating -3 is out of range (0 to 2**63-1)", "4": "rating 1e+30 is out of range (0 to 2**63-1)",
        "5": "rating 7.5 is not an integer", "6": "label field 'label' is a list, not a string or a number",
        "7": "label field 'label' is an object, not a string or a number", "8": "id field 'id' is not UTF-8"}
    assert read_json(layout.stats)["files"][str(corpus)] == {"lines": 10, "blank_lines": 0, "records": 10, "written": 2, "rejected": 8}


def check_stage(layout: PreprocessLayout, planted: list[PlantedFile], others: dict[str, int] | None = None) -> None:
    """stats.json's files and the examples and rejections match what was planted, by count, by id and by line.

    ``others``: the records of the other inputs (checked by the caller), by path.
    """
    stats = read_json(layout.stats)
    others = others or {}
    assert sorted(stats["files"]) == sorted([str(file.path) for file in planted] + list(others))
    ids = written_ids(layout)
    rejected = {row["source"] for row in rejected_rows(layout)}
    for file in planted:
        row = stats["files"][str(file.path)]
        assert (row["lines"], row["blank_lines"], row.get("header_lines", 0)) == (file.lines, file.blank_lines, file.header_lines)
        assert (row["records"], row["written"], row["rejected"]) == (len(file.records), len(file.intact), len(file.damaged)), file.path
        assert {f"{file.path}:{record.line}" for record in file.damaged} <= rejected
        if file.path.suffix != ".txt":
            assert {record.doc_id for record in file.intact} <= ids
    assert stats["totals"]["records_read"] == sum(len(file.records) for file in planted) + sum(others.values())


def test_damaged_csv_files_of_two_splits_through_the_stage(make_config, tmp_path):
    rng = random.Random(5)
    train = [csv_file(tmp_path / f"train{n}.csv", rng, 30, f"train{n}.") for n in range(3)]
    test = [csv_file(tmp_path / f"test{n}.csv", rng, 20, f"test{n}.") for n in range(2)]
    layout = run(make_config, "data=csv", f"data.path={tmp_path}/train*.csv", f"data.splits.test={tmp_path}/test*.csv",
                 "data.id_field=id", "preprocess.min_count=1")
    check_stage(layout, train + test)
    assert set(examples(layout, "test")) == {record.doc_id for file in test for record in file.intact}


def test_damaged_jsonl_and_text_in_blocks_over_two_worker_processes_match_one_block_in_memory(make_config, tmp_path):
    rng = random.Random(11)
    jsonl = [jsonl_file(tmp_path / f"part{n}.jsonl", rng, 40, f"p{n}.") for n in range(2)]
    text = [text_file(tmp_path / "extra.txt", rng, 30)]
    common = ("data=jsonl", f"data.path={tmp_path}/part*.jsonl", f"data.unlabelled=[{tmp_path}/extra.txt]", "data.id_field=id",
              "data.rating_field=rating", "preprocess.min_count=1")
    whole = run(make_config, *common, f"workdir={tmp_path / 'whole'}")
    blocks = run(make_config, *common, f"workdir={tmp_path / 'blocks'}", "preprocess.read_block_mb=0.0003",
                 "beam.running_mode=multi_processing", "beam.num_workers=2")
    check_stage(blocks, jsonl + text)
    assert Path(whole.stats).read_bytes() == Path(blocks.stats).read_bytes()


def test_archive_and_folder_members_are_counted(make_config, tmp_path, tiny_archive):
    stats = read_json(run(make_config, f"data.path={tiny_archive}", f"workdir={tmp_path / 'a'}").stats)
    assert stats["files"] == {str(tiny_archive): {"records": 7, "written": 7, "rejected": 0}}
    folder = write_aclimdb_folder(tmp_path / "unpacked", TINY_REVIEWS)
    stats = read_json(run(make_config, f"data.path={folder}", f"workdir={tmp_path / 'f'}").stats)
    assert {path.split("aclImdb/")[1]: row["records"] for path, row in stats["files"].items()} == {
        "train/pos": 2, "train/neg": 2, "train/unsup": 1, "test/pos": 1, "test/neg": 1}


def test_entries_that_are_no_files_and_a_csv_field_past_the_bound_through_the_stage(make_config, tmp_path):
    """A glob over planted CSV files, a pipe, a folder, a broken link and a link loop, and a reported file whose quoted
    field spans 1,200 lines between 10 rows: every record counted in stats.json by file, rejected ones by id and line."""
    rng = random.Random(34)
    planted = [csv_file(tmp_path / f"part{n}.csv", rng, 25, f"part{n}.") for n in range(3)]
    entries = unreadable_entries(tmp_path, rng, ".csv")
    long_field = tmp_path / "long.csv"
    inner = "".join(f"inner{i},looks like a row,pos\n" for i in range(1198))
    long_field.write_text("id,text,label\n" + "".join(f"r{i},review {i} good,pos\n" for i in range(5)) + f'long,"first\n{inner}last",neg\n'
                          + "".join(f"r{i},review {i} bad,neg\n" for i in range(5, 10)))
    layout = run(make_config, "data=csv", f"data.path={tmp_path}/*.csv", "data.id_field=id", "preprocess.min_count=1")
    stats = read_json(layout.stats)
    assert stats["files"][str(long_field)] == {"lines": 1211, "blank_lines": 0, "header_lines": 1, "record_lines": 1210,
                                               "records": 11, "written": 10, "rejected": 1}
    assert {path: stats["files"][path] for path in entries} == {path: {"records": 1, "written": 0, "rejected": 1} for path in entries}
    rejected = {row["source"]: row["reason"] for row in rejected_rows(layout)}
    assert rejected[f"{long_field}:7"] == "lines 7-1206: a quoted field longer than 1000 lines (legal CSV, rejected as one record)"
    assert all(rejected[path].startswith(reason) for path, reason in entries.items())
    assert not any(doc_id.startswith("inner") for doc_id in written_ids(layout)) and {f"r{i}" for i in range(10)} <= written_ids(layout)
    check_stage(layout, planted, {**{path: 1 for path in entries}, str(long_field): 11})
    assert sum(count for _, count in stats["rejected_reasons"]) == stats["totals"]["records_rejected"]


def test_an_archive_with_repeated_members_through_the_stage(make_config, tmp_path):
    rng = random.Random(21)
    archive = tmp_path / "repeats.tar.gz"
    planted = archive_with_repeats(archive, rng, 40)
    layout = run(make_config, f"data.path={archive}", "preprocess.min_count=1", "preprocess.validation_fraction=0")
    rejected = [member for member in planted if member.reason]
    assert read_json(layout.stats)["files"] == {str(archive): {"records": len(planted), "written": len(planted) - len(rejected),
                                                               "rejected": len(rejected)}}
    labelled = {member.name.split("aclImdb/", 1)[1][:-4] for member in planted if member.text is not None and "/unsup/" not in member.name}
    assert written_ids(layout) == labelled
    reasons = [row["reason"] for row in rejected_rows(layout)]
    assert sum(reason.startswith("repeated archive member") for reason in reasons) == sum(m.reason == "repeated archive member" for m in rejected)


def published(layout: PreprocessLayout) -> bytes:
    return Path(layout.manifest).read_bytes()


def test_a_damaged_compressed_file_fails_the_stage_and_leaves_the_last_output_published(make_config, tmp_path):
    rng = random.Random(2)
    corpus = jsonl_file(tmp_path / "reviews.jsonl", rng, 30, "r")
    extra = text_file(tmp_path / "extra.txt", rng, 30)
    common = ("data=jsonl", f"data.path={corpus.path}", "data.id_field=id", "preprocess.min_count=1")
    before = run(make_config, *common, f"data.unlabelled=[{compressed_copy(extra, '.gz', rng)}]")
    manifest = published(before)
    broken = compressed_copy(extra, ".gz", rng, "truncated")
    with pytest.raises(InputError, match=rf"^{broken}: truncated gzip stream .*: repair or remove the file"):
        run(make_config, *common, f"data.unlabelled=[{broken}]")
    assert published(before) == manifest and not list(Path(before.root).parent.glob(".preprocess.staging-*"))
    with locks.exclusive(str(Path(before.root)), wait=False):
        pass  # released


def test_a_field_the_config_names_that_no_record_holds_stops_the_job(make_config, tmp_path):
    """The leakage guard that did nothing as reported: id_field=ID where the files say id. CSV: before any work; JSONL: once
    the files are read, before anything is published."""
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("id,text,label\n" + "".join(f"t{i},good film {i},pos\n" for i in range(6)))
    test.write_text("id,text,label\nt1,good film 1,pos\n")
    with pytest.raises(InputError, match=r"train\.csv: data\.id_field='ID' names no column; columns: 'id', 'text', 'label'"):
        run(make_config, "data=csv", f"data.path={train}", f"data.splits.test={test}", "data.id_field=ID")
    lines = tmp_path / "reviews.jsonl"
    lines.write_text("".join(json.dumps({"id": f"j{i}", "text": f"good film {i}", "label": "pos"}) + "\n" for i in range(8)))
    with pytest.raises(Exception, match=r"reviews\.jsonl: data\.id_field='ID' is in none of its 8 JSON objects; fields found: 'id', 'label', 'text'"):
        run(make_config, "data=jsonl", f"data.path={lines}", "data.id_field=ID")
    assert not (tmp_path / "work" / "preprocess").exists()


def test_an_all_rejected_corpus_keeps_its_rejections_and_names_the_most_frequent_reasons(make_config, tmp_path):
    corpus = tmp_path / "reviews.csv"
    corpus.write_text("id,text,label\n" + "".join(f"r{i},some text {i},{'good' if i % 3 else 'bad'}\n" for i in range(30)) + "x,y\n")
    with pytest.raises(EmptyCorpusError, match=r"30 of 30 records rejected|31 of 31 records rejected") as raised:
        run(make_config, "data=csv", f"data.path={corpus}", "data.id_field=id")
    message = str(raised.value)
    kept = tmp_path / "work" / "preprocess-rejected" / "rejected-00000.jsonl"
    assert "20 x unknown label 'good' (not in data.label_map); 10 x unknown label 'bad'" in message and message.endswith(str(kept))
    assert len(kept.read_text().splitlines()) == 31 and (kept.parent / "stats.json").exists()
    assert not (tmp_path / "work" / "preprocess").exists()
    with pytest.raises(ConfigError, match=r"preprocess\.min_count=1000: no token occurs that often"):
        run(make_config, "data=csv", f"data.path={corpus}", "+data.label_map.good=1", "+data.label_map.bad=0", "preprocess.min_count=1000")
