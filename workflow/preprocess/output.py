"""The one way later stages open ``<workdir>/preprocess``: ``PreprocessOutput(workdir)``.

Modelled on tf.Transform's ``TFTransformOutput``: the trainer, the word2vec
stage and the report ask this reader for the vocabulary, the tokenizer, the
example files and their digests, and never build paths themselves. Every file
it hands out is one the manifest lists, so leftovers of another run in the
folder are never read.

It resolves ``<workdir>/preprocess`` (a pointer to the published version,
workflow/artifacts.py) once, so that all it hands out comes from one
version, even when a new one is published meanwhile; a reader that must keep
that version on disk for its whole life opens it with :func:`pinned`.
"""

from __future__ import annotations

import contextlib
from functools import cached_property
from typing import Iterable, Iterator

from workflow.artifacts import current_version, file_sha256, join, pinned_version, read_json, read_text, require_manifest, stage_dir
from workflow.errors import ContractError
from workflow.preprocess.films_tsv import read_films, review_key
from workflow.preprocess.layout import SPLITS, PreprocessLayout
from workflow.text import Tokenizer, line_break_in

STAGE = "preprocess"
# What the stage writes, as a version in its key: bump it with any change to the files it writes or their meaning,
# so that no output of an older format is re-used (or read: the reader refuses one). 2: published as versions.
# 3: films.tsv, the film of each labelled aclImdb review. 4: a repeated archive member keeps its last copy, a quoted
# CSV field past the line bound is one rejected record, entries a pattern matches that are no readable file are
# rejected records, tokens never hold a line break, stats.json lists the most frequent rejection reasons.
FORMAT_VERSION = 4


def folder(workdir: str) -> str:
    """``<workdir>/preprocess``: the pointer readers open and the folder the stage publishes (and locks)."""
    return stage_dir(workdir, STAGE)


class PreprocessOutput:
    """A finished preprocessing stage (ContractError, naming the command to run, when there is none).

    ``version``: a version folder the caller resolved (and pinned); by default the current one.
    """

    def __init__(self, workdir: str, version: str | None = None):
        self.layout = PreprocessLayout(version or current_version(folder(workdir)))

    @cached_property
    def manifest(self) -> dict:
        return require_manifest(self.layout.root, "wf-preprocess", "preprocessing", FORMAT_VERSION)

    @property
    def vocab_sha256(self) -> str:
        return self.manifest["outputs"]["files"]["vocab.tsv"]["sha256"]

    def vocabulary(self) -> list[tuple[str, int]]:
        """``[(token, count), ...]``, list index = id; checked against the manifest's digest."""
        expected = self.vocab_sha256  # first: no finished stage is a ContractError naming the command to run
        digest = file_sha256(self.layout.vocab)
        if digest != expected:
            raise ContractError(f"{self.layout.vocab} changed after its manifest was written "
                                f"(sha256 {digest[:12]} != {expected[:12]}): re-run wf-preprocess")
        return read_vocab(self.layout.vocab)

    def tokenizer(self) -> Tokenizer:
        """The tokenizer the Beam job used (the exported model must reproduce it)."""
        return Tokenizer(**self.manifest["tokenizer"])

    def stats(self) -> dict:
        return read_json(self.layout.stats)

    def split_sizes(self) -> dict[str, int]:
        """Examples written per labelled split, e.g. ``{"train": 22500, "validation": 2500, "test": 25000}``."""
        splits = self.stats()["splits"]
        return {split: splits.get(split, {}).get("records_written", 0) for split in SPLITS}

    def _listed(self, prefix: str) -> list[str]:
        return [join(self.layout.root, name) for name in sorted(self.manifest["outputs"]["files"]) if name.startswith(prefix)]

    def example_files(self, split: str) -> list[str]:
        """The TFRecord shards of one split, as the manifest lists them."""
        return self._listed(f"examples/{split}-")

    def corpus_files(self, split: str | None = None) -> list[str]:
        """The training-side corpus shards (one document a line, tokens by spaces): every split's, or ``split``'s."""
        return self._listed(f"corpus/{split}-" if split else "corpus/")

    @cached_property
    def _films(self) -> dict[str, str]:
        listed = "films.tsv" in self.manifest["outputs"]["files"]
        return read_films(self.layout.films) if listed else {}

    def films(self, doc_ids: Iterable[str]) -> list[str]:
        """The film of each labelled review (its doc id), ``""`` where the corpus names none (not aclImdb, no url files)."""
        return [self._films.get(review_key(doc_id), "") for doc_id in doc_ids]

    @property
    def examples_sha256(self) -> str:
        """Digest of every labelled example (train, validation, test): what a training result depends on."""
        return self.manifest["outputs"]["examples_sha256"]

    @property
    def corpus_sha256(self) -> str:
        """Digest of the corpus shards, in order: what trained word vectors depend on (not only the vocabulary)."""
        return self.manifest["outputs"]["corpus_sha256"]


def read_vocab(path: str) -> list[tuple[str, int]]:
    """``vocab.tsv`` as ``[(token, count), ...]``; list index = token id.

    A line ends at ``\\n`` only, the one line end its writer
    (counting.render_vocabulary) emits; a line that is not ``token<TAB>count``
    with a token the writer would write is a ContractError naming the line.
    """
    text = read_text(path)
    if text and not text.endswith("\n"):
        raise ContractError(f"{path}: the last line has no line end: the file is truncated; re-run wf-preprocess")
    rows = []
    for line_number, line in enumerate(text.split("\n")[:-1], start=1):
        token, sep, count = line.partition("\t")
        if not sep or not count.isdigit() or not token or line_break_in(token) is not None:
            raise ContractError(f"{path}:{line_number}: expected 'token<TAB>count' (a token without tabs or line breaks), "
                                f"got {line!r}; re-run wf-preprocess")
        rows.append((token, int(count)))
    return rows


@contextlib.contextmanager
def pinned(workdir: str) -> Iterator[PreprocessOutput]:
    """The current preprocessing output, its version kept on disk until the block ends (a training run's whole life)."""
    with pinned_version(folder(workdir)) as version:
        yield PreprocessOutput(workdir, version)
