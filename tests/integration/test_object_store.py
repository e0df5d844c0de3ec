"""wf-preprocess into a bucket of a real S3-compatible server (moto's, on 127.0.0.1), through Beam's own S3 filesystem.

A store has no folders and no rename: publishing must leave exactly the files
the new manifest lists, whatever an older run or an interrupted one left.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from apache_beam.io.filesystems import FileSystems

boto3 = pytest.importorskip("boto3", reason="the [aws] extra (apache-beam[aws]) is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] (in the [test] extra) is not installed")

from tests.conftest import typed  # noqa: E402
from workflow.artifacts import MANIFEST, read_json  # noqa: E402
from workflow.preprocess import stage  # noqa: E402
from workflow.preprocess.output import PreprocessOutput  # noqa: E402

BUCKET = "corpus-bucket"


@pytest.fixture
def s3(monkeypatch):
    """An S3 server on 127.0.0.1 with one bucket; boto3 (so Beam's S3 filesystem, in every process) pointed at it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


def keys(client, prefix: str) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"][len(prefix):] for page in pages for item in page.get("Contents", [])}


def test_a_second_run_into_the_bucket_leaves_exactly_what_its_manifest_lists(s3, make_config, tiny_archive):
    workdir = f"s3://{BUCKET}/runs/tiny"
    stage.run(typed(make_config(f"data.path={tiny_archive}", f"workdir={workdir}", "preprocess.read_parallelism=3")))
    first = keys(s3, "runs/tiny/preprocess/")
    assert {"examples/test-00000.tfrecord.gz", "examples/test-00001.tfrecord.gz", "corpus/unsup-00000.txt"} <= first
    assert not any(name.startswith("spill/") for name in first)
    s3.put_object(Bucket=BUCKET, Key="runs/tiny/.preprocess.staging-0123456789ab/examples/train-00000.tfrecord.gz", Body=b"interrupted")

    stage.run(typed(make_config(f"data.path={tiny_archive}", f"workdir={workdir}", "preprocess.read_parallelism=1")))
    manifest = read_json(f"{workdir}/preprocess/{MANIFEST}")
    assert keys(s3, "runs/tiny/preprocess/") == set(manifest["outputs"]["files"]) | {MANIFEST}
    assert keys(s3, "runs/tiny/") == {f"preprocess/{name}" for name in keys(s3, "runs/tiny/preprocess/")}, "no staging left, stale or new"
    output = PreprocessOutput(workdir)
    assert output.example_files("train") == [f"{workdir}/preprocess/examples/train-00000.tfrecord.gz"]
    assert len(output.vocabulary()) == manifest["counts"]["vocabulary_size"], "read back from the store, digest checked"


def test_the_stages_after_preprocessing_say_at_once_that_they_need_a_local_workdir(tmp_path):
    process = subprocess.run([sys.executable, "-c", "from workflow.cli import run_all; run_all()", f"workdir=s3://{BUCKET}/runs/tiny"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert process.returncode == 2 and process.stderr.startswith("error: workdir='s3://corpus-bucket/runs/tiny': wf-run needs a local workdir")
    assert len(process.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s3:").exists() and (tmp_path / "outputs" / "s3" / BUCKET / "runs" / "tiny" / "logs").is_dir()


def test_inputs_on_the_store_are_fingerprinted_from_its_checksums_without_reading_a_byte(s3, make_config, monkeypatch):
    s3.put_object(Bucket=BUCKET, Key="corpus/train.csv", Body=b"text,label\ngood film,pos\nbad film,neg\n")
    s3.put_object(Bucket=BUCKET, Key="corpus/test.csv", Body=b"text,label\nfine film,pos\n")
    overrides = ("data=csv", f"data.path=s3://{BUCKET}/corpus/train.csv", f"data.splits.test=s3://{BUCKET}/corpus/test.csv")
    config = typed(make_config(*overrides))

    def no_download(*args, **kwargs):
        raise AssertionError(f"an input was opened to be hashed: {args}")

    with monkeypatch.context() as patched:
        patched.setattr(FileSystems, "open", no_download)
        first = stage.key(config)["inputs"]
        assert stage.key(config)["inputs"] == first, "the same objects, the same fingerprint"
    assert first["files"] == 2 and first["bytes"] == 37 + 26
    s3.put_object(Bucket=BUCKET, Key="corpus/test.csv", Body=b"text,label\nfine film,neg\n")  # same size, another label
    assert stage.key(config)["inputs"]["sha256"] != first["sha256"], "an edit of the same size changes the store's checksum"
