"""What the preprocessing stage writes: the file names of ``<workdir>/preprocess/`` and the vocabulary's ids.

Layout of one preprocessing output folder (the published version, or a run's
staging folder; publishing: workflow/artifacts.py)::

    vocab.tsv                              token<TAB>count, row number = id
    stats.json                             per split: read/written/rejected, tokens, OOV, lengths; per input file; top rejection reasons
    examples/<split>-NNNNN.tfrecord.gz     tf.train.Example: tokens, label, rating, doc_id
    corpus/{train,unsup}-NNNNN.txt         training-side text, one document a line, tokens by spaces
    films.tsv                              aclImdb only: review<TAB>film for each labelled review its url files place (films.py)
    rejected/rejected-00000.jsonl          one JSON object a rejected record (doc_id order): source, doc_id, split, reason; none when none is
    manifest.json                          cache key, every file above with its SHA-256, counts, durations (written last)

Ids: 0 = ``<pad>``, 1 = ``<unk>``, then tokens by count descending, ties by
token ascending; the embedding matrix's row i is the vector of id i. Later
stages open the folder through ``PreprocessOutput`` (output.py), never by
these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.artifacts import MANIFEST, StageFile, join

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
SPLITS = ("train", "validation", "test")  # labelled splits written as examples
UNSUP = "unsup"  # unlabelled documents: corpus only
TRAINING_SIDE = ("train", UNSUP)  # the only text that builds the vocabulary and the corpus


@dataclass(frozen=True)
class PreprocessLayout:
    """File names inside one preprocessing output folder (final or staging)."""

    root: str
    vocab = StageFile("vocab.tsv")
    stats = StageFile("stats.json")
    films = StageFile("films.tsv")
    manifest = StageFile(MANIFEST)
    corpus_glob = StageFile("corpus", "*.txt")
    rejected = StageFile("rejected", "rejected-00000.jsonl")
    rejected_glob = StageFile("rejected", "rejected-*.jsonl")
    spill_dir = StageFile("spill")  # the tokenised labelled documents, between the read and the encoding; deleted before the manifest
    progress_dir = StageFile("progress")  # each read task's bytes read so far (read_progress.py); deleted before the manifest

    def examples_file(self, split: str, task: int) -> str:
        """The examples of one split that read task ``task`` wrote."""
        return join(self.root, "examples", f"{split}-{task:05d}.tfrecord.gz")

    def corpus_file(self, split: str, task: int) -> str:
        """The corpus lines of one training-side split that read task ``task`` wrote."""
        return join(self.root, "corpus", f"{split}-{task:05d}.txt")

    def spill_file(self, task: int) -> str:
        """The labelled documents read task ``task`` tokenised, waiting for the vocabulary."""
        return join(self.spill_dir, f"{task:05d}.pickle")
