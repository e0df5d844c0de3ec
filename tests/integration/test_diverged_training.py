"""A diverged training is not a result: it fails naming the epoch and the learning rate, and destroys nothing.

Before: ``trainer.learning_rate=inf`` (or 1e30 in random mode) trained to a NaN loss, exited 0, wrote metrics.json
(``test accuracy 0.3333, AUC nan``) as a finished run, after moving the earlier good run of that name aside; and
wf-predict printed ``nan negative`` for every review. The config check now refuses such rates
(tests/unit/test_config.py); these tests go past it, as a blow-up at an allowed rate would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import compose_config, synthetic_reviews, typed, write_aclimdb_archive
from workflow.artifacts import read_json
from workflow.config import with_values
from workflow.errors import DivergedError
from workflow.preprocess import stage as preprocess_stage
from workflow.preprocess.output import PreprocessOutput
from workflow.serving import predict
from workflow.training import stage as training_stage
from workflow.training.export import export_text_model
from workflow.training.layout import RunLayout
from workflow.training.model import load_classifier
from workflow.training.output import RunMetrics
from workflow.training.trainer import Controller

SMALL = ("embedding=random", "model=pooling", "trainer.min_epoch_examples=1", "trainer.batch_size=16", "trainer.epochs=1",
         "trainer.log_every_steps=4", "trainer.checkpoint_every_steps=1000", "trainer.run_name=taken")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Preprocessing output of a small learnable corpus (random-init runs read nothing else)."""
    root = tmp_path_factory.mktemp("diverged")
    archive = write_aclimdb_archive(root / "synthetic.tar.gz", synthetic_reviews(40, 12, 0, seed=5))
    preprocess_stage.run(typed(compose_config(root / "work", "data=imdb", f"data.path={archive}", "preprocess.min_count=1")))
    return root / "work"


def train(workdir: Path, *overrides: str, learning_rate: float | None = None) -> RunMetrics:
    """A training run's metrics; ``learning_rate`` set past the config check (which refuses a non-finite one)."""
    config = typed(compose_config(workdir, *SMALL, *overrides))
    if learning_rate is not None:
        config = with_values(config, {"trainer.learning_rate": learning_rate})
    return training_stage.run(config).metrics


def test_a_run_that_blows_up_fails_naming_the_epoch_and_rate_and_the_finished_run_stays(workdir):
    taken = RunLayout(str(workdir / "runs" / "taken"))
    first = train(workdir, "trainer.learning_rate=0.01")
    finished = Path(taken.metrics).read_bytes()
    with pytest.raises(DivergedError, match=r"^training diverged in epoch 1 \(by step 4\): the training loss is nan at learning "
                                            r"rate inf \(trainer.learning_rate=inf\); lower it\. No checkpoint was saved before it$"):
        train(workdir, learning_rate=float("inf"))
    assert Path(taken.metrics).read_bytes() == finished, "the finished run of the other configuration is where it was"
    assert not (workdir / "kept-runs").exists()
    (pending,) = (workdir / "runs").glob(".taken.next-*")
    assert not (pending / "metrics.json").exists(), "no result: metrics.json marks a finished run"
    again = train(workdir, "trainer.learning_rate=0.01")
    assert again.wall_time_s == first.wall_time_s, "the finished run is still the result of its configuration"

    other = train(workdir, "trainer.learning_rate=0.02")  # a third configuration finishes: it takes the name
    assert read_json(taken.metrics)["learning_rate"] == other.learning_rate == 0.02
    (kept,) = (workdir / "kept-runs").glob("taken-*")
    assert (kept / "metrics.json").read_bytes() == finished
    assert not list((workdir / "runs").glob(".taken.next-*")), "the diverged run's folder was discarded, the finished one moved"


def test_a_blow_up_after_a_checkpoint_keeps_that_checkpoint(workdir, monkeypatch):
    """A weight turns NaN at the start of epoch 2: the run fails naming epoch 2, and state.json and the checkpoint of
    epoch 1 are what a resumed run starts from."""
    original = Controller._end_epoch

    def end_epoch_then_blow_up(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.state.epoch == 1:
            bias = self.model.trainable_variables[-1]
            bias.assign(bias * float("nan"))

    monkeypatch.setattr(Controller, "_end_epoch", end_epoch_then_blow_up)
    with pytest.raises(DivergedError, match=r"in epoch 2 \(by step 4\).*learning rate 0\.03 .*The last checkpoint before it is kept: (.*ckpt-\d+)$") as raised:
        train(workdir, "trainer.learning_rate=0.03", "trainer.epochs=3", "trainer.run_name=blows-up")
    run = RunLayout(str(workdir / "runs" / "blows-up"))
    state = read_json(run.state)
    assert state["epoch"] == 1 and state["step_in_epoch"] == 0 and not os.path.exists(run.metrics)
    assert str(raised.value).endswith(os.path.join(run.checkpoints, state["checkpoint"]))


def test_wf_predict_refuses_a_model_whose_output_is_not_a_number(workdir, tmp_path, capsys):
    """A model exported before this check existed, with a NaN weight: one error line, no ``nan negative`` rows."""
    train(workdir, "trainer.learning_rate=0.01", "trainer.run_name=to-poison")
    run = RunLayout(str(workdir / "runs" / "to-poison"))
    model = load_classifier(run.export)
    bias = model.trainable_variables[-1]
    bias.assign(bias * float("nan"))
    served = tmp_path / "serving"
    output = PreprocessOutput(str(workdir))
    export_text_model(model, [token for token, _ in output.vocabulary()], output.tokenizer(), 100, str(served))
    with pytest.raises(SystemExit, match=rf"^error: {served}: the model's output is not a number for 2 of 2 reviews: its training diverged"):
        predict.main([f"model={served}", "a superb film", "a dull one"])
    assert capsys.readouterr().out == ""
