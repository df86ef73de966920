"""Faults inside one run: divergence, kills and resume, and hostile input to every reader."""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY
from tests.run_helpers import assert_same_run, weights
from thesis_ml.config import ConfigError, compose
from thesis_ml.facts import FactsError, final_event, read_events, read_scalars
from thesis_ml.reports import build_report
from thesis_ml.run_directory import (
    CHECKPOINT_FILE,
    ModelFileError,
    load_model,
    load_run_config,
)
from thesis_ml.train import ae_loop, run_loop, train_test
from thesis_ml.train.outcome import divergence

SRC = Path(__file__).resolve().parents[1] / "src"
EPOCHS = 60
# A run that takes a few seconds, with a checkpoint after every epoch.
RESUMABLE = (
    "data.n_samples=2048",
    "model.hidden_sizes=[32]",
    f"trainer.epochs={EPOCHS}",
    "trainer.checkpoint_every=1",
    "logging.quiet=true",
    "logging.make_plots=false",
)
VQ = ("phase1/trainer=ae", "phase1/tokenizer=vq", "data=reconstruction", "data.n_samples=512")


def _train_command(run_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "thesis_ml.train", f"run_dir={run_dir}", *overrides]


# --- divergence ------------------------------------------------------------------------------


def test_exploding_learning_rate_ends_the_run_as_diverged_with_its_outputs(tmp_path):
    result = run_loop(compose([*TINY, "trainer.lr=1e6", f"run_dir={tmp_path}"]))
    assert result["status"] == "diverged" and "divergence_factor" in result["reason"]
    end = final_event(read_events(tmp_path))
    assert end["status"] == "diverged" and end["epochs"] == 1 == end["final"]["epoch"]
    assert end["reason"] == result["reason"]
    assert (tmp_path / "model.pt").is_file() and (tmp_path / "cfg.yaml").is_file()
    assert [row["epoch"] for row in read_scalars(tmp_path)] == [1, 1]


@pytest.mark.parametrize(
    ("loss", "reference", "factor", "diverged"),
    [
        (math.nan, 1.0, None, True),
        (math.inf, 1.0, 1e3, True),
        (2000.0, 1.0, 1e3, True),
        (999.0, 1.0, 1e3, False),
        (1e30, 1.0, None, False),
    ],
)
def test_divergence_rule(loss, reference, factor, diverged):
    assert bool(divergence(loss, reference, factor)) is diverged


def test_nan_loss_stops_the_run_even_with_the_factor_off(tmp_path, monkeypatch):
    real = train_test.train_one_epoch
    calls = []

    def poisoned(*args, **kwargs):
        calls.append(1)
        metrics = real(*args, **kwargs)
        return {**metrics, "loss": math.nan} if len(calls) == 2 else metrics

    monkeypatch.setattr(train_test, "train_one_epoch", poisoned)
    cfg = compose(
        [*TINY, "trainer.epochs=4", "trainer.divergence_factor=null", f"run_dir={tmp_path}"]
    )
    result = run_loop(cfg)
    assert (result["status"], result["epochs"], len(calls)) == ("diverged", 2, 2)
    assert "nan" in result["reason"]


def test_cli_exits_zero_and_says_diverged(run_train, tmp_path):
    result = run_train(*TINY, "trainer.lr=1e6", f"run_dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr
    assert "status=diverged" in result.stdout
    assert "diverged at epoch 1" in result.stderr


def test_reports_and_figures_mark_a_really_diverged_run(tmp_path):
    good, bad = tmp_path / "runs" / "good", tmp_path / "runs" / "bad"
    plots = ("logging=plots_minimal", "logging.quiet=true")
    run_loop(compose([*TINY[:3], *plots, f"run_dir={good}"]))
    run_loop(compose([*TINY[:3], *plots, "trainer.lr=1e6", f"run_dir={bad}"]))
    build_report([good, bad], tmp_path / "report")
    summary = (tmp_path / "report/summary.csv").read_text().splitlines()
    rows = {row["run_id"]: row for row in csv.DictReader(summary)}
    assert rows["bad"]["status"] == "diverged" and rows["good"]["status"] == "completed"
    from thesis_ml.plots.__main__ import main as plots_main

    assert plots_main([str(bad)]) == 0
    assert any((bad / "figures").iterdir())


# --- checkpoints and resume ------------------------------------------------------------------


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    subprocess.run(_train_command(run_dir, *RESUMABLE), check=True, capture_output=True)
    return run_dir


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigkilled_run_resumes_bit_identically(tmp_path, uninterrupted, seed):
    """SIGKILL at a random moment after the first checkpoint; the rerun continues from it."""
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        _train_command(run_dir, *RESUMABLE), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    rng = random.Random(seed)
    target = rng.randint(2, EPOCHS - 5)
    _wait_for_epoch(run_dir, target, process)
    time.sleep(rng.uniform(0, 0.05))  # somewhere inside the next epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    rerun = subprocess.run(
        _train_command(run_dir, *RESUMABLE), capture_output=True, text=True, check=True
    )
    assert re.search(r"resuming .* after epoch \d+", rerun.stderr)
    assert_same_run(run_dir, uninterrupted)


def _wait_for_epoch(run_dir: Path, epoch: int, process: subprocess.Popen) -> None:
    scalars = run_dir / "facts" / "scalars.csv"
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None:
        if scalars.exists() and scalars.read_text().count("\n") >= 1 + 2 * epoch:
            return
        time.sleep(0.005)


def _interrupt_at(monkeypatch, module, epoch: int) -> None:
    """Make ``module.evaluate`` raise in ``epoch`` (counting the pre-training pass as 0)."""
    real, calls = module.evaluate, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == epoch + 1:
            raise RuntimeError("injected fault")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "evaluate", failing)


@pytest.mark.parametrize(
    ("module", "overrides"),
    [(train_test, ("model.dropout=0.2",)), (ae_loop, VQ)],
    ids=["supervised-dropout", "vq-autoencoder"],
)
def test_both_loops_resume_bit_identically_after_an_exception(
    tmp_path, monkeypatch, module, overrides
):
    base = [*TINY, "trainer.epochs=5", "trainer.checkpoint_every=2", *overrides]
    reference = tmp_path / "reference"
    run_loop(compose([*base, f"run_dir={reference}"]))
    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        _interrupt_at(patch, module, 4)
        with pytest.raises(RuntimeError, match="injected fault"):
            run_loop(compose([*base, f"run_dir={run_dir}"]))
    assert (run_dir / CHECKPOINT_FILE).is_file()
    assert max(row["epoch"] for row in read_scalars(run_dir)) == 3  # past the checkpoint
    run_loop(compose([*base, f"run_dir={run_dir}"]))
    assert_same_run(run_dir, reference)


def test_checkpoint_of_another_config_is_not_resumed(tmp_path, monkeypatch, capsys):
    base = [*TINY, "trainer.epochs=4", "trainer.checkpoint_every=1", f"run_dir={tmp_path / 'run'}"]
    with monkeypatch.context() as patch:
        _interrupt_at(patch, train_test, 3)
        with pytest.raises(RuntimeError):
            run_loop(compose(base))
    result = run_loop(compose([*base, "trainer.lr=0.01"]))
    assert "written under a different config; starting the run over" in capsys.readouterr().err
    fresh = run_loop(compose([*base[:-1], "trainer.lr=0.01", f"run_dir={tmp_path / 'fresh'}"]))
    assert result["history"] == fresh["history"]


def test_damaged_checkpoint_starts_the_run_over(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / CHECKPOINT_FILE).write_bytes(b"\x80\x02 not a checkpoint")
    result = run_loop(compose([*TINY, f"run_dir={run_dir}"]))
    assert result["status"] == "completed" and "unreadable" in capsys.readouterr().err


# torch.load warns that the hostile file uses pickle protocol 4 before it refuses the payload.
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_checkpoint_refuses_code_in_the_pickle(tmp_path, capsys):
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / CHECKPOINT_FILE).write_bytes(pickle.dumps(Payload()))
    run_loop(compose([*TINY, f"run_dir={run_dir}"]))
    assert not (tmp_path / "PWNED").exists()
    assert "unreadable" in capsys.readouterr().err


# --- hostile run directories -----------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    run_loop(compose([*TINY, "logging=plots_minimal", "logging.quiet=true", f"run_dir={run_dir}"]))
    return run_dir


def _copy(run_dir: Path, destination: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run_dir, destination / "run"))


def _cut_scalars(run: Path) -> str:
    path = run / "facts/scalars.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + ",".join(lines[2].split(",")[:3]) + "\n")
    return "scalars.csv:3"


def _cut_event(run: Path) -> str:
    path = run / "facts/events.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[1][: len(lines[1]) // 2] + "\n" + "".join(lines[2:]))
    return "events.jsonl:2"


def _non_utf8(run: Path) -> str:
    path = run / "facts/events.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"event"', b'"\xff\xfevent"')
    path.write_bytes(b"\n".join(lines))
    return "events.jsonl:2"


def _empty_scalars(run: Path) -> str:
    (run / "facts/scalars.csv").write_text("")
    return "scalars.csv: empty"


def _directory_for_events(run: Path) -> str:
    (run / "facts/events.jsonl").unlink()
    (run / "facts/events.jsonl").mkdir()
    return "events.jsonl: a directory, not a file"


def _bad_cfg(run: Path) -> str:
    (run / "cfg.yaml").write_text("trainer: {epochs: [unclosed\n")
    return "cfg.yaml:2:1: YAML syntax error"  # one line, with line and column


def _wrongly_typed_end(run: Path) -> str:
    path = run / "facts/events.jsonl"
    lines = path.read_text().splitlines()
    end = json.loads(lines[-1])
    end["epochs"] = str(end["epochs"])  # the readers compute with it
    path.write_text("\n".join([*lines[:-1], json.dumps(end)]) + "\n")
    return f"events.jsonl:{len(lines)}: on_train_end: 'epochs'"


def _beyond_float32(run: Path) -> str:
    path = run / "facts/scalars.csv"
    header, first, *rest = path.read_text().splitlines()
    cells = first.split(",")
    cells[header.split(",").index("loss")] = "1e308"  # matplotlib's ticks overflow on it
    path.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    return "scalars.csv:2: column 'loss'"


DAMAGES = [
    _cut_scalars,
    _cut_event,
    _non_utf8,
    _empty_scalars,
    _directory_for_events,
    _bad_cfg,
    _wrongly_typed_end,
    _beyond_float32,
]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__.strip("_"))
def test_damaged_run_dir_is_one_named_error_and_nothing_written(trained, tmp_path, damage, capsys):
    from thesis_ml.plots.__main__ import main as plots_main
    from thesis_ml.reports.__main__ import main as reports_main

    run = _copy(trained, tmp_path)
    named = damage(run)
    before = sorted(p for p in run.rglob("*"))
    report_dir = tmp_path / "report"
    args = [f"inputs.run_dirs=[{run}]", f"outputs.out_dir={report_dir}"]
    assert reports_main(["--config-name", "compare_tokenizers", *args]) != 0
    report_err = capsys.readouterr().err
    if damage is not _bad_cfg:  # re-rendering reads cfg.yaml first; the report reads both
        assert plots_main([str(run), "logging.make_plots=true"]) != 0
        plots_err = capsys.readouterr().err
        assert named in plots_err and "Traceback" not in plots_err
    assert named in report_err and "Traceback" not in report_err
    assert not report_dir.exists()
    assert sorted(p for p in run.rglob("*")) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "cannot load weights"),
        (b"garbage that is no zip", "cannot load weights"),
        (None, "not a state dict"),
        ("other", "does not fit"),
    ],
)
def test_load_model_rejects_what_is_not_the_runs_state_dict(trained, tmp_path, content, message):
    run = _copy(trained, tmp_path)
    if content is None:
        torch.save([1, 2, 3], run / "model.pt")
    elif content == "other":
        torch.save({"weight": torch.zeros(2)}, run / "model.pt")
    else:
        (run / "model.pt").write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as error:
        load_model(run)
    assert str(run / "model.pt") in str(error.value)


def test_weights_that_carry_code_are_refused_without_advice_to_run_it(trained, tmp_path):
    run = _copy(trained, tmp_path)
    torch.save({"weight": torch.zeros(2), "hook": print}, run / "model.pt")  # print: any callable
    with pytest.raises(ModelFileError) as error:
        load_model(run)
    message = str(error.value)
    assert message.startswith(f"{run / 'model.pt'}: cannot load weights (it holds Python objects")
    assert "weights_only" not in message and "\x1b" not in message


def test_load_model_rebuilds_the_trained_model(trained, tmp_path):
    model = load_model(trained)
    state = weights(trained)
    assert all(torch.equal(model.state_dict()[k], state[k]) for k in state)
    vq_run = tmp_path / "vq"
    run_loop(compose([*TINY, *VQ, f"run_dir={vq_run}"]))
    assert load_model(vq_run).tokenizer.codebook_size > 0


def test_load_model_names_a_bad_config(trained, tmp_path):
    run = _copy(trained, tmp_path)
    text = (run / "cfg.yaml").read_text().replace("epochs: 2", "epochs: -1")
    (run / "cfg.yaml").write_text(text)
    with pytest.raises(ConfigError, match="trainer.epochs"):
        load_run_config(run / "cfg.yaml")
    with pytest.raises(ConfigError, match="trainer.epochs"):
        load_model(run)


def test_facts_readers_name_the_line_of_a_cut_record(trained, tmp_path):
    run = _copy(trained, tmp_path)
    _cut_event(run)
    with pytest.raises(FactsError, match=r"events.jsonl:2"):
        read_events(run)


# --- hostile configs and safe loading --------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("trainer.epoch=3", "trainer.epoch"),
        ("trainer.epochs=three", "trainer.epochs"),
        ("trainer.checkpoint_every=-1", "trainer.checkpoint_every"),
        ("trainer.divergence_factor=0.5", "trainer.divergence_factor"),
        ("model=nonexistent", "model"),
        ("trainer.lr=${nowhere.at_all}", "nowhere"),
    ],
)
def test_bad_config_is_one_message_naming_the_key(run_train, tmp_path, override, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        compose([override])
    result = run_train(override, f"run_dir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and named in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_source_uses_only_safe_loading():
    """No eval/exec, no unsafe YAML loader, every torch.load weights-only."""
    offences = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            code = line.split("#")[0]
            if re.search(r"(?<![.\w])(eval|exec)\(", code):
                offences.append(f"{path}:{number}: {line.strip()}")
            if re.search(r"yaml\.(unsafe_load|full_load|load)\(", code) and "SafeLoader" not in (
                text
            ):
                offences.append(f"{path}:{number}: {line.strip()}")
            if "yaml.Loader" in code or "yaml.UnsafeLoader" in code or "FullLoader" in code:
                offences.append(f"{path}:{number}: {line.strip()}")
            if "torch.load(" in code and "weights_only=True" not in line:
                offences.append(f"{path}:{number}: {line.strip()}")
            if "pickle.load" in code:
                offences.append(f"{path}:{number}: {line.strip()}")
    assert not offences, "\n".join(offences)


# The atomic writer itself and the facts writer, whose per-epoch appends cannot be atomic.
APPENDERS = {"thesis_ml/utils/io.py", "thesis_ml/facts/writer.py"}
WRITE_CALLS = re.compile(
    r"\.write_text\(|\.write_bytes\(|\.savefig\(|torch\.save\(|\.to_csv\(|json\.dump\("
)


def test_every_file_write_goes_through_atomic_write():
    """Whole-file writes appear only inside an ``atomic_write`` block (or write to a handle
    it opened); the facts writer's per-epoch appends are the one intended exception."""
    offences = []
    for path in SRC.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            code = line.split("#")[0]
            opens = re.search(r"\bopen\(|\.open\(", code)
            writes = re.search(r"[\"'][wa]b?[\"']|mode", code)
            if opens and writes and path.relative_to(SRC).as_posix() not in APPENDERS:
                offences.append(f"{path}:{number}: {line.strip()}")
            if WRITE_CALLS.search(code):
                window = "\n".join(lines[max(0, number - 6) : number + 2])
                if "atomic_write" not in window and not re.search(r"handle|buffer", window):
                    offences.append(f"{path}:{number}: {line.strip()}")
    assert not offences, "\n".join(offences)
