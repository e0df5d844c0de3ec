"""The exported model's TensorFlow tokenizer gives exactly the Beam job's tokens."""

from __future__ import annotations

import tarfile

import pytest
import tensorflow as tf

from workflow.resolvers import sample_path
from workflow.training.export import tf_tokens
from workflow.text import Tokenizer

TRICKY = [
    "Great film!<br /><br />I didn't like the 2nd half... 10/10",
    "<BR/>Shouting<Br>and<br    />breaks<br/ >kept",
    "Amélie's café, naïve ÉCOLE, Kelvin \u212a, ligature \ufb01ne, fullwidth \uff12\uff10, emoji \U0001F600!",
    "rock'n'roll don't'x 'quoted' '' it's-a-me o'clock",
    "numbers 1,000.50 3rd 1990s -5 +7 0x1F",
    "  \n tabs\tand\nnewlines\r\nA-Z_under\x0bvertical",
    "",
    "..., !!! ???",
    "line\x1cbreaks\x1dstr\x1esplitlines\x85sees\u2028in\u2029text\x0band\x0cform feeds",
]


def tokens_in_tensorflow(texts: list[str], tokenizer: Tokenizer) -> list[list[str]]:
    return [[token.decode("utf-8") for token in row] for row in tf_tokens(tf.constant(texts), tokenizer).to_list()]


@pytest.mark.parametrize("tokenizer", [Tokenizer(), Tokenizer(lowercase=False), Tokenizer(strip_html=False),
                                       Tokenizer(pattern=r"\w+"), Tokenizer(pattern=r"\S+"), Tokenizer(pattern=r"[^\s,.!?]+"),
                                       Tokenizer(pattern=r"\\s|[a-z]+")])
def test_tricky_text(tokenizer):
    assert tokens_in_tensorflow(TRICKY, tokenizer) == [tokenizer(text) for text in TRICKY]


def test_real_reviews_from_the_bundled_sample():
    texts = []
    with tarfile.open(sample_path()) as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".txt") and len(texts) < 300:
                texts.append(archive.extractfile(member).read().decode("utf-8"))
    tokenizer = Tokenizer()
    assert len(texts) == 300
    assert tokens_in_tensorflow(texts, tokenizer) == [tokenizer(text) for text in texts]
