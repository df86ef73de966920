"""A sweep exported to TensorBoard, read back with TensorBoard's own reader and server: the
facts' numbers at their epochs and times, the figures, the hparams table, every run marked
with its status, and the same bytes on a re-export."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.export_helpers import (
    KILLED,
    RUNS,
    STATUSES,
    facts_scalars,
    make_sweep,
    require_tracking,
)
from tests.ui_helpers import free_port, get_json, served
from thesis_ml.export import HPARAMS_EVENT_FILE, RUN_EVENT_FILE
from thesis_ml.facts import final_event, read_events
from thesis_ml.reports.__main__ import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    require_tracking()
    return make_sweep(tmp_path_factory.mktemp("tensorboard"))


@pytest.fixture(scope="module")
def exported(sweep) -> Path:
    assert main(["export", "--to", "tensorboard", str(sweep)]) == 0
    return sweep / "tensorboard"  # the default


def _read(path: Path):
    from tensorboard.backend.event_processing import event_accumulator as ea

    everything = {ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0}
    accumulator = ea.EventAccumulator(str(path), size_guidance=everything)
    accumulator.Reload()
    return accumulator


def _as_stored(value: float) -> float:
    """A scalar as TensorBoard's event files hold it: float32."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


def _same(read: float, fact: float) -> bool:
    stored = _as_stored(fact)
    return read == stored or (math.isnan(read) and math.isnan(stored))


def _plugin_data(accumulator, tag: str):
    """The hparams plugin's message under ``tag`` (experiment, session start or end)."""
    from tensorboard.plugins.hparams import metadata

    parse = {
        metadata.EXPERIMENT_TAG: metadata.parse_experiment_plugin_data,
        metadata.SESSION_START_INFO_TAG: metadata.parse_session_start_info_plugin_data,
        metadata.SESSION_END_INFO_TAG: metadata.parse_session_end_info_plugin_data,
    }[tag]
    return parse(accumulator.SummaryMetadata(tag).plugin_data.content)


def _status_text(accumulator) -> str:
    (text,) = accumulator.Tensors("status")
    return text.tensor_proto.string_val[0].decode()


def test_every_run_is_a_directory_of_one_event_file_none_dropped(exported):
    runs = {path.name for path in exported.iterdir() if path.is_dir()}
    assert runs == set(RUNS)
    for name in RUNS:
        assert [p.name for p in (exported / name).iterdir()] == [RUN_EVENT_FILE]


def test_scalars_read_back_are_the_facts_at_their_epochs_and_times(sweep, exported):
    for name in RUNS:
        run_dir = sweep / "runs" / name
        accumulator = _read(exported / name)
        ends = {e["epoch"]: e["time"] for e in read_events(run_dir) if e["event"] == "on_epoch_end"}
        expected = facts_scalars(run_dir, last_epoch=max(ends))
        assert set(expected) <= set(accumulator.Tags()["scalars"]), name
        for tag, values in expected.items():
            events = accumulator.Scalars(tag)
            assert [e.step for e in events] == sorted(values), (name, tag)
            assert all(_same(e.value, values[e.step]) for e in events), (name, tag)
            assert [e.wall_time for e in events] == [ends[e.step] for e in events], (name, tag)


def test_headline_numbers_are_the_on_train_end_records(sweep, exported):
    for name in RUNS:
        end = final_event(read_events(sweep / "runs" / name))
        tags = set(_read(exported / name).Tags()["scalars"])
        if end is None:
            assert not {t for t in tags if t.startswith(("best/", "final/"))}, name
            continue
        accumulator = _read(exported / name)
        for section in ("best", "final"):
            for key in ("val_loss", "test_loss"):
                (event,) = accumulator.Scalars(f"{section}/{key}")
                assert _same(event.value, end[section][key]) and event.step == end[section]["epoch"]
                assert event.wall_time == end["time"]


def test_figures_are_images_of_their_epoch_and_a_killed_run_has_none(sweep, exported):
    for name in RUNS:
        accumulator = _read(exported / name)
        figures = sorted((sweep / "runs" / name / "figures").glob("*.png"))
        assert len(accumulator.Tags()["images"]) == len(figures), name
        for figure in figures:
            family, epoch = figure.stem.rsplit("-", 1)
            (image,) = accumulator.Images(f"figures/{family}")
            assert image.encoded_image_string == figure.read_bytes()
            assert image.step == int(epoch) and image.width > 0 and image.height > 0
    assert _read(exported / KILLED).Tags()["images"] == []


def test_diverged_and_killed_runs_are_marked_by_status_text_and_session(exported):
    from tensorboard.plugins.hparams import api_pb2, metadata

    for name, status in STATUSES.items():
        accumulator = _read(exported / name)
        assert _status_text(accumulator).split(":")[0] == status, name
        start = _plugin_data(accumulator, metadata.SESSION_START_INFO_TAG)
        assert start.hparams["status"].string_value == status
        assert start.hparams["model.activation"].string_value in ("relu", "tanh")
        end = _plugin_data(accumulator, metadata.SESSION_END_INFO_TAG)
        succeeded = status in ("completed", "stopped_early")
        assert end.status == (api_pb2.STATUS_SUCCESS if succeeded else api_pb2.STATUS_FAILURE)
    assert "divergence_factor" in _status_text(_read(exported / "diverged"))
    assert "no on_train_end record" in _status_text(_read(exported / KILLED))


def test_hparams_table_has_the_swept_keys_the_status_and_the_headline_numbers(exported):
    from tensorboard.plugins.hparams import api_pb2, metadata

    accumulator = _read(exported)  # the sweep's directory: its own file only
    assert [p.name for p in exported.iterdir() if p.is_file()] == [HPARAMS_EVENT_FILE]
    experiment = _plugin_data(accumulator, metadata.EXPERIMENT_TAG)
    columns = {info.name: info for info in experiment.hparam_infos}
    assert set(columns) == {"model.activation", "trainer.lr", "trainer.seed", "status"}
    assert [v.string_value for v in columns["model.activation"].domain_discrete.values] == [
        "relu",
        "tanh",
    ]
    assert columns["trainer.lr"].type == api_pb2.DATA_TYPE_FLOAT64
    statuses = {v.string_value for v in columns["status"].domain_discrete.values}
    assert statuses == set(STATUSES.values())
    metrics = [info.name.tag for info in experiment.metric_infos]
    assert metrics == ["best/test_loss", "best/val_loss", "final/test_loss", "final/val_loss"]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_exporting_twice_writes_the_same_names_and_bytes(sweep, exported, tmp_path):
    again = tmp_path / "again"
    assert main(["export", "--to", "tensorboard", str(sweep), "--out", str(again)]) == 0
    assert _tree(again) == _tree(exported)
    first = _tree(exported)
    assert main(["export", "--to", "tensorboard", str(sweep)]) == 0  # over the first export
    assert _tree(exported) == first


def test_parts_write_the_runs_or_the_table_alone(sweep, tmp_path):
    runs, table = tmp_path / "runs", tmp_path / "table"
    run_dir = str(sweep / "runs" / "diverged")
    assert (
        main(["export", "--to", "tensorboard", "--only", "runs", "--out", str(runs), run_dir]) == 0
    )
    assert sorted(_tree(runs)) == [f"diverged/{RUN_EVENT_FILE}"]
    sources = [str(path) for path in sorted((sweep / "runs").iterdir())]
    assert (
        main(["export", "--to", "tensorboard", "--only", "hparams", "--out", str(table), *sources])
        == 0
    )
    assert sorted(_tree(table)) == [HPARAMS_EVENT_FILE]


@pytest.mark.slow
def test_tensorboard_serves_the_exported_runs(exported, tmp_path):
    port = free_port()
    tensorboard = Path(sys.executable).parent / "tensorboard"  # the README's command
    command = [str(tensorboard), "--logdir", str(exported), "--port", str(port)]
    with served([*command, "--host", "127.0.0.1"], tmp_path / "tensorboard.log") as server:
        url = f"http://127.0.0.1:{port}/data/runs"
        assert server.wait_until(lambda: set(RUNS) <= set(get_json(url))), server.log()
