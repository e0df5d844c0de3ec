"""Which film each aclImdb training review is about, so that validation can be carved out by film.

aclImdb ships ``train/urls_pos.txt`` and ``train/urls_neg.txt``: line ``i``
is the IMDb page (``.../title/tt0453418/usercomments``) of the film that
review ``i`` (file ``i_<rating>.txt``) is about. Up to 30 reviews share a
film, and the same words (names, plot) recur in them: a validation split that
holds some reviews of a film whose other reviews are in training overestimates
test accuracy (the official test set shares no film with train). Carving
validation by a fingerprint of the film instead of the review keeps every
film on one side.

In the ``.tar.gz`` the url files come after all 100,000 reviews, so the
archive is streamed once more before the pipeline starts (tar_stream.py:
2.4 s on the reference machine, 6.6 s through ``tarfile``); the mapping
(25,000 short strings) then travels with the split step.
"""

from __future__ import annotations

import re
import zlib
from typing import Iterable

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from workflow.errors import InputError
from workflow.preprocess import tar_stream
from workflow.preprocess.readers import URL_FILES, aclimdb_root, is_archive, matched_paths

_FILM = re.compile(r"/title/(tt\d+)")


def _films(label: str, lines: Iterable[str]) -> dict[str, str]:
    """``"train/<label>/<i>" -> film id`` for every line that names one."""
    found = {}
    for number, line in enumerate(lines):
        match = _FILM.search(line)
        if match:
            found[f"train/{label}/{number}"] = match.group(1)
    return found


def film_of_review(path: str) -> dict[str, str]:
    """``"train/pos/123" -> "tt0453418"`` for the labelled training reviews of aclImdb archives (a path or glob) or a folder; {} without url files."""
    films: dict[str, str] = {}
    if is_archive(path):
        for archive_path in matched_paths(path):
            films.update(_archive_films(archive_path))
        return films
    root = aclimdb_root(path)
    for name, label in URL_FILES.items():
        url_file = FileSystems.join(root, "train", name)
        if FileSystems.exists(url_file):
            with FileSystems.open(url_file) as handle:
                films.update(_films(label, handle.read().decode("utf-8", errors="replace").splitlines()))
    return films


def _archive_films(path: str) -> dict[str, str]:
    """The url files of one streamed archive, mapped as film_of_review does."""
    films: dict[str, str] = {}
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            for member in tar_stream.members(handle):
                parts = member.name.split("/")
                if member.is_file and len(parts) >= 2 and parts[-2] == "train" and parts[-1] in URL_FILES:
                    text = member.read().decode("utf-8", errors="replace")
                    films.update(_films(URL_FILES[parts[-1]], text.splitlines()))
    except (tar_stream.TarFormatError, EOFError, zlib.error, OSError) as error:
        raise InputError(f"{path}: truncated or corrupt archive ({type(error).__name__}: {error})") from error
    return films
