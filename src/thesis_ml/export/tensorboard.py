"""TensorBoard event files of runs, written from their facts with TensorBoard's own protos.

Each run gets ``<out>/<run>/`` with one event file: every per-epoch scalar (``train/loss``,
``val/val_loss``, ...) at step = epoch and the time that epoch ended, the headline numbers
(``best/test_loss``, ...), the figures as images, the status as text, and the run's session of
the hparams plugin (its config keys and status). ``<out>/`` itself holds the sweep's hparams
table: the keys whose values differ between the runs, the status and the headline numbers as
columns. The two parts are separate (``parts``) so that the pipeline re-exports one retrained
run alone. Nothing written depends on when or where: the files' names are fixed, their times
are the facts', so exporting the same facts twice writes the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import groupby
from pathlib import Path

from google.protobuf import struct_pb2
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.compat.proto.types_pb2 import DT_STRING
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.summary.writer.record_writer import RecordWriter

from thesis_ml.export import HPARAMS_EVENT_FILE, RUN_EVENT_FILE, TENSORBOARD_PARTS, ExportError
from thesis_ml.export.runs import ExportRun, figure_step, swept_keys
from thesis_ml.utils.io import atomic_write

HEADLINE_LOSSES = ("test_loss", "val_loss")
STATUS_HPARAM = "status"  # the facts' status, a column of the hparams table
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type (IHDR byte 25) -> channels, TensorBoard's Image.colorspace.
PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
DTYPES = {bool: api_pb2.DATA_TYPE_BOOL, float: api_pb2.DATA_TYPE_FLOAT64}


def export_tensorboard(
    runs: Sequence[ExportRun], out: Path, parts: Iterable[str] = TENSORBOARD_PARTS
) -> None:
    """Write the runs' event directories and/or the sweep's hparams table under ``out``."""
    if "runs" in parts:
        for run in runs:
            _write(out / run.name / RUN_EVENT_FILE, run_events(run))
    if "hparams" in parts:
        _write(out / HPARAMS_EVENT_FILE, table_events(runs))


def _write(path: Path, events: Iterable[event_pb2.Event]) -> None:
    try:
        with atomic_write(path, "wb", encoding=None) as handle:
            records = RecordWriter(handle)
            for event in events:
                # deterministic: map fields (the session's hparams) in key order, every time
                records.write(event.SerializeToString(deterministic=True))
    except OSError as error:
        raise ExportError(f"{path}: cannot write ({error.strerror})") from None


def run_events(run: ExportRun) -> list[event_pb2.Event]:
    """The events of one run: its start, its epochs, then what its end recorded."""
    events = [event_pb2.Event(wall_time=run.start_time, file_version="brain.Event:2")]
    events.append(_event(run.start_time, 0, [_session_start(run)]))
    for (step, time), scalars in groupby(
        [*run.scalars(), *run.headline()], key=lambda s: (s.step, s.time)
    ):
        events.append(_event(time, step, [_scalar(s.tag, s.value) for s in scalars]))
    for path in sorted(run.figures, key=lambda p: figure_step(p, run.facts.epoch)):
        name, step = figure_step(path, run.facts.epoch)
        events.append(_event(run.end_time, step, [_image(f"figures/{name}", path)]))
    status = f"{run.status}: {run.reason}" if run.reason else run.status
    events.append(_event(run.end_time, run.facts.epoch, [_text(STATUS_HPARAM, status)]))
    events.append(_event(run.end_time, run.facts.epoch, [_session_end(run)]))
    return events


def table_events(runs: Sequence[ExportRun]) -> list[event_pb2.Event]:
    """The hparams plugin's experiment: the table's columns and their values in the runs."""
    configs = [run.flat_config() for run in runs]
    columns = {key: [c[key] for c in configs if c.get(key) is not None] for key in swept_keys(runs)}
    columns[STATUS_HPARAM] = [run.status for run in runs]
    metrics = sorted({s.tag for run in runs for s in run.headline()}, key=_headline_first)
    created = min(run.start_time for run in runs)
    experiment = api_pb2.Experiment(
        hparam_infos=[_hparam_info(key, values) for key, values in columns.items()],
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metrics],
        time_created_secs=created,
    )
    content = plugin_data_pb2.HParamsPluginData(experiment=experiment)
    return [
        event_pb2.Event(wall_time=created, file_version="brain.Event:2"),
        _event(created, 0, [_hparams(metadata.EXPERIMENT_TAG, content)]),
    ]


def _headline_first(tag: str) -> tuple[bool, str]:
    """The losses first: the table shows the first few metrics until more are ticked."""
    return (tag.split("/", 1)[-1] not in HEADLINE_LOSSES, tag)


def _event(time: float, step: int, values: list[summary_pb2.Summary.Value]) -> event_pb2.Event:
    return event_pb2.Event(wall_time=time, step=step, summary=summary_pb2.Summary(value=values))


def _scalar(tag: str, value: float) -> summary_pb2.Summary.Value:
    return summary_pb2.Summary.Value(tag=tag, simple_value=value)


def _image(tag: str, path: Path) -> summary_pb2.Summary.Value:
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE) or len(data) < 26:
        raise ExportError(f"{path}: not a PNG file")
    image = summary_pb2.Summary.Image(
        width=int.from_bytes(data[16:20], "big"),
        height=int.from_bytes(data[20:24], "big"),
        colorspace=PNG_CHANNELS.get(data[25], 4),
        encoded_image_string=data,
    )
    return summary_pb2.Summary.Value(tag=tag, image=image)


def _text(tag: str, text: str) -> summary_pb2.Summary.Value:
    tensor = tensor_pb2.TensorProto(
        dtype=DT_STRING,
        string_val=[text.encode("utf-8")],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]
        ),
    )
    return summary_pb2.Summary.Value(
        tag=tag, metadata=text_metadata.create_summary_metadata(tag, ""), tensor=tensor
    )


def _session_start(run: ExportRun) -> summary_pb2.Summary.Value:
    """Every config key of the run (the table shows the swept ones) and its status."""
    hparams = {key: _value(value) for key, value in run.flat_config().items() if value is not None}
    hparams[STATUS_HPARAM] = _value(run.status)
    start = plugin_data_pb2.SessionStartInfo(hparams=hparams, start_time_secs=run.start_time)
    content = plugin_data_pb2.HParamsPluginData(session_start_info=start)
    return _hparams(metadata.SESSION_START_INFO_TAG, content)


def _session_end(run: ExportRun) -> summary_pb2.Summary.Value:
    status = api_pb2.STATUS_SUCCESS if run.finished else api_pb2.STATUS_FAILURE
    end = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=run.end_time)
    content = plugin_data_pb2.HParamsPluginData(session_end_info=end)
    return _hparams(metadata.SESSION_END_INFO_TAG, content)


def _hparams(tag: str, content: plugin_data_pb2.HParamsPluginData) -> summary_pb2.Summary.Value:
    return summary_pb2.Summary.Value(
        tag=tag, metadata=metadata.create_summary_metadata(content), tensor=metadata.NULL_TENSOR
    )


def _hparam_info(name: str, values: list) -> api_pb2.HParamInfo:
    """A column: its type, from its values in the runs, and those values (the filter's)."""
    kinds = {_kind(value) for value in values}
    kind = kinds.pop() if len(kinds) == 1 else str
    if kind is str:
        values = [_as_text(value) for value in values]
    return api_pb2.HParamInfo(
        name=name,
        type=DTYPES.get(kind, api_pb2.DATA_TYPE_STRING),
        domain_discrete=struct_pb2.ListValue(values=[_value(v) for v in sorted(set(values))]),
    )


def _kind(value) -> type:
    if isinstance(value, bool):
        return bool
    return float if isinstance(value, int | float) else str


def _value(value) -> struct_pb2.Value:
    kind = _kind(value)
    if kind is bool:
        return struct_pb2.Value(bool_value=value)
    if kind is float:
        return struct_pb2.Value(number_value=value)
    return struct_pb2.Value(string_value=_as_text(value))


def _as_text(value) -> str:
    """A config value as the table shows it: strings as they are, lists as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)
