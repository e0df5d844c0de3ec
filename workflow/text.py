"""The one tokenizer of the workflow: normalise and split a review into tokens.

Every stage gets its tokens from here: the Beam job, the word2vec corpus and
the exported inference model (which re-implements these same steps with
TensorFlow string ops; a test proves the two agree). To keep that promise the
rules are limited to what both Python's ``re`` and TensorFlow's RE2 do alike:

* lowercasing is ASCII-only (``A-Z`` -> ``a-z``), as ``tf.strings.lower`` does;
* HTML line breaks (``<br />`` in IMDB) become spaces;
* tokens are the matches of one pattern, compiled with ``re.ASCII`` so that
  ``\\w``, ``\\d`` and ``\\s`` mean what they mean in RE2.

The default pattern keeps words, numbers and contractions
(``don't``, ``film's``); everything else is a separator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

DEFAULT_TOKEN_PATTERN = r"[a-z0-9]+(?:'[a-z]+)?"
HTML_BREAK_PATTERN = r"<br\s*/?>"

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Tokenizer:
    """Pure, picklable tokenizer: ``Tokenizer()("A <br />Film") == ["a", "film"]``."""

    pattern: str = DEFAULT_TOKEN_PATTERN
    lowercase: bool = True
    strip_html: bool = True

    @cached_property
    def _token_re(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.ASCII)

    @cached_property
    def _html_re(self) -> re.Pattern[str]:
        return re.compile(HTML_BREAK_PATTERN, re.ASCII | re.IGNORECASE)

    def normalize(self, text: str) -> str:
        """Lowercase (ASCII only) and replace HTML line breaks by spaces."""
        if self.lowercase:
            # str.lower() is ASCII-safe on ASCII text and much faster than translate;
            # on other text it would also fold letters such as U+212A (Kelvin) to 'k'.
            text = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
        if self.strip_html:
            text = self._html_re.sub(" ", text)
        return text

    def __call__(self, text: str) -> list[str]:
        """Tokens of ``text`` in order; an empty list when nothing matches."""
        return self._token_re.findall(self.normalize(text))


def check_pattern(pattern: str) -> None:
    """Fail early, naming the pattern, when it cannot tokenize.

    A pattern with capturing groups would make ``findall`` return the groups
    instead of the tokens, so only non-capturing groups ``(?:...)`` are allowed.
    """
    try:
        compiled = re.compile(pattern, re.ASCII)
    except re.error as error:
        raise ValueError(f"tokenizer.pattern {pattern!r} is not a valid regular expression: {error}") from None
    if compiled.groups:
        raise ValueError(f"tokenizer.pattern {pattern!r} has capturing groups; use (?:...) instead")
    if compiled.fullmatch(""):
        raise ValueError(f"tokenizer.pattern {pattern!r} matches the empty string")
