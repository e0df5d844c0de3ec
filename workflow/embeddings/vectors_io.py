"""Vectors trained elsewhere: word2vec text, word2vec binary and GloVe text.

Only these plain formats are read: a pickled gensim model runs code when it
is loaded, so models from outside the workdir are never unpickled.
"""

from __future__ import annotations

from gensim.models.keyedvectors import KeyedVectors

from workflow.config import VectorsFormat
from workflow.errors import VectorsError


def load_vectors(path: str, vectors_format: VectorsFormat) -> KeyedVectors:
    try:
        return KeyedVectors.load_word2vec_format(
            path,
            binary=vectors_format is VectorsFormat.word2vec_binary,
            no_header=vectors_format is VectorsFormat.glove,
            unicode_errors="replace",
        )
    except FileNotFoundError:
        raise VectorsError(f"embedding.vectors={path!r}: no such file") from None
    except (ValueError, EOFError, UnicodeDecodeError) as error:
        raise VectorsError(f"embedding.vectors={path!r} is not valid {vectors_format.value} ({error})") from None


def save_vectors(vectors: KeyedVectors, path: str) -> None:
    """word2vec binary: portable, no pickle, readable by load_vectors."""
    vectors.save_word2vec_format(path, binary=True)
