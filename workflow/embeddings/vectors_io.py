"""Vectors trained elsewhere: word2vec text (fastText ``.vec`` too), word2vec binary and GloVe text.

The file is streamed once and only the vectors of ``keep`` (the workdir's
vocabulary) are held, as float32: an 840B-token GloVe file (2.2 M words x
300, 5.6 GB of text) costs the memory of the vocabulary's rows, not of the
file. ``.gz`` files are read compressed; ``auto`` tells the three formats apart
by the name (``.bin``) and the first line. Only these plain formats are read:
a pickled gensim model runs code when it is loaded, so models from outside
the workdir are never unpickled.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

import numpy as np
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from gensim.models.keyedvectors import KeyedVectors

from workflow.config import VectorsFormat
from workflow.errors import VectorsError


def _is_header(line: bytes) -> bool:
    fields = line.split()
    return len(fields) == 2 and all(field.isdigit() for field in fields)


def _header(handle: BinaryIO) -> tuple[int, int]:
    """(count, dim) of word2vec's "count dim" header line."""
    line = handle.readline()
    if not _is_header(line):
        raise ValueError("no 'count dim' header line")
    count, dim = line.split()
    return int(count), int(dim)


def resolve_format(path: str, vectors_format: VectorsFormat) -> VectorsFormat:
    """``vectors_format``, or for ``auto``: word2vec binary for ``.bin`` (``.bin.gz``), word2vec text when the
    first line is a "count dim" header (fastText ``.vec`` too), GloVe otherwise."""
    if vectors_format is not VectorsFormat.auto:
        return vectors_format
    if path.removesuffix(".gz").endswith(".bin"):
        return VectorsFormat.word2vec_binary
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.AUTO) as handle:
            first_line = handle.readline()
    except OSError as error:
        raise VectorsError(f"embedding.vectors={path!r}: cannot be read ({error})") from None
    return VectorsFormat.word2vec_text if _is_header(first_line) else VectorsFormat.glove


def _text_rows(handle: BinaryIO, first_line: int) -> Iterator[tuple[int, str, str]]:
    """(line number, word, the rest of the line) for each vector line."""
    for number, raw in enumerate(iter(handle.readline, b""), start=first_line):
        word, _, values = raw.decode("utf-8", errors="replace").rstrip("\r\n ").partition(" ")
        if word:
            yield number, word, values


def _binary_rows(handle: BinaryIO) -> Iterator[tuple[int, str, bytes]]:
    """(entry number, word, its float32 bytes) of word2vec's binary format: a "count dim" header, then word, space, dim floats."""
    count, dim = _header(handle)
    for number in range(1, count + 1):
        word = bytearray()
        while (char := handle.read(1)) != b" ":
            if not char:
                raise EOFError(f"entry {number} of {count}: the file ends early")
            if char != b"\n":
                word += char
        values = handle.read(4 * dim)
        if len(values) != 4 * dim:
            raise EOFError(f"entry {number} of {count}: the file ends early")
        yield number, word.decode("utf-8", errors="replace"), values


def load_vectors(path: str, vectors_format: VectorsFormat, keep: set[str] | None = None) -> KeyedVectors:
    """The vectors of the words in ``keep`` (every word when None), float32; VectorsError naming the file and line on bad input."""
    vectors_format = resolve_format(path, vectors_format)
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = None
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.AUTO) as handle:
            if vectors_format is VectorsFormat.word2vec_binary:
                entries = ((number, word, np.frombuffer(values, dtype="<f4")) for number, word, values in _binary_rows(handle))
            elif vectors_format is VectorsFormat.word2vec_text:
                _, dim = _header(handle)
                entries = _text_rows(handle, first_line=2)
            else:
                entries = _text_rows(handle, first_line=1)
            for number, word, values in entries:
                if (keep is not None and word not in keep) or word in seen:
                    continue
                vector = np.asarray(values.split(" ") if isinstance(values, str) else values, dtype=np.float32)
                if dim is None:
                    dim = len(vector)
                if len(vector) != dim or dim == 0:
                    raise ValueError(f"line {number} ({word!r}) has {len(vector)} values, expected {dim}")
                seen.add(word)
                words.append(word)
                rows.append(vector)
    except OSError as error:
        if not FileSystems.exists(path):
            raise VectorsError(f"embedding.vectors={path!r}: no such file") from None
        raise VectorsError(f"embedding.vectors={path!r}: cannot be read ({error})") from None
    except (ValueError, EOFError) as error:
        raise VectorsError(f"embedding.vectors={path!r} is not valid {vectors_format.value} ({error})") from None
    if not words:
        raise VectorsError(f"embedding.vectors={path!r}: no vector for any vocabulary word (is embedding.vectors_format={vectors_format.value} right?)")
    vectors = KeyedVectors(vector_size=dim, dtype=np.float32)
    vectors.add_vectors(words, np.stack(rows))
    return vectors


def save_vectors(vectors: KeyedVectors, path: str) -> None:
    """word2vec binary: portable, no pickle, readable by load_vectors."""
    vectors.save_word2vec_format(path, binary=True)
