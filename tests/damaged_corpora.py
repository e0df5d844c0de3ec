"""Small CSV, JSONL and text files with planted damage, and what a reader must make of every record in them.

Each generator writes one file from a seeded ``random.Random`` and returns a
:class:`Planted` per record: its first line, its id, its text and whether it
was damaged. An undamaged record must be written with its id and text; a
damaged one must be rejected, under its first line. Blank lines, a BOM and
the line terminators are planted too, and the expected line counts kept.
"""

from __future__ import annotations

import json
import random
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


def csv_file(path: Path, rng: random.Random, records: int, tag: str) -> PlantedFile:
    """``id,text,label`` rows: plain, quoted with commas, doubled quotes or line breaks; damage on one-line rows."""
    planted = PlantedFile(path, header_lines=1)
    lines = _Lines(rng, planted)
    lines.blanks()
    lines.add(b"id,text,label")
    for number in range(records):
        lines.blanks()
        doc_id, label = f"{tag}r{number}", rng.choice(list(LABELS))
        shape = rng.choice(["plain", "plain", "comma", "quotes", "multiline"])
        text = _words(rng)
        if shape == "comma":
            text = f"{text}, {_words(rng)}"
        elif shape == "quotes":
            text = f'{text} "{_words(rng, 1, 2)}" {_words(rng, 0, 2)}'.rstrip()
        elif shape == "multiline":
            text = lines.terminator.decode().join(_words(rng) for _ in range(rng.randint(2, 4)))
        cell = text if shape == "plain" else '"' + text.replace('"', '""') + '"'
        row = f"{doc_id},{cell},{label}".encode()
        record = Planted(planted.lines + 1, doc_id, text)
        if shape != "multiline" and rng.random() < 0.35:
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
