"""``python -m thesis_ml.train``: the seed's commands as written, and what bad input gets."""

from __future__ import annotations

import csv
import re
import shutil

import pytest
import torch

from thesis_ml.cli import EXIT_BAD_INPUT, run_cli
from thesis_ml.config import CONFIG_DIR
from thesis_ml.facts import final_event, read_events
from thesis_ml.models.mlp import build_mlp
from thesis_ml.run_directory import load_run_config
from thesis_ml.train import run_loop
from thesis_ml.train.__main__ import main

STAMP = re.compile(r"^\d{8}-\d{6}(-\d+)?$")


def _leftover_runs(directory) -> list:
    """Run directories (ephemeral or kept) in ``directory``; torch's own caches do not count."""
    return [p for p in directory.iterdir() if p.name.startswith(("thesis_ml-", "outputs"))]


@pytest.mark.slow
def test_default_command_trains_and_leaves_nothing_behind(run_train, tmp_path):
    done = run_train()
    assert done.returncode == 0, done.stderr
    epochs = re.findall(r"^epoch (\d+)/(\d+) ", done.stdout, flags=re.MULTILINE)
    assert epochs and len(epochs) == int(epochs[0][1])  # one line per epoch
    assert "status=completed" in done.stdout
    assert "run_dir: (ephemeral" in done.stdout
    assert not _leftover_runs(tmp_path)
    assert not _leftover_runs(tmp_path / "proc_tmp")


def test_binary_gelu_command_from_the_readme(run_train, tmp_path):
    done = run_train("trainer.epochs=10", "model.activation=gelu", "data.task=binary")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [f"{n}/10" for n in range(1, 11)]
    assert all("val_accuracy=" in line for line in lines)
    assert "test_accuracy_points=" in done.stdout  # the gap to the Bayes accuracy, on test


def test_persistent_run_writes_the_promised_run_directory(run_train, tmp_path):
    done = run_train("logging.save_artifacts=true", "trainer.epochs=5")
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "outputs").iterdir()
    assert STAMP.match(run_dir.name)
    assert f"run_dir: outputs/{run_dir.name}" in done.stdout

    cfg = load_run_config(run_dir / "cfg.yaml")
    assert cfg.trainer.epochs == 5 and cfg.logging.save_artifacts

    state = torch.load(run_dir / "model.pt", weights_only=True)
    model = build_mlp(cfg.model, cfg.data.n_features, 1)
    model.load_state_dict(state)  # strict: every tensor has its place

    assert (run_dir / "loss.png").read_bytes().startswith(b"\x89PNG")

    with (run_dir / "facts" / "scalars.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"epoch", "split", "val_loss", "epoch_time_s"} <= set(rows[0])
    assert [(row["epoch"], row["split"]) for row in rows] == [
        (str(epoch), split) for epoch in range(1, 6) for split in ("train", "val")
    ]
    assert all(float(row["epoch_time_s"]) > 0 for row in rows)
    assert all(float(row["val_loss"]) > 0 for row in rows if row["split"] == "val")

    events = read_events(run_dir)
    assert events[0]["event"] == "on_train_start"
    assert [e["epoch"] for e in events if e["event"] == "on_epoch_end"] == [1, 2, 3, 4, 5]
    end = final_event(events)
    assert end is events[-1]
    assert end["status"] == "completed"
    assert end["final"]["epoch"] == 5 and end["final"]["val_loss"] > 0
    assert end["best"]["val_loss"] <= end["final"]["val_loss"]
    assert end["wall_time_s"] > 0 and end["samples_per_s"] > 0
    assert end["n_params"] == sum(t.numel() for t in state.values())
    assert end["best"]["test_loss"] > 0 and end["final"]["test_loss"] > 0
    assert end["reference_kind"] == "optimum" and end["yardsticks"]["optimum"]["test_loss"] > 0
    assert {"val_loss_rel", "test_loss_rel"} <= set(end["gap"]["best"]["optimum"])


BAD_INPUT = [
    # (override, what the one message must contain: the key, then the allowed values)
    ("trainer.epoch=5", ["trainer.epoch", "epochs, eval_batch_size"]),
    ("trainer.epochs=ten", ["trainer.epochs", "integer >= 1"]),
    ("model.activation=foo", ["model.activation", "relu, gelu, tanh, silu"]),
    ("data.task=ranking", ["data.task", "regression, binary"]),
    ("data.train_frac=1.5", ["data.train_frac", "> 0 and < 1"]),
    ("trainer.epochs=-1", ["trainer.epochs", "integer >= 1"]),
    ("model=foo", ["model", "mlp"]),
    ("run_dir=${nowhere}", ["run_dir", "nowhere"]),
    ("trainer.loop=foo", ["trainer.loop", "supervised"]),
    # seeds beyond what numpy and scikit-learn take used to pass the schema and fail later
    ("trainer.seed=99999999999999999999", ["trainer.seed", "<= 4294967295"]),
    ("data.seed=4294967296", ["data.seed", "<= 4294967295"]),
    # malformed overrides: Hydra's parser or its defaults list raised from deep inside
    ("=3", ["'=3'", "no key before '='", "key=value"]),
    ("trainer.=3", ["'trainer.=3'", "'.' at column 8", "key=value"]),
    ("trainer.lr", ["'trainer.lr'", "missing EQUAL", "key=value"]),
    (
        "phase1/trainer=ae phase1/tokenizer=fsq phase1.tokenizer.bits=null "
        "phase1.tokenizer.levels=[1000,1000,1000,1000]",
        ["phase1.tokenizer.levels", "1000000000000 codes; at most 16777216"],
    ),
    # Hydra's app settings: the compose API drops them, so the run went elsewhere silently
    ("hydra.run.dir=out", ["hydra.run.dir", "do not apply", "run_dir=DIR"]),
]


@pytest.mark.parametrize(("override", "expected"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_one_message_and_no_run_directory(
    override, expected, tmp_path, monkeypatch, capsys, private_tmp
):
    monkeypatch.chdir(tmp_path)
    code = main(["logging.save_artifacts=true", *override.split(" ")])
    out, err = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line
    position = 0
    for part in expected:  # the key first, then the allowed values
        position = err.find(part, position)
        assert position >= 0, (part, err)
    assert not out
    assert not _leftover_runs(tmp_path) and not _leftover_runs(private_tmp)


@pytest.mark.parametrize(
    ("device", "missing"), [("mps", "backends.mps.is_available"), ("cuda:1", "cuda.device_count")]
)
def test_a_device_torch_cannot_reach_is_refused_before_the_run_directory(
    device, missing, tmp_path, monkeypatch, capsys, private_tmp
):
    # as on a machine without it, whatever this one has: mps absent, one CUDA device only
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(f"torch.{missing}", lambda: 1 if "count" in missing else False)
    monkeypatch.chdir(tmp_path)
    code = main(["logging.save_artifacts=true", f"trainer.device={device}"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert err.startswith(f"error: trainer.device: {device}, but torch") and err.count("\n") == 1
    assert not _leftover_runs(tmp_path) and not _leftover_runs(private_tmp)


@pytest.mark.parametrize("override", ["trainer.epoch=5", "trainer.loop=foo"])
def test_bad_input_exits_non_zero_from_the_command_line(run_train, tmp_path, override):
    done = run_train("logging.save_artifacts=true", override)
    assert done.returncode == EXIT_BAD_INPUT
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not _leftover_runs(tmp_path)


def test_yaml_syntax_error_in_the_config_dir_is_one_message_naming_the_file(
    tmp_path, monkeypatch, capsys
):
    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    broken = configs / "model" / "mlp.yaml"
    broken.write_text("hidden_sizes: [64, 64\nactivation: relu\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = run_cli(
        "python -m thesis_ml.train",
        "test",
        action=lambda cfg, _: run_loop(cfg),
        argv=["logging.save_artifacts=true"],
        config_dir=configs,
    )
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert err.startswith(f"error: {broken}:") and "YAML syntax error" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "outputs").exists()


def test_help_lists_the_config_groups_and_their_options(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    for group, option in (("data", "synthetic"), ("model", "mlp"), ("trainer", "default")):
        assert re.search(rf"^\s+{group}\s+.*{option}", out, flags=re.MULTILINE), out
