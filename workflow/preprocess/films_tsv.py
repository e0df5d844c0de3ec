"""films.tsv, the film of every labelled aclImdb review a preprocessing output records (films.py finds them).

One line a review, sorted: ``review<TAB>film``, the review named as its doc id
less the rating (``test/pos/123``, :func:`review_key`), the film as IMDb's id
(``tt0453418``). Written by an archive's first read task (it streams the url
files anyway: task_outputs.py), by the stage for a folder; read through
``PreprocessOutput.films`` (output.py). No Beam here: a training process reads
it.
"""

from __future__ import annotations

from workflow.artifacts import read_text, write_text
from workflow.storage import IN_JOB, Storage


def review_key(doc_id: str) -> str:
    """``"test/pos/123_9"`` -> ``"test/pos/123"``: the review a url file's line names (an aclImdb doc id less its rating)."""
    return doc_id.rsplit("_", 1)[0]


def write_films(path: str, films: dict[str, str], storage: Storage = IN_JOB) -> None:
    """films.tsv: ``review<TAB>film`` a line, by review."""
    write_text(path, "".join(f"{review}\t{film}\n" for review, film in sorted(films.items())), storage)


def read_films(path: str, storage: Storage = IN_JOB) -> dict[str, str]:
    """films.tsv as ``{review: film}``."""
    films = {}
    for line_number, line in enumerate(read_text(path, storage).splitlines(), start=1):
        review, separator, film = line.partition("\t")
        if not separator or not film:
            raise ValueError(f"{path}:{line_number}: expected 'review<TAB>film', got {line!r}")
        films[review] = film
    return films
