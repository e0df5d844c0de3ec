"""A long stage shows progress: a live bar on a terminal, through a pipe a plain line at most once a minute;
word2vec's bar moves within an epoch, from gensim's own progress records."""

from __future__ import annotations

import io

from workflow import console
from workflow.config import ProgressDisplay, Word2VecConfig
from workflow.console import StageProgress
from workflow.embeddings.word2vec import train_word2vec


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_through_a_pipe_a_plain_line_at_most_once_a_minute(monkeypatch, capsys):
    clock = FakeClock()
    monkeypatch.setattr(console.time, "monotonic", clock)
    pipe = io.StringIO()
    with StageProgress("word2vec", 1000, " words", ProgressDisplay.auto, stream=pipe) as shown:
        for second in range(0, 150, 5):
            clock.now = 1000.0 + second
            shown.update(second * 5, f"epoch {1 + second // 50}/3")
    lines = capsys.readouterr().out.splitlines()
    # At 60 s and 120 s: two lines in two and a half minutes, each with how far, of what, and how long to go.
    assert lines == ["word2vec     epoch 2/3: 30% of 1.00k words in 60.0 s, about 140.0 s to go",
                     "word2vec     epoch 3/3: 60% of 1.00k words in 120.0 s, about 80.0 s to go"]
    assert pipe.getvalue() == "", "nothing drawn on a stream that is not a terminal"


def test_on_a_terminal_a_bar_that_ends_where_the_stage_line_goes():
    tty = Tty()
    with StageProgress("word2vec", 1000, " words", ProgressDisplay.auto, stream=tty) as shown:
        shown.update(500, "epoch 2/4")
        assert shown.bar is not None and shown.bar.n == 500
    drawn = tty.getvalue()
    assert "word2vec" in drawn and "epoch 2/4" in drawn and "\r" in drawn
    assert not shown.bar, "closed: the stage's own line takes its place"


def test_word2vec_reports_progress_within_and_at_the_end_of_each_epoch(tmp_path):
    corpus = tmp_path / "corpus.txt"
    words = [f"w{i}" for i in range(50)]
    corpus.write_text("\n".join(" ".join(words[(line + k) % 50] for k in range(30)) for line in range(2000)) + "\n")
    vocabulary = [("<pad>", 0), ("<unk>", 0)] + [(word, 1200) for word in words]
    seen: list[tuple[float, str]] = []

    class Recorder:
        def update(self, done: float, note: str) -> None:
            seen.append((done, note))

    settings = Word2VecConfig(vector_size=8, epochs=3, workers=1, seed=0)
    train_word2vec(str(corpus), vocabulary, settings, progress=Recorder())
    total = 3 * 60_000
    assert seen[-1] == (total, seen[-1][1]) and seen[-1][1].startswith("epoch 3/3, ")
    done = [value for value, _ in seen]
    assert done == sorted(done), "never backwards"
    assert [note.split(",")[0] for _, note in seen if _ in (total / 3, 2 * total / 3)] == ["epoch 1/3", "epoch 2/3"]
