"""The fields the config names are checked against the files before any work: a name that matches nothing stops the job.

Before: a header ``id,text,text,label`` used its last ``text`` column
silently, and a ``data.id_field`` that named no column left every record
with the default id, so three planted duplicates reached test past the
leakage guard.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from workflow.config import CorpusFormat, DataConfig, SourceSplit, SplitPaths
from workflow.errors import InputError
from workflow.preprocess.columns import check_json_fields
from workflow.preprocess.readers import check_csv_headers, corpus_tasks, read_task
from workflow.preprocess.settings import CorpusSettings


def settings(path: Path, file_format: CorpusFormat = CorpusFormat.csv, **fields) -> CorpusSettings:
    return CorpusSettings.of(DataConfig(name="columns", format=file_format, path=str(path), **fields))


def read_all(data: CorpusSettings) -> list:
    return [record for task in corpus_tasks(data, 1, 1 << 20) for record in read_task(task if task[0] != "lines" else (*task[:3], (task[3], 0)), data)]


def test_a_repeated_column_stops_the_job_before_any_work_naming_the_columns(tmp_path: Path):
    path = tmp_path / "reviews.csv"
    path.write_text("id,text,text,label\n1,first,second,pos\n")
    with pytest.raises(InputError, match=r"reviews\.csv: the header repeats the column\(s\) 'text'.*columns: 'id', 'text', 'text', 'label'$"):
        check_csv_headers(settings(path))
    with pytest.raises(InputError, match="repeats the column"):  # and the worker's reader, should the file change in between
        read_all(settings(path))


@pytest.mark.parametrize("field, key", [("id_field", "data.id_field"), ("label_field", "data.label_field"),
                                        ("rating_field", "data.rating_field"), ("text_field", "data.text_field")])
def test_a_configured_field_that_names_no_column_stops_the_job_naming_key_and_columns(tmp_path: Path, field, key):
    path = tmp_path / "reviews.csv.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbfid,text,label,stars\n1,good film,pos,9\n"))
    check_csv_headers(settings(path, id_field="id", rating_field="stars"))  # a BOM and gzip: the header is read as the reader reads it
    with pytest.raises(InputError, match=rf"reviews\.csv\.gz: {key}='ID' names no column; columns: 'id', 'text', 'label', 'stars'$"):
        check_csv_headers(settings(path, **{field: "ID"}))


def test_an_unlabelled_split_needs_no_label_column_and_every_split_file_is_checked(tmp_path: Path):
    unlabelled, train, test = tmp_path / "unsup.csv", tmp_path / "train.csv", tmp_path / "test.csv"
    unlabelled.write_text("id,text\n1,a text\n")
    train.write_text("id,text,label\n1,a text,pos\n")
    test.write_text("id,review,label\n1,a text,pos\n")
    check_csv_headers(settings(unlabelled, split=SourceSplit.unsup, id_field="id"))
    with pytest.raises(InputError, match=r"test\.csv: data\.text_field='text' names no column; columns: 'id', 'review', 'label'"):
        check_csv_headers(CorpusSettings.of(DataConfig(name="c", format=CorpusFormat.csv, path=str(train), splits=SplitPaths(test=str(test)))))


def test_a_json_field_missing_from_every_object_of_a_file_is_named_with_the_fields_found():
    data = CorpusSettings(format="jsonl", path="x", id_field="ID", rating_field="stars")
    check_json_fields("a.jsonl", "train", 3, {"ID": 3, "text": 3, "label": 2, "stars": 1}, data)  # present in some: fine
    check_json_fields("b.jsonl", "train", 0, {}, data)  # no object read: each line is rejected with its own reason
    with pytest.raises(InputError, match=r"^c\.jsonl: data\.id_field='ID' is in none of its 40 JSON objects; fields found: 'id', 'label', 'stars', 'text'$"):
        check_json_fields("c.jsonl", "train", 40, {"id": 40, "text": 40, "label": 40, "stars": 3}, data)
    check_json_fields("d.jsonl", "unsup", 5, {"ID": 5, "text": 5, "stars": 5}, data)  # unlabelled: no label field needed
