"""The n-gram-annotated corpus: each review's tokens interleaved with its hashed n-grams, for gensim's ``corpus_file`` mode.

A line of the preprocessing corpus, ``the film was not good``, becomes (bigrams and trigrams on)::

    12 b4417 40 c98021 b77 18 c5530 b9102 29 c3313 b610 51

Token keys are vocabulary ids (a word outside the vocabulary is ``1``, ``<unk>``,
as the classifier sees it); an n-gram's key names the bucket the classifier's
``HashedBigrams`` / ``HashedTrigrams`` (training/encoders.py) hash that run of
ids into: ``b<bucket>`` for bigrams, ``c<bucket>`` for trigrams. Colliding
n-grams share a key, as they share a row in the model. Each bigram sits
between its two tokens and each trigram right after its middle token, so an
n-gram's neighbours in the file are its own tokens' neighbours.

All keys live in one index space (:class:`KeySpace`): token ids first, then
each order's buckets. The rewrite is numpy over a block of text at a time (where
tokens and lines start, the hashes, the interleaving, the text written); Python
only splits the block and looks each token up in the vocabulary.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

import numpy as np

from workflow.preprocess.layout import UNK_ID

# The hash of training/encoders.py HashedNgrams (tests/unit/test_ngram_corpus.py holds the two to the same buckets).
PRIME = 2_147_483_647
FOLD, NEXT = 2_654_435_761, 1_000_003
KEY_PREFIXES = {2: b"b", 3: b"c"}
IS_WHITESPACE = np.isin(np.arange(256), np.frombuffer(b" \t\n\r\x0b\x0c", dtype=np.uint8))  # by byte: what bytes.split() splits on
NEWLINE = ord("\n")
BLOCK_BYTES = 8 << 20  # text rewritten per numpy pass: about 1.5 M tokens, a few hundred MB at most while it is rewritten


def ngram_buckets(ids: np.ndarray, order: int, buckets: int) -> np.ndarray:
    """``[n]`` int64 token ids -> ``[n - order + 1]`` buckets in ``[1, buckets]``: the row ``HashedNgrams`` gives each run
    of ``order`` neighbouring ids (whichever lines they come from: the caller keeps the runs inside one)."""
    width = len(ids) - order + 1
    hashed = ids[:width].astype(np.int64)
    for offset in range(1, order):
        hashed = (hashed * FOLD + ids[offset:offset + width] * NEXT) % PRIME
    return hashed % buckets + 1


@dataclass(frozen=True)
class KeySpace:
    """Every key of the annotated corpus as one index: token ids ``[0, vocabulary)``, then each order's rows ``[0, buckets]``
    (row 0, padding, never occurs)."""

    vocabulary: int
    buckets: dict[int, int]  # order -> buckets, for the orders with rows (model.bigram_buckets, model.trigram_buckets > 0)

    def offset(self, order: int) -> int:
        """Index of ``order``'s row 0."""
        return self.vocabulary + sum(self.buckets[lower] + 1 for lower in self.buckets if lower < order)

    @property
    def size(self) -> int:
        return self.vocabulary + sum(buckets + 1 for buckets in self.buckets.values())

    def names(self) -> np.ndarray:
        """Each index's key as it is written (``b"12"``, ``b"b4417"``), a bytes array as wide as the longest."""
        parts = [np.arange(self.vocabulary).astype("S")]
        for order in sorted(self.buckets):
            parts.append(np.char.add(KEY_PREFIXES[order], np.arange(self.buckets[order] + 1).astype("S")))
        names = np.concatenate(parts)
        return names.astype(f"S{int(np.char.str_len(names).max())}")

    @property
    def items_per_token(self) -> int:
        """Keys the annotated corpus holds per token of text (about: a line's edges have fewer n-grams)."""
        return 1 + len(self.buckets)


def annotate(text: bytes, token_ids: dict[bytes, int], keys: KeySpace) -> tuple[np.ndarray, np.ndarray]:
    """``text`` (whole lines, tokens between ASCII whitespace, as ``bytes.split`` reads them) annotated: (the key index of
    every item, line after line; the items of each line)."""
    characters = np.frombuffer(text, dtype=np.uint8)
    space = IS_WHITESPACE[characters]
    token_starts = np.flatnonzero(~space & np.concatenate(([True], space[:-1])))
    newlines = np.flatnonzero(characters == NEWLINE)
    line_of = np.searchsorted(newlines, token_starts)  # the newlines before a token: its line
    lines = len(newlines) + (not text.endswith(b"\n"))
    ids = np.fromiter(map(token_ids.get, text.split(), itertools.repeat(UNK_ID)), dtype=np.int64, count=len(token_starts))
    lengths = np.bincount(line_of, minlength=lines)
    position = np.arange(len(ids)) - (np.cumsum(lengths) - lengths)[line_of]
    after = lengths[line_of] - position - 1  # tokens after this one on its line
    # Per token: [the token, the trigram centred on it, the bigram it starts]; -1 where its line has none.
    slots = np.full((len(ids), 3), -1, dtype=np.int64)
    slots[:, 0] = ids
    if 3 in keys.buckets:
        centres = np.flatnonzero((position >= 1) & (after >= 1))
        slots[centres, 1] = keys.offset(3) + ngram_buckets(ids, 3, keys.buckets[3])[centres - 1]
    if 2 in keys.buckets:
        starts = np.flatnonzero(after >= 1)
        slots[starts, 2] = keys.offset(2) + ngram_buckets(ids, 2, keys.buckets[2])[starts]
    present = slots >= 0
    items_per_line = np.bincount(line_of, weights=present.sum(axis=1), minlength=lines).astype(np.int64)
    return slots[present], items_per_line


def _blocks(paths: list[str]) -> Iterator[bytes]:
    """The text of every file in order, about ``BLOCK_BYTES`` at a time, each block whole lines."""
    for path in paths:
        with open(path, "rb") as handle:
            carry = b""
            while block := handle.read(BLOCK_BYTES):
                whole, newline, carry = (carry + block).rpartition(b"\n")
                if newline:
                    yield whole + newline
                else:
                    carry = whole + carry  # no line ends in this block yet
            if carry:
                yield carry


class AnnotatedCorpus:
    """Writes the annotated corpus and counts every key in it (``counts``, by key index), as :meth:`write` goes."""

    def __init__(self, vocabulary: list[tuple[str, int]], keys: KeySpace):
        self.keys = keys
        self.token_ids = {token.encode("utf-8"): token_id for token_id, (token, _) in enumerate(vocabulary)}
        self.counts = np.zeros(keys.size, dtype=np.int64)
        names = keys.names()
        self._name_lengths = np.char.str_len(names)
        self._padded_names = names.astype(f"S{names.dtype.itemsize + 1}")  # room for a separator after the longest

    @property
    def items(self) -> int:
        """Keys written so far (the corpus's words, as gensim counts them: ``<unk>`` included)."""
        return int(self.counts.sum())

    def write(self, sources: list[str], target: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> None:
        """Annotate every line of ``sources`` (in order) into ``target``; ``on_bytes(n)`` after each block of n bytes read."""
        for text in _blocks(sources):
            self.write_text(text, target)
            if on_bytes is not None:
                on_bytes(len(text))

    def write_text(self, text: bytes, target: BinaryIO) -> None:
        """Annotate ``text`` (whole lines) into ``target``, a line for each (none for a line without tokens)."""
        indices, items_per_line = annotate(text, self.token_ids, self.keys)
        self.counts += np.bincount(indices, minlength=self.keys.size)
        target.write(self._text(indices, np.cumsum(items_per_line)[items_per_line > 0] - 1))

    def _text(self, indices: np.ndarray, line_ends: np.ndarray) -> bytes:
        """The keys ``indices`` name, each followed by a space, or by a newline at ``line_ends`` (item positions), as one
        bytes string: the names, zero-padded to one width with room for a separator, the separators written in, the
        padding dropped."""
        characters = self._padded_names[indices].view(np.uint8)
        separators = np.full(len(indices), ord(" "), dtype=np.uint8)
        separators[line_ends] = NEWLINE
        characters[np.arange(len(indices)) * self._padded_names.dtype.itemsize + self._name_lengths[indices]] = separators
        return characters.tobytes().translate(None, b"\0")
