"""The fields the config names, checked against what the files hold: a name that matches nothing stops the job.

A ``data.id_field`` that names no column would leave every record with the
default id, and the guard between train and test (leakage.py) would compare
ids that never repeat; a header that repeats a column name would make the
last copy win. So, before any work, every CSV file's header is read (its
first record, as csv_records.py frames it) and checked:

* no column name appears twice;
* ``data.text_field``, and on a labelled split ``data.label_field``, and
  ``data.id_field`` and ``data.rating_field`` when set, are columns.

JSON lines have no header: a field may be absent from some records (a
rating, say). There the same rule holds per file, once its records are
read: a configured field missing from *every* JSON object of a file fails
the job (:func:`check_json_fields`) before anything is published. Each
error is one line naming the file, the config key and the fields found.
"""

from __future__ import annotations

import collections
from typing import Iterable

from workflow.errors import InputError
from workflow.preprocess.settings import CorpusSettings

FIELDS_LISTED = 64  # distinct field names a file's tally keeps, to name in an error (a JSON object may hold any number)


def required_fields(data: CorpusSettings, split: str) -> list[tuple[str, str]]:
    """``[(config key, field name)]`` every file of ``split`` must hold: the text, the label on a labelled split, and
    the id and rating fields when the config names them."""
    fields = [("data.text_field", data.text_field)]
    if split != "unsup":
        fields.append(("data.label_field", data.label_field))
    fields += [(key, name) for key, name in (("data.id_field", data.id_field), ("data.rating_field", data.rating_field)) if name]
    return fields


def check_header(path: str, header: list[str], data: CorpusSettings, split: str) -> None:
    """InputError naming the file, the key and the columns when ``header`` repeats a name or lacks a configured field."""
    repeated = sorted(name for name, count in collections.Counter(header).items() if count > 1)
    if repeated:
        raise InputError(f"{path}: the header repeats the column(s) {', '.join(map(repr, repeated))}: which one is meant is "
                         f"ambiguous; columns: {_listed(header)}")
    for key, name in required_fields(data, split):
        if name not in header:
            raise InputError(f"{path}: {key}={name!r} names no column; columns: {_listed(header)}")


def check_json_fields(path: str, split: str, objects: int, fields: Iterable[str], data: CorpusSettings) -> None:
    """InputError when a field the config names is in none of the ``objects`` JSON objects of a file (``fields``: the
    names found in any of them)."""
    found = set(fields)
    if objects == 0:
        return  # no line of the file parsed as an object: each one is rejected with its own reason
    for key, name in required_fields(data, split):
        if name not in found:
            raise InputError(f"{path}: {key}={name!r} is in none of its {objects} JSON objects; fields found: {_listed(sorted(found))}")


def _listed(names: list[str]) -> str:
    shown = ", ".join(map(repr, names[:FIELDS_LISTED]))
    return shown + (f" and {len(names) - FIELDS_LISTED} more" if len(names) > FIELDS_LISTED else "")
