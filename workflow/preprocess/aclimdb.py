"""aclImdb, as a folder or straight from its ``.tar.gz`` (streamed, never unpacked): ``<root>/{train,test}/{pos,neg,unsup}/<id>_<rating>.txt``.

Read tasks (readers.py) read an archive part or a group of review files;
each review becomes a RawRecord named ``<split>/<label>/<id>_<rating>``, its
label from its folder, its rating from its name. The url files beside the
reviews name each review's film (films.py).
"""

from __future__ import annotations

import pickle
import posixpath
import re
import tempfile
import zlib
from typing import Callable, Iterator, Optional

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.artifacts import join
from workflow.errors import InputError
from workflow.preprocess import tar_stream
from workflow.preprocess.counting import Tally, file_counts
from workflow.preprocess.csv_records import decode
from workflow.preprocess.input_paths import Matched, folder_entries
from workflow.preprocess.read_progress import counted
from workflow.preprocess.records import RawRecord
from workflow.preprocess.shards import unpickled
from workflow.storage import IN_JOB, Storage

ACLIMDB_SPLITS = ("train", "test")
ACLIMDB_LABELS = ("pos", "neg", "unsup")
URL_FILES = {"urls_pos.txt": "pos", "urls_neg.txt": "neg"}  # train/ and test/: each review's film, line i = review i (films.py)
UrlFileSink = Callable[[str, str, str], None]  # (split, label, text of <split>/urls_<label>.txt), train and test
_ACLIMDB_NAME = re.compile(r"(\d+)_(\d+)\.txt")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
WAITING_BATCH = 1024  # archive members pickled together while a part waits for the end of its stream


def is_review(member: str) -> bool:
    """Whether a path ends in ``<train|test>/<pos|neg|unsup>/<name>.txt`` (README, imdb.vocab... are not)."""
    parts = member.split("/")
    return len(parts) >= 3 and parts[-3] in ACLIMDB_SPLITS and parts[-2] in ACLIMDB_LABELS and parts[-1].endswith(".txt")


def aclimdb_record(member: str, data: Optional[bytes], error: Optional[str] = None) -> RawRecord:
    """RawRecord for a review file path (``is_review(member)`` holds)."""
    split, label, name = member.split("/")[-3:]
    doc_id = f"{split}/{label}/{name[:-4]}"
    match = _ACLIMDB_NAME.fullmatch(name)
    if error is None and match is None:
        error = "file name is not <id>_<rating>.txt"
    return RawRecord(
        doc_id=doc_id,
        split="unsup" if label == "unsup" else split,
        source=member,
        text=None if data is None else decode(data),
        label=None if label == "unsup" else label,
        rating=int(match.group(2)) if match else 0,
        error=error,
    )


def read_archive_part(path: str, part: int, parts: int, on_url_file: Optional[UrlFileSink] = None,
                      tally: Optional[Tally] = None) -> Iterator[RawRecord]:
    """Stream one aclImdb archive and yield the review members of one part, once the whole stream is read.

    ``on_url_file(split, label, text)`` is given each ``<split>/urls_<label>.txt``
    of train and test as the stream passes it (films.py), after every review in
    aclImdb's order.

    A gzip stream cannot be split, so each of ``parts`` workers streams the
    whole archive (tar_stream.py keeps a pass near the cost of decompressing
    it) and keeps every ``parts``-th review: decoding, tokenising and
    counting, the costly steps, are divided among the workers and stay fused
    with the read, so no raw text is shuffled between processes. ``tally``
    counts the review members of this part under the archive's path.

    A member that appears more than once (``tar rf``) is kept as ``tar``
    extracts it, the last copy; every earlier one is counted and rejected, so
    an archive and its folder give the same documents. So the part's records
    wait in a temporary file until the stream has ended. A folder member named
    like a review is counted and rejected too.
    """
    counts = file_counts(tally, path, "members")
    last_copy: dict[str, int] = {}  # member name -> position of its last copy among the archive's review members
    index = -1
    with tempfile.TemporaryFile() as waiting:
        batch: list[tuple[int, str, bool, Optional[bytes]]] = []  # pickled a batch at a time: a third of the cost of one by one
        try:
            with counted(FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)) as handle:
                for member in tar_stream.members(handle):
                    if on_url_file is not None and member.is_file and _url_file(member.name):
                        on_url_file(*_url_file(member.name), member.read().decode("utf-8", errors="replace"))
                    if not is_review(member.name):
                        continue
                    index += 1
                    last_copy[member.name] = index
                    if index % parts == part:
                        counts.records += 1
                        batch.append((index, member.name, member.is_dir, member.read() if member.is_file else None))  # raw bytes
                        if len(batch) == WAITING_BATCH:
                            pickle.dump(batch, waiting, protocol=pickle.HIGHEST_PROTOCOL)
                            batch = []
        except (tar_stream.TarFormatError, EOFError, zlib.error, OSError) as error:
            raise InputError(f"{path}: truncated or corrupt archive ({type(error).__name__}: {error})") from error
        pickle.dump(batch, waiting, protocol=pickle.HIGHEST_PROTOCOL)
        waiting.seek(0)
        for position, name, is_dir, data in (member for batch in unpickled(waiting) for member in batch):
            record = _archive_record(path, name, is_dir, data)
            if last_copy[name] != position:
                record = record._replace(text=None, error=f"repeated archive member: review member {last_copy[name] + 1} of the "
                                                          "archive is a later copy of it, which is kept (as tar extracts the last copy)")
            yield record


def _url_file(member: str) -> Optional[tuple[str, str]]:
    """``(split, label)`` of a member that is ``<train|test>/urls_<label>.txt``; None for any other."""
    parts = member.split("/")
    return (parts[-2], URL_FILES[parts[-1]]) if len(parts) >= 2 and parts[-2] in ACLIMDB_SPLITS and parts[-1] in URL_FILES else None


def _archive_record(path: str, name: str, is_dir: bool, data: Optional[bytes]) -> RawRecord:
    """The record of review member ``name``: ``data`` holds a regular file's bytes, None for any other member."""
    error = "a folder, not a review file" if is_dir else "unreadable member: not a regular file" if data is None else None
    return aclimdb_record(name, data, error)._replace(source=f"{path}!{name}", input_file=path)


def read_review_file(path: str, tally: Optional[Tally] = None) -> Iterator[RawRecord]:
    """One review file of an aclImdb folder, counted under its folder (``<root>/<split>/<label>``)."""
    folder = posixpath.dirname(path.replace("\\", "/"))
    file_counts(tally, folder, "members").records += 1
    try:
        with counted(FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)) as handle:
            data, error = handle.read(), None
    except OSError as failure:
        data, error = None, f"unreadable file: {failure}"
    yield aclimdb_record(path.replace("\\", "/"), data, error)._replace(source=path, input_file=folder)


def aclimdb_root(path: str, storage: Storage = IN_JOB) -> str:
    """The aclImdb folder: ``path`` itself, or its ``aclImdb`` child."""
    nested = join(path, "aclImdb")
    return nested if storage.exists(nested) else path


def review_folders(root: str, storage: Storage = IN_JOB) -> list[str]:
    """The six folders of an aclImdb folder (or its parent) that hold reviews: ``<root>/<split>/<pos|neg|unsup>``."""
    root = aclimdb_root(root, storage)
    return [join(root, split, label) for split in ACLIMDB_SPLITS for label in ACLIMDB_LABELS]


def is_archive(path: str) -> bool:
    return path.endswith(_ARCHIVE_SUFFIXES)


def review_files(root: str, storage: Storage = IN_JOB) -> Matched:
    """Every review file of an aclImdb folder, sorted by path, and the entries named like one that are no readable file."""
    found = [folder_entries(folder, ".txt", storage) for folder in review_folders(root, storage)]
    return Matched(sorted((meta for one in found for meta in one.files), key=lambda meta: meta.path),
                   sorted(entry for one in found for entry in one.refused))
