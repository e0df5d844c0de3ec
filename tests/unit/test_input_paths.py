"""A config path names a file literally before it is a pattern, and a pattern matches the files Beam's match does.

The workflow lists local patterns itself (input_paths.py) so that it can see what Beam's match hides: folders,
pipes, broken links and loops. On trees of regular files it must list exactly what Beam lists.
"""

from __future__ import annotations

import random
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from workflow.preprocess.input_paths import _walk, is_pattern, matched

PATTERNS = ["*.csv", "*/*.csv", "a*/*", "**.csv", "**/x*.csv", "[ab]*.csv", "?1.csv", "a1/b?/*.jsonl", "*", "*/*/*", "**"]


def test_a_pattern_lists_the_files_beams_match_lists(tmp_path: Path):
    rng = random.Random(1)
    for round_ in range(3):
        root = tmp_path / str(round_)
        for _ in range(40):
            parts = [rng.choice(["a1", "b2", "x", "ab"]) for _ in range(rng.randint(0, 3))]
            path = root.joinpath(*parts, f"{rng.choice(['a', 'b', 'x', 'z'])}{rng.randint(0, 3)}.{rng.choice(['csv', 'jsonl', 'txt'])}")
            if not any(parent.is_file() for parent in path.parents):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("x")
        for pattern in PATTERNS:
            full = f"{root}/{pattern}"
            ours = _walk(full)
            assert [meta.path for meta in ours.files] == sorted(meta.path for meta in FileSystems.match([full])[0].metadata_list), full
            assert all(entry.reason == "a folder, not a file" for entry in ours.refused), full
            if "**" in pattern:  # walked through: its folders are structure, not rejected records
                assert ours.refused == [], full


def test_a_literal_path_is_the_file_even_with_pattern_characters(tmp_path: Path):
    for name in ["reviews[2023].csv", "what?.csv", "star*.csv"]:
        (tmp_path / name).write_text("x")
        assert is_pattern(str(tmp_path / name))
        assert [meta.path for meta in matched(str(tmp_path / name), "data.path").files] == [str(tmp_path / name)]
