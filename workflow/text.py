"""The one tokenizer of the workflow: normalise and split a review into tokens.

Every stage gets its tokens from here: the Beam job, the word2vec corpus and
the exported inference model (which re-implements these same steps with
TensorFlow string ops; a test proves the two agree). To keep that promise the
rules are limited to what both Python's ``re`` and TensorFlow's RE2 do alike:

* lowercasing is ASCII-only (``A-Z`` -> ``a-z``), as ``tf.strings.lower`` does;
* HTML line breaks (``<br />`` in IMDB) become spaces;
* the characters that end a line for ``str.splitlines()`` but are not ASCII
  whitespace (U+001C-U+001E, U+0085, U+2028, U+2029) become spaces, always:
  with ASCII whitespace, which no pattern may match (:func:`check_pattern`),
  they are what no token may hold, since a token is one line of vocab.tsv
  and the corpus is one document a line (:func:`line_break_in`);
* tokens are the matches of one pattern, compiled with ``re.ASCII`` so that
  ``\\w``, ``\\d`` and ``\\s`` mean what they mean in RE2.

The default pattern keeps words, numbers and contractions
(``don't``, ``film's``); everything else is a separator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants, _parser  # the pattern's syntax tree, for the whitespace check
from functools import cached_property

DEFAULT_TOKEN_PATTERN = r"[a-z0-9]+(?:'[a-z]+)?"
HTML_BREAK_PATTERN = r"<br\s*/?>"
# Every character str.splitlines() splits on: the ASCII ones are whitespace (never in a token), the others are
# replaced by spaces before tokens are matched (LINE_SEPARATORS, also spelled for RE2 in the serving model).
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
LINE_SEPARATORS = "\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_SEPARATOR_RE = re.compile(f"[{LINE_SEPARATORS}]")


def line_break_in(token: str) -> str | None:
    """The first character of ``token`` that ends a line for ``str.splitlines()`` or a field of vocab.tsv (a tab), or None."""
    return next((char for char in token if char in LINE_BREAKS or char == "\t"), None)


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
        """Lowercase (ASCII only); replace HTML line breaks and the non-ASCII line separators by spaces."""
        if self.lowercase:
            # str.lower() would also fold letters such as U+212A (Kelvin) to 'k'; bytes.lower()
            # folds A-Z only, in C (str.translate with a table costs ~200 us per review).
            text = text.lower() if text.isascii() else text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
        if self.strip_html:
            text = self._html_re.sub(" ", text)
        if not text.isascii() or "\x1c" in text or "\x1d" in text or "\x1e" in text:  # str.isascii: at C speed
            text = _LINE_SEPARATOR_RE.sub(" ", text)
        return text

    def __call__(self, text: str) -> list[str]:
        """Tokens of ``text`` in order; an empty list when nothing matches."""
        return self._token_re.findall(self.normalize(text))


WHITESPACE = " \t\n\r\f\v"  # Python's ASCII \s
RE2_WHITESPACE = r"\t\n\x0b\f\r "  # the same set written for RE2, whose own \s has no \v (\x0b)


def re2_pattern(pattern: str) -> str:
    r"""``pattern`` for RE2 (TensorFlow's regex ops) with Python's meaning of ``\s`` and ``\S``.

    Escapes are read pairwise, so ``\\s`` (an escaped backslash, then ``s``)
    stays as it is, and ``\s`` inside a class (``[^\s,]``) becomes the class's
    members, not a nested class. ``\S`` inside a class has no RE2 spelling:
    ValueError.
    """
    out, in_class, index = [], False, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escape = pattern[index + 1]
            if escape == "s":
                out.append(RE2_WHITESPACE if in_class else f"[{RE2_WHITESPACE}]")
            elif escape == "S" and in_class:
                raise ValueError(f"tokenizer.pattern {pattern!r} has \\S inside a character class, which RE2 cannot spell; write the class out")
            elif escape == "S":
                out.append(f"[^{RE2_WHITESPACE}]")
            else:
                out.append(char + escape)
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class and not _first_class_member(pattern, index):
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


def _first_class_member(pattern: str, index: int) -> bool:
    """Whether the ']' at ``index`` is the first member of its class (``[]a]``, ``[^]a]``), not its end."""
    return pattern[index - 1 : index] == "[" or pattern[index - 2 : index] == "[^"


_CATEGORIES = {
    _constants.CATEGORY_SPACE: r"\s", _constants.CATEGORY_NOT_SPACE: r"\S",
    _constants.CATEGORY_DIGIT: r"\d", _constants.CATEGORY_NOT_DIGIT: r"\D",
    _constants.CATEGORY_WORD: r"\w", _constants.CATEGORY_NOT_WORD: r"\W",
}


def _class_matches(items: list, char: str) -> bool:
    negate = bool(items) and items[0][0] is _constants.NEGATE
    member = False
    for op, arg in items:
        if op is _constants.LITERAL:
            member |= ord(char) == arg
        elif op is _constants.RANGE:
            member |= arg[0] <= ord(char) <= arg[1]
        elif op is _constants.CATEGORY:
            member |= re.fullmatch(_CATEGORIES[arg], char, re.ASCII) is not None
    return member != negate


def _can_match_whitespace(parsed) -> bool:
    """Whether any single-character position of a parsed pattern admits a whitespace character."""
    for op, arg in parsed:
        if op is _constants.LITERAL and chr(arg) in WHITESPACE:
            return True
        if op in (_constants.NOT_LITERAL, _constants.ANY):
            return True
        if op is _constants.IN and any(_class_matches(arg, char) for char in WHITESPACE):
            return True
        if op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT) and _can_match_whitespace(arg[2]):
            return True
        if op is _constants.SUBPATTERN and _can_match_whitespace(arg[-1]):
            return True
        if op is _constants.ATOMIC_GROUP and _can_match_whitespace(arg):
            return True
        if op is _constants.BRANCH and any(_can_match_whitespace(branch) for branch in arg[1]):
            return True
    return False


def check_pattern(pattern: str) -> None:
    r"""Fail early, naming the pattern, when it cannot tokenize the same way in the Beam job and the serving model.

    Refused: what Python's ``re`` or RE2 (the engine of TensorFlow's string ops,
    which the exported model runs) cannot compile, lookarounds and
    backreferences among them; capturing groups (``findall`` would return the
    groups instead of the tokens; use ``(?:...)``); a pattern that matches the
    empty string; a pattern that can match whitespace (tokens are joined by
    spaces in the corpus and split on whitespace by the serving model); and
    ``\S`` inside a character class. Only this driver-side check needs RE2's own
    compiler (``re2``), so only it imports it: a Beam worker, which only
    tokenises, never loads it.
    """
    import re2

    try:
        compiled = re.compile(pattern, re.ASCII)
    except re.error as error:
        raise ValueError(f"tokenizer.pattern {pattern!r} is not a valid regular expression: {error}") from None
    translated = re2_pattern(pattern)  # ValueError for \S inside a class
    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(translated, options)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ValueError(f"tokenizer.pattern {pattern!r} is not valid RE2, the engine the serving model runs: {reason}") from None
    if compiled.groups:
        raise ValueError(f"tokenizer.pattern {pattern!r} has capturing groups; use (?:...) instead")
    if compiled.fullmatch(""):
        raise ValueError(f"tokenizer.pattern {pattern!r} matches the empty string")
    if _can_match_whitespace(_parser.parse(pattern, re.ASCII)):
        raise ValueError(f"tokenizer.pattern {pattern!r} can match whitespace; tokens are joined and split on whitespace")
