"""Small CSV, JSONL and text files, archives and folders with planted damage, and what a reader must make of every record.

Each generator writes one file from a seeded ``random.Random`` and returns a
:class:`Planted` per record: its first line, its id, its text and whether it
was damaged. An undamaged record must be written with its id and text; a
damaged one must be rejected, under its first line. Blank lines, a BOM and
the line terminators are planted too, and the expected line counts kept.

Damage to whole files and folders: compressed copies cut short or with a
flipped byte (:func:`compressed_copy`); archives whose members repeat, or
that hold folders and links named like reviews (:func:`archive_with_repeats`);
folders and globs whose entries are no readable files (:func:`unreadable_entries`).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

WORDS = ["good", "bad", "film", "plot", "great", "dull", "actor", "scene", "café", "naïve", "story", "ending"]
LABELS = {"pos": 1, "neg": 0}
BOM = b"\xef\xbb\xbf"
BLANKS = [b"", b"  ", b"\t", b" \t "]


@dataclass
class Planted:
    line: int  # first line of the record, 1-based
    doc_id: Optional[str]  # None: a text line (named <file>:<line>)
    text: str
    damage: Optional[str] = None  # None: must be written


@dataclass
class PlantedFile:
    path: Path
    records: list[Planted] = field(default_factory=list)
    lines: int = 0
    blank_lines: int = 0
    header_lines: int = 0

    @property
    def damaged(self) -> list[Planted]:
        return [record for record in self.records if record.damage]

    @property
    def intact(self) -> list[Planted]:
        return [record for record in self.records if not record.damage]


class _Lines:
    """Physical lines of a file being planted, with their count."""

    def __init__(self, rng: random.Random, planted: PlantedFile):
        self.rng, self.planted = rng, planted
        self.terminator = rng.choice([b"\n", b"\r\n"])
        self.chunks: list[bytes] = [BOM] if rng.random() < 0.3 else []

    def blanks(self) -> None:
        while self.rng.random() < 0.15:
            self.add(self.rng.choice(BLANKS))
            self.planted.blank_lines += 1

    def add(self, line: bytes) -> None:
        """One or more physical lines (``line`` may hold terminators inside a quoted field), ended by the terminator."""
        self.chunks.append(line + self.terminator)
        self.planted.lines += 1 + line.count(b"\n")

    def write(self) -> None:
        if self.planted.lines == 0:
            self.chunks = []  # a BOM alone would be a (blank) line
        data = b"".join(self.chunks)
        if self.chunks and self.chunks[-1] != self.terminator and self.rng.random() < 0.2:  # no terminator after the last line
            data = data[: -len(self.terminator)]
        self.planted.path.write_bytes(data)


def _words(rng: random.Random, low: int = 1, high: int = 6) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _insert(rng: random.Random, data: bytes, what: bytes, low: int = 0) -> bytes:
    at = rng.randint(low, len(data))
    return data[:at] + what + data[at:]


def csv_file(path: Path, rng: random.Random, records: int, tag: str, line_bound: Optional[int] = None) -> PlantedFile:
    """``id,text,label`` rows: plain, quoted with commas, doubled quotes or line breaks; damage on one-line rows.

    ``line_bound``: the reader's bound on the lines of a quoted field (csv_records.MAX_RECORD_LINES, at least 4);
    given, some records are a legal quoted field longer than it, whose inner lines are shaped like rows of the
    file: each must be rejected once, as one record, and none of its lines read as a record.
    """
    planted = PlantedFile(path, header_lines=1)
    lines = _Lines(rng, planted)
    lines.blanks()
    lines.add(b"id,text,label")
    for number in range(records):
        lines.blanks()
        doc_id, label = f"{tag}r{number}", rng.choice(list(LABELS))
        shape = rng.choice(["plain", "plain", "comma", "quotes", "multiline"] + (["long"] if line_bound else []))
        text = _words(rng)
        if shape == "comma":
            text = f"{text}, {_words(rng)}"
        elif shape == "quotes":
            text = f'{text} "{_words(rng, 1, 2)}" {_words(rng, 0, 2)}'.rstrip()
        elif shape == "multiline":
            text = lines.terminator.decode().join(_words(rng) for _ in range(rng.randint(2, 4)))
        elif shape == "long":  # inner lines that would each pass as a row of three fields
            inner = [f"{tag}fake{number}.{n},{_words(rng)},{rng.choice(list(LABELS))}" for n in range(rng.randint(line_bound, line_bound + 5))]
            text = lines.terminator.decode().join([_words(rng), *inner])
        cell = text if shape == "plain" else '"' + text.replace('"', '""') + '"'
        row = f"{doc_id},{cell},{label}".encode()
        record = Planted(planted.lines + 1, doc_id, text, "long field" if shape == "long" else None)
        if shape not in ("multiline", "long") and rng.random() < 0.35:
            record.damage = rng.choice(["quote", "nul", "truncate", "utf8", "utf8 id", "ragged", "missing"] if shape == "plain"
                                       else ["nul", "truncate", "utf8", "utf8 id", "ragged", "missing"])
            row = _damage_csv(rng, row, record.damage, doc_id)
        lines.add(row)
        planted.records.append(record)
    lines.write()
    return planted


def _damage_csv(rng: random.Random, row: bytes, damage: str, doc_id: str) -> bytes:
    start = len(doc_id) + 1  # the text cell
    if damage == "quote":  # an unbalanced quote opening the text cell
        return row[:start] + b'"' + row[start:]
    if damage == "nul":
        return _insert(rng, row, b"\0")
    if damage == "truncate":  # cut inside the row: at least the label's last character goes
        return row[: rng.randint(1, len(row) - 1)]
    if damage == "utf8":  # inside the text cell
        at = start + 1 if row[start:start + 1] == b'"' else start
        return row[:at] + b"\xff" + row[at:]
    if damage == "utf8 id":
        return b"\xfe" + row
    if damage == "ragged":
        return row + b",surplus"
    return row[: row.rindex(b",")]  # missing: the label cell is gone


def jsonl_file(path: Path, rng: random.Random, records: int, tag: str) -> PlantedFile:
    """``{"id", "text", "label"[, "rating"]}`` lines; damage: bad JSON, NUL, bad UTF-8, bad values."""
    planted = PlantedFile(path)
    lines = _Lines(rng, planted)
    for number in range(records):
        lines.blanks()
        doc_id, text = f"{tag}j{number}", _words(rng) + rng.choice(["", ' "quoted"', "\nnext line", " \\ back"])
        values = {"id": doc_id, "text": text, "label": rng.choice(list(LABELS))}
        if rng.random() < 0.3:
            values["rating"] = rng.choice([0, 7, 10, 9.0, "4"])
        record = Planted(planted.lines + 1, doc_id, text)
        if rng.random() < 0.35:
            record.damage = rng.choice(["quote", "nul", "truncate", "utf8", "utf8 id", "rating", "label"])
            if record.damage == "rating":
                values["rating"] = rng.choice([float("inf"), float("nan"), -3, 1e30, 7.5, True, [1], 2**63, "x"])
            elif record.damage == "label":
                values["label"] = rng.choice([["pos"], {"value": "pos"}])
        line = json.dumps(values, ensure_ascii=rng.random() < 0.5).encode()
        if record.damage in ("quote", "nul", "truncate", "utf8", "utf8 id"):
            line = _damage_json(rng, line, record.damage)
        lines.add(line)
        planted.records.append(record)
    lines.blanks()
    lines.write()
    return planted


def _damage_json(rng: random.Random, line: bytes, damage: str) -> bytes:
    text_at = line.index(b'"text": "') + len(b'"text": "')
    if damage == "quote":  # the text value ends early: what follows is not JSON
        return line[:text_at] + b'"' + line[text_at:]
    if damage == "nul":
        return _insert(rng, line, b"\0")
    if damage == "truncate":
        return line[: rng.randint(1, len(line) - 1)]
    if damage == "utf8":
        return line[:text_at] + b"\xff" + line[text_at:]
    id_at = line.index(b'"id": "') + len(b'"id": "')
    return line[:id_at] + b"\xc3" + line[id_at:]  # a lead byte without its continuation


def text_file(path: Path, rng: random.Random, records: int) -> PlantedFile:
    """One document a line; damage: NUL, bad UTF-8."""
    planted = PlantedFile(path)
    lines = _Lines(rng, planted)
    for _ in range(records):
        lines.blanks()
        text = _words(rng)
        record = Planted(planted.lines + 1, None, text)
        line = text.encode()
        if rng.random() < 0.3:
            record.damage = rng.choice(["nul", "utf8"])
            line = _insert(rng, line, b"\0" if record.damage == "nul" else b"\x80")
        lines.add(line)
        planted.records.append(record)
    lines.write()
    return planted


# --------------------------------------------------------------------------- whole files, archives, folders

COMPRESSIONS = {
    ".gz": lambda data: gzip.compress(data, mtime=0),
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".deflate": zlib.compress,
}


def compressed_copy(planted: PlantedFile, suffix: str, rng: random.Random, damage: Optional[str] = None) -> Path:
    """``planted``'s file compressed (``suffix`` in :data:`COMPRESSIONS`) beside it; ``damage``: ``"truncated"`` (cut at
    a random byte before the end) or ``"corrupt"`` (one byte of the compressed body flipped), named ``<damage>-<name>``.
    Returns its path."""
    data = COMPRESSIONS[suffix](planted.path.read_bytes())
    if damage == "truncated":
        data = data[: rng.randint(1, len(data) - 1)]
    elif damage == "corrupt":
        at = rng.randint(len(data) // 4, len(data) - 9)  # past the header, before the gzip trailer
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    target = planted.path.with_name(f"{damage + '-' if damage else ''}{planted.path.name}{suffix}")
    target.write_bytes(data)
    return target


@dataclass
class PlantedMember:
    name: str  # the member's name in the archive
    text: Optional[str]  # what must be written for it (None: it must be rejected)
    reason: Optional[str] = None  # the start of its rejection's reason


def archive_with_repeats(path: Path, rng: random.Random, reviews: int) -> list[PlantedMember]:
    """An aclImdb ``.tar.gz`` whose members repeat (``tar rf``: a later copy of the same name), with folders and
    symbolic links named like reviews. Returns every review member in archive order with what a reader must make of it:
    the last copy of a name written with its text, every earlier copy, folder and link rejected."""
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    for number in range(reviews):
        split, label = rng.choice([("train", "pos"), ("train", "neg"), ("train", "unsup"), ("test", "pos"), ("test", "neg")])
        name = f"aclImdb/{split}/{label}/{number}_{rng.randint(1, 10)}.txt"
        kind = rng.choices(["file", "folder", "link"], [0.9, 0.05, 0.05])[0]
        if kind == "file":
            for _ in range(rng.choices([1, 2, 3], [0.7, 0.2, 0.1])[0]):  # a later copy, as tar rf appends one
                data = _words(rng).encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                members.append((info, data))
            continue
        info = tarfile.TarInfo(name)
        if kind == "folder":
            info.type = tarfile.DIRTYPE
        else:
            info.type, info.linkname = tarfile.SYMTYPE, "elsewhere.txt"
        members.append((info, b""))
    rng.shuffle(members)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed:
        with tarfile.open(fileobj=packed, mode="w", format=tarfile.GNU_FORMAT) as archive:
            archive.addfile(tarfile.TarInfo("aclImdb/README"), io.BytesIO(b""))
            for info, data in members:
                archive.addfile(info, io.BytesIO(data))
    last = {info.name: position for position, (info, _) in enumerate(members)}
    planted = []
    for position, (info, data) in enumerate(members):
        if info.isdir():
            planted.append(PlantedMember(info.name, None, "a folder, not a review file"))
        elif info.issym():
            planted.append(PlantedMember(info.name, None, "unreadable member: not a regular file"))
        elif last[info.name] != position:
            planted.append(PlantedMember(info.name, None, "repeated archive member"))
        else:
            planted.append(PlantedMember(info.name, data.decode()))
    return planted


def unreadable_entries(folder: Path, rng: random.Random, suffix: str) -> dict[str, str]:
    """Entries named ``*<suffix>`` in ``folder`` that are no readable files: a broken link, a link loop, a folder, a named
    pipe (whose open would block), and sometimes several of each. Returns ``{path: the start of the reason}``."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ["broken", "loop", "folder", "pipe"] + rng.choices(["broken", "loop", "folder", "pipe"], k=rng.randint(0, 4))
    planted = {}
    for number, kind in enumerate(kinds):
        path = folder / f"{900 + number}_{rng.randint(1, 10)}{suffix}"
        if kind == "broken":
            path.symlink_to(folder / "no-such-target")
            planted[str(path)] = "a broken symbolic link"
        elif kind == "loop":
            path.symlink_to(path)
            planted[str(path)] = "a symbolic link loop"
        elif kind == "folder":
            path.mkdir()
            planted[str(path)] = "a folder, not a file"
        else:
            os.mkfifo(path)
            planted[str(path)] = "a named pipe (FIFO), not a regular file"
    return planted
