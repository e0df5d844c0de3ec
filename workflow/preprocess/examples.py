"""``tf.train.Example`` encoding and TFRecord framing without importing TensorFlow.

Importing TensorFlow costs ~4 s and ~500 MB in every Beam worker; the Example
wire format is small and stable, so it is written here directly (tests parse
the bytes with ``tf.train.Example`` and ``tf.data.TFRecordDataset``).

Features of one example::

    doc_id  bytes   "train/pos/123_9"
    label   int64   0 | 1
    rating  int64   0 (unknown) .. 10
    tokens  int64[] token ids, unpadded, in document order
"""

from __future__ import annotations

import struct

import google_crc32c


def varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int below 2**64 (at most 10 bytes, as protobuf parsers accept)."""
    if value < 0:
        raise ValueError(f"varint of a negative value {value}")
    if value >= 1 << 64:
        raise ValueError(f"varint of a value past 64 bits {value}")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL_VARINTS = [varint(value) for value in range(1 << 14)]  # every length and id below 16,384: a list lookup


def _varint(value: int) -> bytes:
    return _SMALL_VARINTS[value] if 0 <= value < 16384 else varint(value)  # varint() refuses a negative one


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _SMALL_VARINTS[tag << 3 | 2] + _varint(len(payload)) + payload


def _int64_feature(packed_varints: bytes) -> bytes:
    # Feature.int64_list (3) -> Int64List.value (1, packed)
    return _field(3, _field(1, packed_varints))


def _bytes_feature(value: bytes) -> bytes:
    # Feature.bytes_list (1) -> BytesList.value (1)
    return _field(1, _field(1, value))


# Features.feature is a map<string, Feature>: repeated entries {1: key, 2: value}, here in key order.
_KEYS = {key: _field(1, key.encode()) for key in ("doc_id", "label", "rating", "tokens")}


def _entry(key: str, feature: bytes) -> bytes:
    return _field(1, _KEYS[key] + _field(2, feature))


def encode_example(doc_id: str, label: int, rating: int, token_varints: bytes) -> bytes:
    """Serialized ``tf.train.Example``; ``token_varints`` = concatenated varints of the ids."""
    return _field(1, b"".join((
        _entry("doc_id", _bytes_feature(doc_id.encode("utf-8"))),
        _entry("label", _int64_feature(_varint(label))),
        _entry("rating", _int64_feature(_varint(rating))),
        _entry("tokens", _int64_feature(token_varints)),
    )))


class VarintTable(dict):
    """token -> varint bytes of its id; a token outside the vocabulary gets ``<unk>``'s.

    Built once per worker, so encoding a document is ``b"".join(map(table.__getitem__, tokens))``:
    one C-level loop, with Python code only for out-of-vocabulary tokens.
    """

    def __init__(self, vocabulary_tokens: list[str], unknown_id: int):
        super().__init__((token, varint(token_id)) for token_id, token in enumerate(vocabulary_tokens))
        self._unknown = varint(unknown_id)

    def __missing__(self, token: str) -> bytes:
        return self._unknown

    def encode_ids(self, tokens: list[str]) -> bytes:
        return b"".join(map(self.__getitem__, tokens))


def _masked_crc32c(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_frame(record: bytes) -> bytes:
    """One TFRecord: length, masked CRC of the length, data, masked CRC of the data."""
    length = struct.pack("<Q", len(record))
    return length + struct.pack("<I", _masked_crc32c(length)) + record + struct.pack("<I", _masked_crc32c(record))
