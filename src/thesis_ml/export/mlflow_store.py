"""MLflow records of runs, written from their facts into a SQLite tracking store.

One experiment per sweep, named after it, whose artifacts go beside the store (not to
``./mlruns``); one MLflow run per run directory, named after it, with the resolved config as
params (dotted keys), every per-epoch scalar as a metric (``val/val_loss``, step = epoch,
timestamp = the time that epoch ended), the headline numbers (``best/test_loss``, ...), the
status and provenance as tags, and the figures and the ``on_train_end`` record
(``summary.json``) as artifacts. A run that did not run as asked (diverged, interrupted) is
FAILED, its tag ``thesis_ml.status`` saying which.

A re-export finds a run's earlier record by its name: one whose facts digest tag matches is
kept as it is, any other is deleted (MLflow's soft delete, which ``mlflow gc`` purges) and the
run written anew, so there is one record per run. SQLite takes one writer: one process exports.
"""

# MLflow reads its telemetry switch when it is first imported: it is set before the imports.
# ruff: noqa: E402

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

# Exports are local copies of local files: nothing about them goes to MLflow's usage servers.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow.entities import Metric, Param, RunStatus, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VAL_LENGTH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_TAG_VAL_LENGTH,
)

from thesis_ml.export import SQLITE, ExportError
from thesis_ml.export.runs import ExportRun
from thesis_ml.utils.io import prepare_file_path

ARTIFACTS_DIR = "mlflow-artifacts"  # beside the store's file
STATUS_TAG = "thesis_ml.status"
REASON_TAG = "thesis_ml.reason"
RUN_DIR_TAG = "thesis_ml.run_dir"
DIGEST_TAG = "thesis_ml.facts_sha256"
PROVENANCE_PREFIX = "provenance."
GIT_COMMIT_TAG = "mlflow.source.git.commit"  # MLflow shows it on the run's page
# The UI opens an experiment of this kind on its runs table, not on the GenAI traces overview.
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
SUMMARY_ARTIFACT = "summary.json"
FIGURES_ARTIFACTS = "figures"


def export_mlflow(runs: Sequence[ExportRun], db: Path, experiment: str) -> dict[str, str]:
    """Write the runs into the store ``db`` under ``experiment``; run name -> what was done
    (``new``, ``replaced`` or ``unchanged``)."""
    try:
        prepare_file_path(db)
        _refuse_other_files(db)
        client = MlflowClient(tracking_uri=f"{SQLITE}{db}")
        experiment_id = _experiment_id(client, experiment, db.parent / ARTIFACTS_DIR)
        records = _records_by_name(client, experiment_id)
        done = {}
        for run in runs:
            earlier = records.get(run.name, [])
            digest = run.digest()
            if [record.data.tags.get(DIGEST_TAG) for record in earlier] == [digest]:
                done[run.name] = "unchanged"
                continue
            for record in earlier:
                client.delete_run(record.info.run_id)
            _log_run(client, experiment_id, run, digest)
            done[run.name] = "replaced" if earlier else "new"
    except (OSError, MlflowException) as error:
        raise ExportError(f"{db}: cannot write the MLflow store ({error})") from None
    return done


SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database


def _refuse_other_files(db: Path) -> None:
    """An existing file that is no SQLite database (a store is one) is refused before MLflow
    would try to migrate it, which fails deep in SQLAlchemy."""
    if db.is_file() and db.stat().st_size:
        with db.open("rb") as handle:
            if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                raise ExportError(
                    f"{db}: not an SQLite database, so no MLflow store; name a new file or a store"
                )


def _experiment_id(client: MlflowClient, name: str, artifacts: Path) -> str:
    artifacts.mkdir(parents=True, exist_ok=True)  # also when no run has an artifact
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(
            name, artifact_location=artifacts.resolve().as_uri(), tags=EXPERIMENT_TAGS
        )
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _records_by_name(client: MlflowClient, experiment_id: str) -> dict[str, list]:
    records: dict[str, list] = {}
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], run_view_type=ViewType.ACTIVE_ONLY, page_token=token
        )
        for record in page:
            records.setdefault(record.info.run_name, []).append(record)
        token = page.token
        if not token:
            return records


def _log_run(client: MlflowClient, experiment_id: str, run: ExportRun, digest: str) -> None:
    record = client.create_run(
        experiment_id, start_time=_ms(run.start_time), tags=_tags(run, digest), run_name=run.name
    )
    run_id = record.info.run_id
    params = [
        Param(key, _capped(_as_text(value), MAX_PARAM_VAL_LENGTH))
        for key, value in run.flat_config().items()
    ]
    metrics = [Metric(s.tag, s.value, _ms(s.time), s.step) for s in run.scalars() + run.headline()]
    for start in range(0, len(params), MAX_PARAMS_TAGS_PER_BATCH):
        client.log_batch(run_id, params=params[start : start + MAX_PARAMS_TAGS_PER_BATCH])
    for start in range(0, len(metrics), MAX_METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + MAX_METRICS_PER_BATCH])
    for figure in run.figures:
        client.log_artifact(run_id, str(figure), FIGURES_ARTIFACTS)
    if run.facts.end:
        client.log_dict(run_id, run.facts.end, SUMMARY_ARTIFACT)
    status = RunStatus.FINISHED if run.finished else RunStatus.FAILED
    client.set_terminated(run_id, RunStatus.to_string(status), end_time=_ms(run.end_time))


def _tags(run: ExportRun, digest: str) -> dict[str, str]:
    tags = {STATUS_TAG: run.status, RUN_DIR_TAG: str(run.run_dir.resolve()), DIGEST_TAG: digest}
    if run.reason:
        tags[REASON_TAG] = run.reason
    provenance = run.facts.provenance
    tags.update({f"{PROVENANCE_PREFIX}{key}": _as_text(v) for key, v in provenance.items()})
    if provenance.get("git_commit"):
        tags[GIT_COMMIT_TAG] = provenance["git_commit"]
    return {key: _capped(value, MAX_TAG_VAL_LENGTH) for key, value in tags.items()}


def _as_text(value) -> str:
    """Strings as they are, anything else as JSON (``true``, ``null``, ``[64, 64]``)."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def _capped(text: str, limit: int) -> str:
    """MLflow refuses longer values (a long command line, a long list)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
