"""Which film each aclImdb training review is about, so that validation can be carved out by film.

aclImdb ships ``train/urls_pos.txt`` and ``train/urls_neg.txt``: line ``i``
is the IMDb page (``.../title/tt0453418/usercomments``) of the film that
review ``i`` (file ``i_<rating>.txt``) is about. Up to 30 reviews share a
film, and the same words (names, plot) recur in them: a validation split that
holds some reviews of a film whose other reviews are in training overestimates
test accuracy (the official test set shares no film with train). Carving
validation by a fingerprint of the film instead of the review keeps every
film on one side.

A folder's url files are read before the job (:func:`folder_films`; the
mapping, 25,000 short strings, travels with the read tasks). In a ``.tar.gz``
they come after all 100,000 reviews, so each archive task learns them as its
stream passes them and decides the split of its training reviews then
(task_outputs.py): no extra pass over the archive before the job starts.
"""

from __future__ import annotations

import re

from apache_beam.io.filesystems import FileSystems

from workflow.preprocess.readers import URL_FILES, aclimdb_root

_FILM = re.compile(r"/title/(tt\d+)")


def films_in_url_file(label: str, text: str) -> dict[str, str]:
    """``"train/<label>/<i>" -> film id`` for every line of a url file that names one."""
    found = {}
    for number, line in enumerate(text.splitlines()):
        match = _FILM.search(line)
        if match:
            found[f"train/{label}/{number}"] = match.group(1)
    return found


def folder_films(path: str) -> dict[str, str]:
    """``"train/pos/123" -> "tt0453418"`` for the labelled training reviews of an aclImdb folder; {} without url files."""
    films: dict[str, str] = {}
    root = aclimdb_root(path)
    for name, label in URL_FILES.items():
        url_file = FileSystems.join(root, "train", name)
        if FileSystems.exists(url_file):
            with FileSystems.open(url_file) as handle:
                films.update(films_in_url_file(label, handle.read().decode("utf-8", errors="replace")))
    return films
