"""The film of each labelled aclImdb review, from the corpus's url files through preprocessing (films.tsv) to its reader."""

from __future__ import annotations

import pytest

from tests.conftest import TINY_REVIEWS, typed, write_aclimdb_archive, write_aclimdb_folder
from workflow.artifacts import read_json
from workflow.preprocess import stage
from workflow.preprocess.aclimdb import ACLIMDB_SPLITS, read_archive_part
from workflow.preprocess.films import films_in_url_file, folder_films
from workflow.preprocess.films_tsv import read_films, review_key, write_films
from workflow.preprocess.output import PreprocessOutput

# 2 test films of 3 reviews per label and 1 training film per label; line i of a url file is review i.
FILM_REVIEWS = {
    **{f"aclImdb/test/{label}/{i}_{9 if label == 'pos' else 2}.txt": f"test review {i} {label} about film {i // 3}".encode()
       for label in ("pos", "neg") for i in range(6)},
    **{f"aclImdb/train/{label}/{i}_{8 if label == 'pos' else 3}.txt": f"a {label} training review {i}".encode()
       for label in ("pos", "neg") for i in range(4)},
    **{f"aclImdb/test/urls_{label}.txt": "".join(f"http://www.imdb.com/title/tt00{10 + i // 3}/usercomments\n" for i in range(6)).encode()
       for label in ("pos", "neg")},
    "aclImdb/train/urls_pos.txt": b"http://www.imdb.com/title/tt0099/usercomments\n" * 4,
    "aclImdb/train/urls_neg.txt": b"http://www.imdb.com/title/tt0098/usercomments\n" * 4,
}


def expected_films() -> dict[str, str]:
    films = {f"test/{label}/{i}": f"tt00{10 + i // 3}" for label in ("pos", "neg") for i in range(6)}
    return films | {f"train/pos/{i}": "tt0099" for i in range(4)} | {f"train/neg/{i}": "tt0098" for i in range(4)}


def archive_films(archive: str) -> dict[str, str]:
    """What an archive's read task learns from the url files it streams past."""
    films: dict[str, str] = {}
    records = read_archive_part(archive, 0, 1, lambda split, label, text: films.update(films_in_url_file(label, text, split)))
    assert len(list(records)) == len([name for name in FILM_REVIEWS if "/urls_" not in name])
    return films


def test_an_archive_and_a_folder_name_the_same_films_for_train_and_test(tmp_path):
    archive = write_aclimdb_archive(tmp_path / "films.tar.gz", FILM_REVIEWS)
    folder = write_aclimdb_folder(tmp_path / "unpacked", FILM_REVIEWS)
    literal = write_aclimdb_folder(tmp_path / "imdb[2023]", FILM_REVIEWS)  # a path that is also a pattern: still literal
    assert folder_films(str(folder), ACLIMDB_SPLITS) == folder_films(str(literal), ACLIMDB_SPLITS) == expected_films()
    assert archive_films(str(archive)) == expected_films()
    assert review_key("test/pos/4_9") == "test/pos/4"
    write_films(str(tmp_path / "films.tsv"), expected_films())
    assert read_films(str(tmp_path / "films.tsv")) == expected_films()
    (tmp_path / "bad.tsv").write_text("test/pos/1\ttt0010\ntest/pos/2\n")
    with pytest.raises(ValueError, match=r"bad.tsv:2: expected 'review<TAB>film'"):
        read_films(str(tmp_path / "bad.tsv"))


@pytest.mark.parametrize("validation_by_film", [True, False])
def test_preprocessing_records_each_labelled_reviews_film_and_its_reader_hands_them_out(make_config, tmp_path, tiny_archive, validation_by_film):
    """From an archive (written by the job's first read task) and from a folder (by the stage): the same films.tsv."""
    archive = write_aclimdb_archive(tmp_path / "films.tar.gz", FILM_REVIEWS)
    folder = write_aclimdb_folder(tmp_path / "unpacked", FILM_REVIEWS)
    texts = []
    for path in (archive, folder):
        config = typed(make_config(f"data.path={path}", "preprocess.min_count=1",
                                   f"preprocess.validation_by_film={validation_by_film}", f"workdir={tmp_path / path.name}-work"))
        stage.run(config)
        output = PreprocessOutput(config.workdir)
        assert "films.tsv" in read_json(output.layout.manifest)["outputs"]["files"]
        doc_ids = ["test/pos/4_9", "test/neg/0_2", "train/pos/3_8", "elsewhere:1"]
        assert output.films(doc_ids) == ["tt0011", "tt0010", "tt0099", ""]
        texts.append((tmp_path / f"{path.name}-work" / "preprocess" / "films.tsv").read_text())
    assert texts[0] == texts[1] and len(texts[0].splitlines()) == len(expected_films())
    # A corpus without url files: no films.tsv, and no review has a film.
    config = typed(make_config(f"data.path={tiny_archive}", f"workdir={tmp_path / 'tiny'}"))
    stage.run(config)
    output = PreprocessOutput(config.workdir)
    assert "films.tsv" not in read_json(output.layout.manifest)["outputs"]["files"]
    assert output.films(["test/pos/5_10"]) == [""]


def test_a_folders_test_url_files_are_in_the_stage_key(make_config, tmp_path):
    """films.tsv depends on them: an edit re-runs preprocessing (an archive's own digest covers its url files)."""
    folder = write_aclimdb_folder(tmp_path, {**TINY_REVIEWS, "aclImdb/test/urls_pos.txt": b"http://www.imdb.com/title/tt0001/usercomments\n"})
    config = typed(make_config(f"data.path={folder}"))
    before = stage.key(config)
    (folder / "test" / "urls_pos.txt").write_text("http://www.imdb.com/title/tt0002/usercomments\n")
    after = stage.key(config)
    assert after["films"] != before["films"] and after["inputs"] == before["inputs"]


def test_a_pattern_of_several_archives_records_the_first_ones_films_and_says_so(make_config, tmp_path, caplog):
    """Their reviews share names (train/pos/0 is in both), so one films.tsv cannot hold both: the first archive's, and a warning."""
    write_aclimdb_archive(tmp_path / "a.tar.gz", FILM_REVIEWS)
    other = {name: data.replace(b"tt0099", b"tt0777") for name, data in FILM_REVIEWS.items()}
    write_aclimdb_archive(tmp_path / "b.tar.gz", other)
    config = typed(make_config(f"data.path={tmp_path}/*.tar.gz", "preprocess.min_count=1"))
    with caplog.at_level("WARNING", logger="workflow.preprocess.stage"):
        stage.run(config)
    assert PreprocessOutput(config.workdir).films(["train/pos/3_8", "test/pos/4_9"]) == ["tt0099", "tt0011"]
    assert "films.tsv holds the films of the first of the 2 archives" in caplog.text
