import collections

from workflow.preprocess.counting import build_vocabulary, render_vocabulary


def test_ids_are_reserved_then_count_descending_ties_by_token():
    counts = collections.Counter({"b": 3, "a": 3, "c": 5, "rare": 1, "d": 2})
    vocabulary = build_vocabulary(counts, min_count=2, max_size=100)
    assert vocabulary == [("<pad>", 0), ("<unk>", 1), ("c", 5), ("a", 3), ("b", 3), ("d", 2)]


def test_max_size_counts_reserved_rows_and_unk_counts_dropped_tokens():
    counts = collections.Counter({"x": 10, "y": 9, "z": 8})
    vocabulary = build_vocabulary(counts, min_count=1, max_size=4)
    assert vocabulary == [("<pad>", 0), ("<unk>", 8), ("x", 10), ("y", 9)]
    assert render_vocabulary(vocabulary) == "<pad>\t0\n<unk>\t8\nx\t10\ny\t9\n"
