"""The element types that flow through the preprocessing pipeline.

``RawRecord`` (one per input document, as read) -> ``Document`` (tokenised,
validated) or ``Rejection`` (why it was dropped). Splits are assigned from a
stable fingerprint of the document id, so they never depend on the runner,
the number of workers or Python's salted ``hash()``.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple, Optional

UNLABELLED = -1


class RawRecord(NamedTuple):
    doc_id: str  # unique and stable: "train/pos/123_9", "reviews.csv:17"
    split: str  # train | validation | test | unsup (validation/test carved from train by fingerprint)
    source: str  # file (and archive member) it came from, for rejection reports
    text: Optional[str]  # decoded with errors="surrogateescape": undecodable bytes stay detectable
    label: Optional[str]  # raw label as found ("pos", "1"...); None = unlabelled or missing
    rating: int  # 0 = unknown
    error: Optional[str] = None  # set by a reader that could not read this record
    input_file: Optional[str] = None  # the file (or archive, or review folder) its counts are kept under (counting.FileCounts)


class Document(NamedTuple):
    doc_id: str
    split: str
    text: str  # the tokens joined by single spaces: one string ships far faster than a list
    label: int  # 0/1, or UNLABELLED
    rating: int

    @property
    def tokens(self) -> list[str]:
        return self.text.split(" ")


class Rejection(NamedTuple):
    doc_id: str
    split: str
    source: str
    reason: str


def fingerprint(doc_id: str) -> float:
    """A stable number in [0, 1) for a document id (BLAKE2b, not ``hash()``)."""
    # surrogatepass: an id holding undecodable bytes or lone surrogates (rejected later) still gets a number instead of raising here
    digest = hashlib.blake2b(doc_id.encode("utf-8", errors="surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def assign_split(record: RawRecord, validation_fraction: float, test_fraction: float, films: dict[str, str]) -> RawRecord:
    """Carve ``test`` (when asked) and ``validation`` out of ``train`` by fingerprint.

    The fingerprint is of the review's film when ``films`` names it
    (``"train/pos/123" -> "tt0453418"``, see films.py), so that all reviews of
    a film land on the same side; of the document id otherwise.
    """
    if record.split != "train":
        return record
    film = films.get(record.doc_id.rsplit("_", 1)[0])
    point = fingerprint(record.doc_id if film is None else f"film/{film}")
    if point < test_fraction:
        return record._replace(split="test")
    if point < test_fraction + validation_fraction:
        return record._replace(split="validation")
    return record
