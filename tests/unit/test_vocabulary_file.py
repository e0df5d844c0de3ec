"""vocab.tsv has one rule for a line, shared by its writer and its reader: a token holds no tab and no line break.

Before, the writer refused only tab, newline and carriage return, and the
reader split lines with ``str.splitlines()``, which also splits at U+001C-
U+001E, U+0085, U+2028 and U+2029: a vocabulary written with ``\\S+`` over
text holding them failed to load in the next stage, with a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.errors import ContractError
from workflow.preprocess.counting import render_vocabulary
from workflow.preprocess.output import read_vocab
from workflow.text import LINE_BREAKS

BREAKS = [*LINE_BREAKS, "\t"]
ODD_BUT_FINE = ["caf\u00e9", "\u00a0nbsp", "zero\u200bwidth", "emoji\U0001F600", "back\\slash", "quote\"'", "<unk>x", "\x1f", "\x7f"]


def test_tokens_of_any_other_character_round_trip(tmp_path: Path):
    vocabulary = [("<pad>", 0), ("<unk>", 3)] + [(token, 10 - number) for number, token in enumerate(ODD_BUT_FINE)]
    path = tmp_path / "vocab.tsv"
    path.write_text(render_vocabulary(vocabulary), encoding="utf-8")
    assert read_vocab(str(path)) == vocabulary


@pytest.mark.parametrize("char", BREAKS, ids=[f"U+{ord(char):04X}" for char in BREAKS])
def test_the_writer_refuses_and_the_reader_names_the_line_of_a_token_with_a_line_break(tmp_path: Path, char):
    with pytest.raises(ValueError, match="cannot be written to vocab.tsv: it holds"):
        render_vocabulary([("<pad>", 0), ("<unk>", 0), (f"a{char}b", 5)])
    path = tmp_path / "vocab.tsv"
    path.write_bytes(f"<pad>\t0\n<unk>\t0\na{char}b\t5\nlast\t1\n".encode())
    with pytest.raises(ContractError, match=r"vocab\.tsv:3: expected 'token<TAB>count'"):
        read_vocab(str(path))


def test_a_truncated_or_empty_token_file_is_named(tmp_path: Path):
    path = tmp_path / "vocab.tsv"
    path.write_text("<pad>\t0\n<unk>\t0\ngood\t3")
    with pytest.raises(ContractError, match="the last line has no line end"):
        read_vocab(str(path))
    path.write_text("<pad>\t0\n\t4\n")
    with pytest.raises(ContractError, match=r"vocab\.tsv:2:"):
        read_vocab(str(path))
