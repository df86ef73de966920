"""``python -m thesis_ml.reports export``: bad input is one line naming the culprit and exit 2,
and the pipeline's opt-in ``export:`` rules, run with real Snakemake, rerun precisely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.export_helpers import TINY_RUN, make_sweep, require_tracking
from tests.test_import_graph import PACKAGE, _imported
from tests.workflow_helpers import (
    CONFIGFILE,
    TINY_SWEEP,
    copy_workflow,
    planned_jobs,
    snakemake,
    write_sweep,
)
from thesis_ml.export import HPARAMS_EVENT_FILE, RUN_EVENT_FILE
from thesis_ml.pipeline.import_graph import import_graph
from thesis_ml.reports.__main__ import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    return make_sweep(tmp_path_factory.mktemp("cli"))


def _one_error_line(capsys, argv: list[str]) -> str:
    assert main(["export", *argv]) == 2
    printed = capsys.readouterr()
    lines = printed.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), printed.err
    assert "Traceback" not in printed.err and printed.out == ""
    return lines[0]


def test_a_path_that_is_no_directory_is_named(capsys, tmp_path):
    missing = tmp_path / "results" / "nowhere"
    line = _one_error_line(capsys, ["--to", "tensorboard", str(missing)])
    assert f"{missing}: no such directory" in line


def test_a_directory_without_runs_is_named(capsys, tmp_path):
    line = _one_error_line(capsys, ["--to", "mlflow", str(tmp_path)])
    assert f"{tmp_path}: no run directories below it" in line


def test_an_unknown_target_names_the_choices(capsys, sweep):
    line = _one_error_line(capsys, ["--to", "wandb", str(sweep)])
    assert "--to: invalid choice: 'wandb'" in line and "tensorboard" in line and "mlflow" in line


def test_options_of_the_wrong_target_are_named(capsys, sweep):
    assert "--only runs" in _one_error_line(
        capsys, ["--to", "mlflow", "--only", "runs", str(sweep)]
    )
    line = _one_error_line(capsys, ["--to", "mlflow", "--out", "http://host:5000", str(sweep)])
    assert "--out http://host:5000: expected sqlite:///PATH" in line


@pytest.mark.parametrize(
    ("target", "package"), [("tensorboard", "tensorboard"), ("mlflow", "mlflow")]
)
def test_a_missing_extra_is_one_message_naming_it(capsys, monkeypatch, sweep, target, package):
    monkeypatch.setitem(sys.modules, package, None)  # `import package` now fails
    monkeypatch.delitem(sys.modules, f"thesis_ml.export.{_module(target)}", raising=False)
    line = _one_error_line(capsys, ["--to", target, str(sweep)])
    assert f"export --to {target} needs the tracking extra" in line
    assert "pip install -e '.[tracking]'" in line
    assert not (sweep / "tensorboard").exists() and not (sweep / "mlflow.db").exists()


def _module(target: str) -> str:
    return {"tensorboard": "tensorboard", "mlflow": "mlflow_store"}[target]


def test_a_damaged_facts_file_is_named_with_its_line(capsys, tmp_path, sweep):
    run_dir = tmp_path / "damaged"
    (run_dir / "facts").mkdir(parents=True)
    source = sweep / "runs" / "activation-relu__seed-0"
    (run_dir / "cfg.yaml").write_bytes((source / "cfg.yaml").read_bytes())
    (run_dir / "facts" / "scalars.csv").write_bytes((source / "facts/scalars.csv").read_bytes())
    lines = (source / "facts" / "events.jsonl").read_text().splitlines(keepends=True)
    lines[1] = lines[1][: len(lines[1]) // 2] + "\n"  # a record cut in the middle of the file
    (run_dir / "facts" / "events.jsonl").write_text("".join(lines))
    line = _one_error_line(capsys, ["--to", "tensorboard", str(run_dir)])
    assert f"{run_dir / 'facts' / 'events.jsonl'}:2: not a JSON object" in line


def test_a_run_that_never_started_is_named(capsys, tmp_path):
    run_dir = tmp_path / "never"
    (run_dir / "facts").mkdir(parents=True)
    (run_dir / "facts" / "events.jsonl").write_text("")
    line = _one_error_line(capsys, ["--to", "tensorboard", str(run_dir)])
    assert "events.jsonl: no on_train_start record" in line


def test_the_command_as_typed_exits_2_with_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "thesis_ml.reports", "export", "--to", "tensorboard", "nowhere"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: nowhere: no such directory (expected a sweep directory results/<sweep> or a run "
        "directory)"
    ]


# The tiny pipeline sweep, one seed, with both exports on.
EXPORT_SWEEP = {
    **TINY_SWEEP,
    "overrides": [*TINY_SWEEP["overrides"], *TINY_RUN[:2]],
    "seeds": [0],
    "export": ["tensorboard", "mlflow"],
}


@pytest.mark.slow
def test_pipeline_exports_once_and_a_changed_run_reexports_only_its_tensorboard_dir(tmp_path):
    require_tracking()
    workdir = copy_workflow(tmp_path / "workflow")
    write_sweep(workdir, EXPORT_SWEEP)
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    results = workdir / "results" / "tiny"
    board = results / "tensorboard"
    names = sorted(p.name for p in board.iterdir() if p.is_dir())
    assert names == ["activation-relu__seed-0", "activation-tanh__seed-0"]
    assert (board / HPARAMS_EVENT_FILE).is_file() and (results / "mlflow.db").is_file()
    assert planned_jobs(workdir, *CONFIGFILE) == {}

    changed, other = (board / name / RUN_EVENT_FILE for name in names)
    before = other.stat().st_mtime_ns
    with (results / "runs" / names[0] / "facts" / "events.jsonl").open("a") as events:
        events.write("\n")  # new content, as a rerun leaves (a bare touch is no change to it)
    expected = {
        "render_run": 1,
        "export_tensorboard_run": 1,
        "export_tensorboard_hparams": 1,
        "export_mlflow": 1,
        "build_report": 1,
        "all": 1,
    }
    assert planned_jobs(workdir, *CONFIGFILE) == expected
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    assert other.stat().st_mtime_ns == before and changed.is_file()
    assert planned_jobs(workdir, *CONFIGFILE) == {}


@pytest.mark.slow
def test_export_is_off_unless_the_sweep_asks(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    write_sweep(workdir, {**EXPORT_SWEEP, "export": []})
    assert not {rule for rule in planned_jobs(workdir, *CONFIGFILE) if rule.startswith("export")}


# The export steps of STEP_ENTRIES in rules/common.smk: what their rules' command runs.
EXPORT_STEP_ENTRIES = {
    "tensorboard": ["thesis_ml.reports.__main__", "thesis_ml.export.tensorboard"],
    "mlflow": ["thesis_ml.reports.__main__", "thesis_ml.export.mlflow_store"],
}


@pytest.mark.slow
def test_each_export_step_imports_only_modules_of_its_static_closure(sweep, tmp_path):
    """Its sources (rules/sources.smk) are its entries' import closure: an export run for real
    imports nothing outside it, and neither target's module is the other's source."""
    require_tracking()
    graph = import_graph(PACKAGE)
    for target, entries in EXPORT_STEP_ENTRIES.items():
        out = ["--out", str(tmp_path / target / ("mlflow.db" if target == "mlflow" else ""))]
        imported = _imported(
            tmp_path, "thesis_ml.reports", "export", "--to", target, *out, str(sweep)
        )
        closure = graph.closure(entries)
        assert imported <= closure, f"{target} imports outside its closure: {imported - closure}"
        other = EXPORT_STEP_ENTRIES["mlflow" if target == "tensorboard" else "tensorboard"][1]
        assert other not in closure


@pytest.mark.parametrize("taken", ["directory", "text file"])
def test_an_mlflow_store_path_taken_by_something_else_is_named(capsys, tmp_path, sweep, taken):
    out = tmp_path / "store.db"
    if taken == "directory":
        out.mkdir()
    else:
        out.write_text("notes, not a database\n")
    line = _one_error_line(capsys, ["--to", "mlflow", "--out", str(out), str(sweep)])
    expected = (
        "a directory, where a file is to be written"
        if taken == "directory"
        else ("not an SQLite database")
    )
    assert line.startswith(f"error: {out}: {expected}"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.db"]  # nothing half-made


def test_a_wrongly_typed_end_record_is_named_before_the_store_is_made(capsys, tmp_path, sweep):
    source = sweep / "runs" / "activation-relu__seed-0"
    run_dir = tmp_path / "edited"
    run_dir.mkdir()
    (run_dir / "cfg.yaml").write_bytes((source / "cfg.yaml").read_bytes())
    (run_dir / "facts").mkdir()
    (run_dir / "facts" / "scalars.csv").write_bytes((source / "facts/scalars.csv").read_bytes())
    lines = (source / "facts" / "events.jsonl").read_text().splitlines()
    end = json.loads(lines[-1])
    end["best"]["epoch"] = str(end["best"]["epoch"])  # the export computes with it
    lines[-1] = json.dumps(end)
    (run_dir / "facts" / "events.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "store" / "mlflow.db"
    line = _one_error_line(capsys, ["--to", "mlflow", "--out", str(out), str(run_dir)])
    assert f"events.jsonl:{len(lines)}: on_train_end: 'best' is" in line
    assert not out.parent.exists()
