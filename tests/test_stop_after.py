"""trainer.stop_after_epochs: a run paused at an epoch of its schedule and continued later (in
its own directory or in another one, as a search's rungs do) equals a run trained straight
through, bit for bit."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TINY
from tests.run_helpers import assert_same_run, untimed_scalars
from thesis_ml.config import ConfigError, compose, to_plain_dict
from thesis_ml.facts import final_event, read_events
from thesis_ml.pipeline.__main__ import main as pipeline_main
from thesis_ml.run_directory import CHECKPOINT_FILE
from thesis_ml.train import run_loop
from thesis_ml.train.checkpoint import config_digest, seed_checkpoint

VQ = ("phase1/trainer=ae", "phase1/tokenizer=vq", "data=reconstruction")
LOOPS = {"supervised-dropout": ("model.dropout=0.2",), "vq-autoencoder": VQ}
# A cosine schedule over all 6 epochs: a pause must not shorten it to the epochs trained so far.
BASE = (*TINY, "trainer.epochs=6", "trainer.lr_schedule=cosine", "trainer.checkpoint_every=0")


def _train(run_dir, *overrides):
    return run_loop(compose([*BASE, *overrides, f"run_dir={run_dir}"]))


def _digest(*overrides) -> str:
    return config_digest(to_plain_dict(compose([*BASE, *overrides])))


@pytest.mark.parametrize("overrides", LOOPS.values(), ids=LOOPS)
def test_rungs_in_their_own_directories_equal_a_straight_run(tmp_path, overrides):
    straight = tmp_path / "straight"
    _train(straight, *overrides)
    rungs = [tmp_path / f"rung-{k}" for k in range(3)]
    for index, (run_dir, stop) in enumerate(zip(rungs, ("2", "4", "null"), strict=True)):
        if index:
            seed_checkpoint(rungs[index - 1], run_dir, _digest(*overrides))
        _train(run_dir, *overrides, f"trainer.stop_after_epochs={stop}")
    for run_dir, epochs in zip(rungs[:2], (2, 4), strict=True):
        end = final_event(read_events(run_dir))
        assert (end["status"], end["epochs"]) == ("paused", epochs)
        assert "stop_after_epochs" in end["reason"] and (run_dir / CHECKPOINT_FILE).is_file()
        # the paused run's epochs are the straight run's first ones
        assert untimed_scalars(run_dir) == untimed_scalars(straight)[: 2 * epochs]
    assert_same_run(rungs[2], straight)


def test_a_paused_run_continues_in_place_and_a_finished_one_is_still_refused(tmp_path):
    straight, run_dir = tmp_path / "straight", tmp_path / "run"
    _train(straight)
    _train(run_dir, "trainer.stop_after_epochs=3")
    _train(run_dir)  # no refusal: a paused run with its checkpoint goes on
    assert_same_run(run_dir, straight)
    with pytest.raises(ConfigError, match="holds a finished run"):
        _train(run_dir, "trainer.stop_after_epochs=3")


def test_a_kill_between_the_pause_checkpoint_and_the_end_record_trains_again(tmp_path, capsys):
    """The checkpoint at the stop epoch has nothing left to resume: the rerun starts over and
    reaches the same run (rather than ending with no epoch trained)."""
    paused, rerun = tmp_path / "paused", tmp_path / "rerun"
    _train(paused, "trainer.stop_after_epochs=3")
    seed_checkpoint(paused, rerun, _digest())
    _train(rerun, "trainer.stop_after_epochs=3")
    assert "the checkpoint is at the stop; training again" in capsys.readouterr().err
    assert untimed_scalars(rerun) == untimed_scalars(paused)
    assert final_event(read_events(rerun))["status"] == "paused"


def test_the_stop_is_not_part_of_the_run_identity():
    plain = to_plain_dict(compose(list(BASE)))
    stopped = to_plain_dict(compose([*BASE, "trainer.stop_after_epochs=2"]))
    assert config_digest(plain) == config_digest(stopped)
    assert config_digest(plain) != config_digest(to_plain_dict(compose([*BASE, "trainer.lr=0.1"])))


def test_resume_from_a_directory_without_a_checkpoint_names_it(tmp_path, tiny_cfg, capsys):
    config = json.dumps(to_plain_dict(tiny_cfg()))
    data = tmp_path / "data.pt"
    args = ["train", "--config-json", config, "--data", str(data), "--run-dir", str(tmp_path / "r")]
    assert pipeline_main([*args, "--resume-from", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert f"--resume-from {tmp_path / 'nowhere'}: no {CHECKPOINT_FILE} there" in err
    assert "Traceback" not in err and not (tmp_path / "r").exists()


def test_a_checkpoint_of_another_config_is_not_continued(tmp_path):
    paused = tmp_path / "paused"
    _train(paused, "trainer.stop_after_epochs=2")
    with pytest.raises(ConfigError, match="written under another config than this run's"):
        seed_checkpoint(paused, tmp_path / "next", _digest("trainer.lr=0.1"))
    assert not (tmp_path / "next").exists()
    cfg_before = (paused / "cfg.yaml").read_bytes()
    with pytest.raises(ConfigError, match="holds a paused run of another config"):
        _train(paused, "trainer.lr=0.1")
    assert (paused / "cfg.yaml").read_bytes() == cfg_before
    assert (paused / CHECKPOINT_FILE).is_file()
    _train(paused, "trainer.lr=0.1", "overwrite_run_dir=true")  # asked for: replaced whole
    assert final_event(read_events(paused))["status"] == "completed"
