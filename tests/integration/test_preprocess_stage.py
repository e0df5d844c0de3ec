"""The whole preprocessing stage on tiny corpora: contract, bad input, determinism."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from tests.conftest import TINY_REVIEWS, typed, write_aclimdb_archive, write_aclimdb_folder
from workflow.artifacts import read_json
from workflow.preprocess import stage
from workflow.preprocess.layout import PreprocessLayout
from workflow.preprocess.output import PreprocessOutput, read_vocab
from workflow.training.data import split_examples
from workflow.errors import InputError

EXACT = ("preprocess.validation_fraction=0", "preprocess.min_count=2")


def run(make_config, *overrides) -> PreprocessLayout:
    config = typed(make_config(*overrides))
    stage.run(config)
    return PreprocessLayout(os.path.join(config.workdir, "preprocess"))


def example_paths(layout: PreprocessLayout, split: str) -> list[str]:
    """Every examples file of ``split`` in the folder, whichever read tasks wrote them (the stage's readers use its manifest)."""
    return sorted(glob.glob(os.path.join(layout.root, "examples", f"{split}-*.tfrecord.gz")))


def examples(layout: PreprocessLayout, split: str) -> dict[str, dict]:
    """doc_id -> {tokens, label, rating}, parsed with TensorFlow."""
    parsed = {}
    for path in example_paths(layout, split):
        for record in tf.data.TFRecordDataset(path, compression_type="GZIP"):
            feature = tf.train.Example.FromString(record.numpy()).features.feature
            parsed[feature["doc_id"].bytes_list.value[0].decode()] = {
                "tokens": list(feature["tokens"].int64_list.value),
                "label": feature["label"].int64_list.value[0],
                "rating": feature["rating"].int64_list.value[0],
            }
    return parsed


def test_exact_vocabulary_and_encoded_examples(make_config, tiny_archive):
    layout = run(make_config, f"data.path={tiny_archive}", *EXACT)
    assert read_vocab(layout.vocab) == [
        ("<pad>", 0), ("<unk>", 6), ("a", 4), ("bad", 4), ("great", 4), ("film", 3), ("plot", 3),
        ("and", 2), ("cast", 2), ("fine", 2), ("the", 2),
    ]
    train = examples(layout, "train")
    assert sorted(train) == ["train/neg/2_1", "train/neg/3_2", "train/pos/0_9", "train/pos/1_8"]
    # "Great film, great cast.<br /><br />Great!" -> great film great cast great
    assert train["train/pos/0_9"] == {"tokens": [4, 5, 4, 8, 4], "label": 1, "rating": 9}
    assert examples(layout, "test")["test/neg/6_3"] == {"tokens": [1, 3, 3], "label": 0, "rating": 3}
    manifest = read_json(layout.manifest)
    assert manifest["counts"] == {"records_read": 7, "records_written": 7, "records_rejected": 0, "vocabulary_size": 11}


def test_test_text_never_reaches_vocabulary_or_corpus(make_config, tiny_archive):
    layout = run(make_config, f"data.path={tiny_archive}", "preprocess.min_count=1")
    vocabulary = {token for token, _ in read_vocab(layout.vocab)}
    corpus = " ".join(Path(path).read_text() for path in sorted(glob.glob(layout.corpus_glob))).split()
    assert "testonlyword" not in vocabulary and "testonlyword" not in corpus
    assert {"story", "acting", "the"} <= vocabulary  # rare training-side words are in with min_count=1
    assert all(example["tokens"][0] == 1 for example in examples(layout, "test").values())  # <unk>


def test_bad_records_are_rejected_counted_and_reported(make_config, tmp_path):
    reviews = {
        **TINY_REVIEWS,
        "aclImdb/train/pos/10_7.txt": b"\xff\xfe not utf-8",
        "aclImdb/train/neg/11_1.txt": b"   <br />  ",
        "aclImdb/train/neg/notanumber.txt": b"a bad file name",
        "aclImdb/test/pos/12_8.txt": b"",
    }
    archive = write_aclimdb_archive(tmp_path / "bad.tar.gz", reviews)
    layout = run(make_config, f"data.path={archive}", *EXACT)
    stats = read_json(layout.stats)
    for split, row in stats["splits"].items():
        assert row["records_read"] == row["records_written"] + row["records_rejected"], split
    assert (stats["splits"]["train"]["records_rejected"], stats["splits"]["test"]["records_rejected"]) == (3, 1)
    assert stats["totals"] == {"records_read": 11, "records_written": 7, "records_rejected": 4}
    rejected = [json.loads(line) for path in sorted(glob.glob(layout.rejected_glob)) for line in Path(path).read_text().splitlines()]
    reasons = {row["doc_id"]: row["reason"] for row in rejected}
    assert reasons["train/pos/10_7"].startswith("undecodable bytes")
    assert reasons["train/neg/11_1"].startswith("empty text")
    assert reasons["train/neg/notanumber"] == "file name is not <id>_<rating>.txt"
    assert reasons["test/pos/12_8"].startswith("empty text")
    assert all(row["source"].endswith(".txt") and str(archive) in row["source"] for row in rejected)


def test_in_memory_and_two_worker_processes_write_identical_bytes(make_config, tiny_archive, tmp_path):
    """Same config -> same bytes, whether in memory or over two worker processes."""
    first = run(make_config, f"data.path={tiny_archive}", f"workdir={tmp_path / 'a'}")
    second = run(
        make_config, f"data.path={tiny_archive}", f"workdir={tmp_path / 'b'}",
        "beam.running_mode=multi_processing", "beam.num_workers=2",
    )
    same_files(first.root, second.root)


def same_files(first: str, second: str) -> None:
    """The two stage folders hold the same files, byte for byte (the manifests, which name the runner, aside)."""
    names = lambda root: sorted(p.relative_to(root) for p in Path(root).rglob("*") if p.is_file() and p.name != "manifest.json")  # noqa: E731
    assert names(first) == names(second)
    for name in names(first):
        assert (Path(first) / name).read_bytes() == (Path(second) / name).read_bytes(), name


@pytest.mark.slow
def test_the_portable_runner_writes_the_bundled_sample_byte_for_byte(make_config, tmp_path):
    """Through Beam's Job API to its Python job service, DoFns in SDK worker processes of an EXTERNAL worker pool:
    vocab.tsv, stats.json, the TFRecord and corpus shards equal the in-process FnApiRunner's."""
    in_process = run(make_config, "data=sample", f"workdir={tmp_path / 'in-process'}")
    portable = run(make_config, "data=sample", f"workdir={tmp_path / 'portable'}", "beam=portable")
    same_files(in_process.root, portable.root)
    assert len(example_paths(portable, "train")) >= 1 and len(glob.glob(portable.corpus_glob)) >= 2
    assert read_json(portable.manifest)["runner"] == "PortableRunner"


def test_validation_split_is_stable_and_disjoint(make_config, tiny_archive):
    layout = run(make_config, f"data.path={tiny_archive}", "preprocess.validation_fraction=0.5")
    train, validation = set(examples(layout, "train")), set(examples(layout, "validation"))
    assert train and validation and not train & validation
    assert len(train | validation) == 4
    again = run(make_config, f"data.path={tiny_archive}", "preprocess.validation_fraction=0.5")
    assert set(examples(again, "validation")) == validation


@pytest.mark.parametrize("layout_kind", ["archive", "folder"])
def test_validation_holds_whole_films_named_by_the_url_files(make_config, tmp_path, layout_kind):
    """12 films x 5 reviews per label: with the url files no film straddles train and validation; without, some do."""
    reviews, film_of = {}, {}
    for label in ("pos", "neg"):
        urls = []
        for number in range(60):
            film = f"tt{1000 + number // 5 + (0 if label == 'pos' else 6)}"
            reviews[f"aclImdb/train/{label}/{number}_{8 if label == 'pos' else 2}.txt"] = f"review {number} of {film} is {label}".encode()
            film_of[f"train/{label}/{number}_{8 if label == 'pos' else 2}"] = film
            urls.append(f"http://www.imdb.com/title/{film}/usercomments")
        reviews[f"aclImdb/train/urls_{label}.txt"] = ("\n".join(urls) + "\n").encode()
    reviews["aclImdb/test/pos/0_9.txt"] = b"a test review"
    path = write_aclimdb_archive(tmp_path / "films.tar.gz", reviews) if layout_kind == "archive" else write_aclimdb_folder(tmp_path, reviews)

    def films_per_side(*overrides: str) -> tuple[set[str], set[str]]:
        layout = run(make_config, f"data.path={path}", "preprocess.validation_fraction=0.3", *overrides)
        return {film_of[doc] for doc in examples(layout, "train")}, {film_of[doc] for doc in examples(layout, "validation")}

    train, validation = films_per_side()
    assert train and validation and not train & validation, "every film on one side"
    assert len(train | validation) == 18
    assert read_json(PreprocessLayout(str(tmp_path / "work" / "preprocess")).manifest)["validation_split"] == {
        "grouped_by": "film", "films": 18, "reviews_with_film": 120}
    train, validation = films_per_side("preprocess.validation_by_film=false")
    assert train & validation, "carved by review, films straddle the two"
    if layout_kind == "folder":  # the url files are inputs: an edit to one changes the stage's key
        config = typed(make_config(f"data.path={path}", "preprocess.validation_fraction=0.3"))
        before = stage.key(config)
        (tmp_path / "aclImdb" / "train" / "urls_pos.txt").write_text("http://www.imdb.com/title/tt9999999/usercomments\n" * 60)
        assert stage.key(config)["inputs"] != before["inputs"]


def test_truncated_archive_fails_and_leaves_nothing_finished(make_config, tmp_path):
    reviews = {f"aclImdb/train/pos/{i}_9.txt": os.urandom(3000).hex().encode() for i in range(40)}
    whole = write_aclimdb_archive(tmp_path / "whole.tar.gz", reviews).read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    workdir = tmp_path / "work"
    with pytest.raises(Exception, match="truncated or corrupt archive"):
        run(make_config, f"data.path={truncated}", f"workdir={workdir}")
    assert not workdir.exists() or [p.name for p in workdir.iterdir()] == [".locks"]  # neither preprocess/ nor a staging folder


def test_missing_path_and_empty_corpus_are_clear_errors(make_config, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        run(make_config, f"data.path={tmp_path / 'nope.tar.gz'}")
    only_test = write_aclimdb_archive(tmp_path / "t.tar.gz", {"aclImdb/test/pos/1_9.txt": b"only test text"})
    with pytest.raises(Exception, match="empty corpus"):
        run(make_config, f"data.path={only_test}")
    assert not (tmp_path / "work" / "preprocess").exists()


def test_rerun_replaces_the_previous_output(make_config, tiny_archive):
    run(make_config, f"data.path={tiny_archive}", *EXACT)
    layout = run(make_config, f"data.path={tiny_archive}", "preprocess.validation_fraction=0", "preprocess.min_count=4")
    assert [token for token, _ in read_vocab(layout.vocab)] == ["<pad>", "<unk>", "a", "bad", "great"]
    # The pointer, the one version it points to (the first one removed, no staging left) and the lock folder.
    pointer = Path(layout.root)
    entries = sorted(p.name for p in pointer.parent.iterdir())
    assert len(entries) == 3 and entries[0] == ".locks" and entries[1].startswith(".preprocess.v-") and entries[2] == "preprocess", entries
    assert pointer.is_symlink() and os.readlink(pointer) == entries[1]


def test_a_huge_csv_review_is_kept_and_every_record_is_counted(make_config, tmp_path):
    huge = " ".join(["wonderful"] * 200_000)  # 2 MB in one field: far past the csv module's default limit
    corpus = tmp_path / "reviews.csv"
    corpus.write_text("id,text,label\n" + "".join(f"r{i},short review {i},pos\n" for i in range(5)) + f'big,"{huge}",neg\nr9,last one,neg\n')
    layout = run(make_config, "data=csv", f"data.path={corpus}", "data.id_field=id", "preprocess.test_fraction=0", *EXACT)
    totals = read_json(layout.stats)["totals"]
    assert totals["records_read"] == 7 == totals["records_written"] + totals["records_rejected"] and totals["records_rejected"] == 0
    written = {**examples(layout, "train")}
    assert len(written["big"]["tokens"]) == 200_000, "kept whole; the trainer truncates to model.max_len"
    truncated = [ids for ids, _ in split_examples([*PreprocessOutput(str(tmp_path / "work")).example_files("train")], 800)]
    assert max(len(ids) for ids in truncated) == 800


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_a_corpus_in_files_per_split_keeps_its_own_splits(make_config, tmp_path, file_format):
    """train, dev and test files: each record lands in its file's split, nothing is carved out of train."""
    def write(name: str, count: int) -> Path:
        rows = [{"id": f"{name}{i}", "text": f"{name} review {i} {'good' if i % 2 else 'bad'}", "label": "pos" if i % 2 else "neg"} for i in range(count)]
        path = tmp_path / f"{name}.{file_format}"
        if file_format == "csv":
            path.write_text("id,text,label\n" + "".join(f"{row['id']},{row['text']},{row['label']}\n" for row in rows))
        else:
            path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return path

    train, dev, test = write("train", 20), write("dev", 6), write("test", 8)
    layout = run(make_config, f"data={file_format}", f"data.path={train}", f"data.splits.validation={dev}", f"data.splits.test={test}",
                 "data.id_field=id", "preprocess.min_count=1")
    assert sorted(examples(layout, "train")) == sorted(f"train{i}" for i in range(20))
    assert sorted(examples(layout, "validation")) == sorted(f"dev{i}" for i in range(6))
    assert sorted(examples(layout, "test")) == sorted(f"test{i}" for i in range(8))
    vocabulary = {token for token, _ in read_vocab(layout.vocab)}
    assert "train" in vocabulary and not {"dev", "test"} & vocabulary, "validation and test text never reach the vocabulary"
    with pytest.raises(Exception, match=r"data\.splits\.train"):
        run(make_config, f"data={file_format}", f"data.path={train}", f"data.splits.train={dev}")


def test_a_jsonl_file_read_in_blocks_by_two_workers_keeps_every_document_and_line_number(make_config, tmp_path):
    """One file in 200-byte blocks, each block a task with files of its own, read by two worker processes: the same
    vocabulary, stats and documents as one block, bad lines rejected under their line numbers, and an unlabelled
    text file read the same way."""
    lines = [json.dumps({"text": f"review {i} {'good' if i % 2 else 'bad'} " + "word " * (i % 7), "label": "pos" if i % 2 else "neg"})
             for i in range(60)]
    lines[10], lines[20] = "{not json", "[1, 2]"
    corpus = tmp_path / "reviews.jsonl"
    corpus.write_text("\n".join(lines[:30]) + "\n\n" + "\n".join(lines[30:]))  # a blank line, no final newline
    extra = tmp_path / "unlabelled.txt"
    extra.write_text("".join(f"an unlabelled line {i}\n" for i in range(40)))
    common = ("data=jsonl", f"data.path={corpus}", f"data.unlabelled=[{extra}]", "preprocess.min_count=1")
    whole = run(make_config, *common, f"workdir={tmp_path / 'whole'}")
    blocks = run(make_config, *common, f"workdir={tmp_path / 'blocks'}", "preprocess.read_block_mb=0.0002",
                 "beam.running_mode=multi_processing", "beam.num_workers=2")
    for name in ("vocab.tsv", "stats.json"):
        assert Path(whole.root, name).read_bytes() == Path(blocks.root, name).read_bytes(), name
    assert len(glob.glob(blocks.corpus_glob)) > 10 > len(glob.glob(whole.corpus_glob))
    corpus_lines = lambda layout: sorted(line for path in sorted(glob.glob(layout.corpus_glob)) for line in Path(path).read_text().splitlines())  # noqa: E731
    assert corpus_lines(blocks) == corpus_lines(whole)
    for split in ("train", "validation", "test"):
        assert examples(blocks, split) == examples(whole, split)
    rejected = [json.loads(line) for path in sorted(glob.glob(blocks.rejected_glob)) for line in Path(path).read_text().splitlines()]
    assert sorted(row["doc_id"] for row in rejected) == ["reviews.jsonl:11", "reviews.jsonl:21"]
    stats = read_json(blocks.stats)["totals"]
    assert stats["records_read"] == 60 + 40 and stats["records_rejected"] == 2
    assert not Path(blocks.spill_dir).exists(), "the spill files are gone before the manifest lists the folder"


def test_input_fingerprint_sees_an_edit_that_keeps_size_and_mtime(make_config, tmp_path):
    root = write_aclimdb_folder(tmp_path / "corpus", TINY_REVIEWS)
    config = typed(make_config(f"data.path={root}"))
    review = root / "test" / "pos" / "5_10.txt"
    before, stat = stage.key(config), review.stat()
    review.write_bytes(b"Testonlyword bad   great")  # same length as before, other words
    os.utime(review, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert review.stat().st_size == stat.st_size and review.stat().st_mtime_ns == stat.st_mtime_ns
    after = stage.key(config)
    assert after["inputs"]["sha256"] != before["inputs"]["sha256"]
    assert after["config"] == before["config"] and after["inputs"]["bytes"] == before["inputs"]["bytes"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workflow.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_runs_and_reports_user_errors_in_one_line(tmp_path, tiny_archive):
    # Two SDK worker processes: their INFO lines go to the job's log file, not to the terminal.
    ok = cli(f"data.path={tiny_archive}", f"workdir={tmp_path / 'w'}", "beam.running_mode=multi_processing", "beam.num_workers=2", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert (tmp_path / "w" / "preprocess" / "manifest.json").exists()
    assert "read 7 = written 7 + rejected 0" in ok.stdout, "the progress output stays on the terminal"
    assert "sdk_worker" not in ok.stdout + ok.stderr
    (log_file,) = (tmp_path / "w" / "logs").glob("*/*/*.log")
    assert "apache_beam.runners.worker.sdk_worker" in log_file.read_text()

    whitespace = cli(r"preprocess.tokenizer.pattern='[a-z ]+'", f"workdir={tmp_path / 'z'}", cwd=tmp_path)
    assert whitespace.returncode == 2 and whitespace.stderr.strip().splitlines() == [
        "error: preprocess.tokenizer.pattern '[a-z ]+' can match whitespace; tokens are joined and split on whitespace"]
    lookahead = cli(r"preprocess.tokenizer.pattern='\w+(?=!)'", f"workdir={tmp_path / 'z'}", cwd=tmp_path)
    assert lookahead.returncode == 2 and "error: preprocess.tokenizer.pattern" in lookahead.stderr and "not valid RE2" in lookahead.stderr

    bad_value = cli("preprocess.validation_fraction=2", f"workdir={tmp_path / 'x'}", cwd=tmp_path)
    assert bad_value.returncode == 2
    assert "error: preprocess.validation_fraction=2.0: must be in [0, 1)" in bad_value.stderr

    missing = cli(f"data.path={tmp_path / 'missing'}", f"workdir={tmp_path / 'y'}", cwd=tmp_path)
    assert missing.returncode == 2 and "error: data.path=" in missing.stderr and "missing" in missing.stderr

    typo = cli("preprocess.min_cuont=1", cwd=tmp_path)
    assert typo.returncode != 0 and "min_cuont" in typo.stderr
    assert not (tmp_path / "x" / "preprocess").exists() and not (tmp_path / "y" / "preprocess").exists()
