import pickle

import pytest

from workflow.text import Tokenizer, check_pattern


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


@pytest.mark.parametrize("pattern, message", [("(a)+", "capturing"), ("[", "not a valid"), ("a*", "empty string")])
def test_bad_patterns_are_named(pattern, message):
    with pytest.raises(ValueError, match=message):
        check_pattern(pattern)
