"""The hand-written Example/TFRecord encoding, checked with TensorFlow's own parsers."""

import gzip

import tensorflow as tf

from workflow.preprocess.examples import VarintTable, encode_example, tfrecord_frame, varint


def test_example_bytes_parse_as_tf_train_example():
    table = VarintTable(["<pad>", "<unk>", "film", "good"], unknown_id=1)
    ids = table.encode_ids(["good", "film", "never-seen", "good"])
    example = tf.train.Example.FromString(encode_example("train/pos/7_9", 1, 9, ids))
    feature = example.features.feature
    assert list(feature["tokens"].int64_list.value) == [3, 2, 1, 3]
    assert feature["label"].int64_list.value == [1]
    assert feature["rating"].int64_list.value == [9]
    assert feature["doc_id"].bytes_list.value == [b"train/pos/7_9"]


def test_large_ids_and_varint_edges():
    ids = [0, 127, 128, 300, 16384, 2**31]
    example = tf.train.Example.FromString(encode_example("d", 0, 0, b"".join(map(varint, ids))))
    assert list(example.features.feature["tokens"].int64_list.value) == ids


def test_gzip_tfrecord_framing_reads_back_with_tf_data(tmp_path):
    records = [encode_example(f"doc{i}", i % 2, i, varint(i)) for i in range(5)]
    path = tmp_path / "x.tfrecord.gz"
    with gzip.open(path, "wb") as handle:
        for record in records:
            handle.write(tfrecord_frame(record))
    read = [bytes(r.numpy()) for r in tf.data.TFRecordDataset(str(path), compression_type="GZIP")]
    assert read == records
