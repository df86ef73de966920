"""A sweep exported to MLflow's SQLite store, read back with MlflowClient and MLflow's server:
the config as params, the facts' scalars per step and time, status and provenance as tags,
figures and summary as artifacts, every run marked, one record per run on a re-export."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.export_helpers import RUNS, STATUSES, facts_scalars, make_sweep, require_tracking
from tests.ui_helpers import free_port, post_json, served
from thesis_ml.facts import final_event, read_events
from thesis_ml.reports.__main__ import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    require_tracking()
    return make_sweep(tmp_path_factory.mktemp("mlflow"))


@pytest.fixture(scope="module")
def store(sweep) -> Path:
    assert main(["export", "--to", "mlflow", str(sweep)]) == 0
    return sweep / "mlflow.db"  # the default


def _client(db: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{db}")


def _records(db: Path, view=None) -> dict[str, list]:
    from mlflow.entities import ViewType

    client = _client(db)
    experiment = client.get_experiment_by_name("tiny")
    records: dict[str, list] = {}
    for run in client.search_runs(
        [experiment.experiment_id], run_view_type=view or ViewType.ACTIVE_ONLY
    ):
        records.setdefault(run.info.run_name, []).append(run)
    return records


def _flat(tree: dict, prefix: str = "") -> dict[str, str]:
    """cfg.yaml as MLflow params: dotted keys, strings as they are, the rest as JSON."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value if isinstance(value, str) else json.dumps(value)
    return flat


def test_one_experiment_named_after_the_sweep_with_its_artifacts_beside_the_store(sweep, store):
    experiment = _client(store).get_experiment_by_name("tiny")
    assert experiment.artifact_location == (sweep / "mlflow-artifacts").resolve().as_uri()
    assert not (sweep / "mlruns").exists() and not Path("mlruns").exists()
    assert set(_records(store)) == set(RUNS)  # every run, the diverged and killed ones too


def test_params_are_the_resolved_config(sweep, store):
    for name, (record,) in _records(store).items():
        config = yaml.safe_load((sweep / "runs" / name / "cfg.yaml").read_text())
        assert record.data.params == _flat(config), name


def test_metrics_are_the_facts_per_epoch_with_their_times(sweep, store):
    client = _client(store)
    for name, (record,) in _records(store).items():
        run_dir = sweep / "runs" / name
        ends = {e["epoch"]: e["time"] for e in read_events(run_dir) if e["event"] == "on_epoch_end"}
        expected = facts_scalars(run_dir, last_epoch=max(ends))
        for tag, values in expected.items():
            history = client.get_metric_history(record.info.run_id, tag)
            assert {m.step: m.value for m in history} == values, (name, tag)
            assert all(m.timestamp == round(ends[m.step] * 1000) for m in history), (name, tag)
        end = final_event(read_events(run_dir))
        headline = {k for k in record.data.metrics if k.startswith(("best/", "final/"))}
        if end is None:
            assert headline == set(), name
        else:
            assert record.data.metrics["best/test_loss"] == end["best"]["test_loss"]
            assert record.data.metrics["final/val_loss"] == end["final"]["val_loss"]


def test_status_and_provenance_are_tags_and_failed_runs_are_marked(sweep, store):
    for name, (record,) in _records(store).items():
        tags, status = record.data.tags, STATUSES[name]
        assert tags["thesis_ml.status"] == status
        succeeded = status in ("completed", "stopped_early")
        assert record.info.status == ("FINISHED" if succeeded else "FAILED"), name
        assert tags["thesis_ml.run_dir"] == str((sweep / "runs" / name).resolve())
        start = read_events(sweep / "runs" / name)[0]
        provenance = start["provenance"]
        assert tags["provenance.host"] == provenance["host"]
        assert json.loads(tags["provenance.command"]) == provenance["command"]
        assert record.info.start_time == round(start["time"] * 1000)
    records = _records(store)
    assert "divergence_factor" in records["diverged"][0].data.tags["thesis_ml.reason"]
    killed = [name for name, status in STATUSES.items() if status == "interrupted"]
    assert "no on_train_end record" in records[killed[0]][0].data.tags["thesis_ml.reason"]


def test_figures_and_summary_are_artifacts(sweep, store, tmp_path):
    client = _client(store)
    for name, (record,) in _records(store).items():
        run_dir = sweep / "runs" / name
        figures = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
        listed = [Path(a.path).name for a in client.list_artifacts(record.info.run_id, "figures")]
        assert sorted(listed) == figures, name
        end = final_event(read_events(run_dir))
        names = {a.path for a in client.list_artifacts(record.info.run_id)}
        assert ("summary.json" in names) == (end is not None), name
        if end is not None:
            local = client.download_artifacts(record.info.run_id, "summary.json", str(tmp_path))
            assert json.loads(Path(local).read_text()) == end


def test_exporting_again_keeps_one_record_per_run_and_replaces_only_changed_runs(sweep, tmp_path):
    copy = shutil.copytree(
        sweep, tmp_path / "results" / "tiny", ignore=shutil.ignore_patterns("mlflow*")
    )
    assert main(["export", "--to", "mlflow", str(copy)]) == 0
    first = {name: records[0].info.run_id for name, records in _records(copy / "mlflow.db").items()}
    assert main(["export", "--to", "mlflow", str(copy)]) == 0
    again = _records(copy / "mlflow.db")
    assert {name: [r.info.run_id for r in records] for name, records in again.items()} == {
        name: [run_id] for name, run_id in first.items()
    }
    with (copy / "runs" / "diverged" / "facts" / "events.jsonl").open("a") as events:
        events.write("\n")  # what a rerun that changed its facts leaves
    assert main(["export", "--to", "mlflow", str(copy)]) == 0
    replaced = _records(copy / "mlflow.db")
    assert {name: len(records) for name, records in replaced.items()} == dict.fromkeys(RUNS, 1)
    changed = {name for name, records in replaced.items() if records[0].info.run_id != first[name]}
    assert changed == {"diverged"}


@pytest.mark.slow
def test_mlflow_ui_lists_the_exported_runs(store, tmp_path):
    port = free_port()
    mlflow = Path(sys.executable).parent / "mlflow"  # the README's command
    command = [str(mlflow), "ui", "--backend-store-uri", f"sqlite:///{store}"]
    experiment_id = _client(store).get_experiment_by_name("tiny").experiment_id
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search"

    def listed() -> bool:
        runs = post_json(url, {"experiment_ids": [experiment_id]})["runs"]
        return {run["info"]["run_name"] for run in runs} == set(RUNS)

    # one worker, not four: each imports all of MLflow, slow on a 2-core test machine
    command += ["--workers", "1", "--port", str(port), "--host", "127.0.0.1"]
    with served(command, tmp_path / "ui.log") as ui:
        assert ui.wait_until(listed), ui.log()
