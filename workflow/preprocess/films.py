"""Which film each labelled aclImdb review is about: validation is carved out by film, and films.tsv records them.

aclImdb ships ``<split>/urls_pos.txt`` and ``<split>/urls_neg.txt`` for
train and test: line ``i`` is the IMDb page (``.../title/tt0453418/usercomments``)
of the film that review ``i`` (file ``i_<rating>.txt``) is about. Up to 30
reviews share a film, and the same words (names, plot) recur in them:

* a validation split that holds some reviews of a film whose other reviews are
  in training overestimates test accuracy (the official test set shares no
  film with train). Carving validation by a fingerprint of the film instead
  of the review keeps every film on one side.
* the reviews of one test film are not independent draws, so a bootstrap
  that resamples test reviews understates the error; the report resamples
  films, read from ``films.tsv`` (one line a labelled review:
  ``review<TAB>film``, the review named as its doc id less the rating,
  ``test/pos/123``: films_tsv.py), which the preprocessing stage writes beside the examples.

A folder's url files are read before the job (:func:`folder_films`; the
mapping, 25,000 short strings, travels with the read tasks). In a ``.tar.gz``
they come after all reviews, so each archive task learns the training ones as
its stream passes them and decides the split of its training reviews then
(task_outputs.py): no extra pass over the archive before the job starts.
films.tsv is written by the job for an archive, from the url files of train
and test its first part streams past (task_outputs.py), and by the stage from
a folder's url files (:func:`folder_films`).
"""

from __future__ import annotations

import re

from workflow.artifacts import join
from workflow.preprocess.aclimdb import ACLIMDB_SPLITS, URL_FILES, aclimdb_root
from workflow.preprocess.input_paths import folder_entries
from workflow.storage import IN_JOB, FileInfo, Storage

_FILM = re.compile(r"/title/(tt\d+)")


def films_in_url_file(label: str, text: str, split: str = "train") -> dict[str, str]:
    """``"<split>/<label>/<i>" -> film id`` for every line of a url file that names one."""
    found = {}
    for number, line in enumerate(text.splitlines()):
        match = _FILM.search(line)
        if match:
            found[f"{split}/{label}/{number}"] = match.group(1)
    return found


def folder_films(path: str, splits: tuple[str, ...] = ("train",), storage: Storage = IN_JOB) -> dict[str, str]:
    """``"train/pos/123" -> "tt0453418"`` for the labelled reviews of ``splits`` of an aclImdb folder; {} without url files."""
    films: dict[str, str] = {}
    for metadata in url_files(path, splits, storage):
        split, name = metadata.path.replace("\\", "/").split("/")[-2:]
        with storage.open(metadata.path) as handle:
            films.update(films_in_url_file(URL_FILES[name], handle.read().decode("utf-8", errors="replace"), split))
    return films


def url_files(path: str, splits: tuple[str, ...] = ACLIMDB_SPLITS, storage: Storage = IN_JOB) -> list[FileInfo]:
    """The url files of ``splits`` in an aclImdb folder (those that exist). The folder's path is literal, as every
    input path is (input_paths.py): a folder named ``imdb[2023]`` is that folder, not a pattern."""
    root = aclimdb_root(path, storage)
    return [metadata for split in splits for name in URL_FILES
            for metadata in folder_entries(join(root, split), name, storage).files
            if metadata.path.replace("\\", "/").rsplit("/", 1)[-1] == name]
