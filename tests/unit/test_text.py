import pickle

import pytest

from workflow.text import Tokenizer, check_pattern, line_break_in, re2_pattern


def test_default_tokenizer_lowercases_strips_breaks_and_keeps_contractions():
    tokens = Tokenizer()("I didn't LIKE it.<br /><br />10/10 -- the film's end<BR>")
    assert tokens == ["i", "didn't", "like", "it", "10", "10", "the", "film's", "end"]


def test_lowercasing_is_ascii_only_like_tensorflow():
    # U+212A KELVIN SIGN lowercases to 'k' in Python but not in tf.strings.lower.
    assert Tokenizer()("\u212aelvin Amélie") == ["elvin", "am", "lie"]


def test_options_switch_steps_off():
    assert Tokenizer(lowercase=False)("Big <br />Film") == ["ig", "ilm"]
    assert Tokenizer(strip_html=False)("a<br />b") == ["a", "br", "b"]


def test_custom_pattern_and_pickling():
    tokenizer = Tokenizer(pattern=r"\w+")
    assert pickle.loads(pickle.dumps(tokenizer))("Hello, world_2") == ["hello", "world_2"]


@pytest.mark.parametrize("pattern, message", [
    ("(a)+", "capturing"),
    ("[", "not a valid"),
    ("a*", "empty string"),
    (r"\w+(?=!)", "not valid RE2.*invalid perl operator"),  # lookahead: Python re only
    (r"(?:(\w)\1)+", "not valid RE2.*invalid escape"),  # backreference: Python re only
    (r"\w+(?: \w+)?", "can match whitespace"),
    (r"[a-z\s]+", "can match whitespace"),
    (r"[^a-z]+", "can match whitespace"),
    (r".+", "can match whitespace"),
    (r"a|\W", "can match whitespace"),
    (r"[\S,]+", r"\\S inside a character class"),
])
def test_bad_patterns_are_named(pattern, message):
    with pytest.raises(ValueError, match=message):
        check_pattern(pattern)


@pytest.mark.parametrize("pattern, translated", [
    (r"\S+", r"[^\t\n\x0b\f\r ]+"),
    (r"[^\s,.]+", r"[^\t\n\x0b\f\r ,.]+"),
    (r"[^]\s]+", r"[^]\t\n\x0b\f\r ]+"),  # ']' first in a class is a member
    (r"\\s[a-z]+", r"\\s[a-z]+"),  # an escaped backslash, then a literal 's'
    (r"\[\S+", r"\[[^\t\n\x0b\f\r ]+"),  # an escaped '[' opens no class
])
def test_re2_translation_keeps_pythons_whitespace_classes(pattern, translated):
    check_pattern(pattern)
    assert re2_pattern(pattern) == translated


@pytest.mark.parametrize("separator", ["\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize("pattern", [r"\S+", r"[^\s,.]+", r"\w+"])
def test_a_line_separator_of_str_splitlines_separates_tokens_whatever_the_pattern(pattern, separator):
    """``\\S`` (ASCII) matches U+2028 and its kind: without this rule ``\\S+`` made tokens vocab.tsv's reader split."""
    tokens = Tokenizer(pattern=pattern)(f"left{separator}right, café{separator}{separator}end")
    assert tokens[0] == "left" and tokens[1].startswith("right") and not any(line_break_in(token) for token in tokens)
    assert len(f"x{separator}y".splitlines()) == 2, "a character str.splitlines() ends a line at"
