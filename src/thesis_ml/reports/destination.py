"""Where a report goes, and the places its default destination must not be.

A default destination (``SWEEP_DIR/REPORT_SUBDIR``, or ``REPORT_SUBDIR`` beside the run dirs) is
refused when it lies inside a run directory, among run directories (the pipeline's ``runs/``,
whose names Snakemake matches as runs), or on a report the pipeline wrote (Snakemake would not
notice it changed). An explicit ``outputs.out_dir`` is the user asking for that place, so it is
never refused; the messages say so. Each report records who wrote it in ``summary.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from thesis_ml.config import ConfigError
from thesis_ml.reports.runs import common_parent
from thesis_ml.run_directory import is_run_dir

SUMMARY_JSON = "summary.json"
WRITTEN_BY_PIPELINE = "pipeline"  # the sweep's own report (rule build_report)
WRITTEN_BY_USER = "user"


def report_dir(outputs: Mapping, inputs: Mapping, run_dirs: Sequence[Path]) -> Path:
    """The report's directory; a default one is checked by :func:`check_default`."""
    if outputs["out_dir"]:
        return Path(outputs["out_dir"])
    if inputs["sweep_dir"]:
        out_dir = Path(inputs["sweep_dir"]) / outputs["report_subdir"]
    else:
        out_dir = common_parent(run_dirs) / outputs["report_subdir"]
    check_default(out_dir)
    return out_dir


def check_default(out_dir: Path) -> None:
    """Refuse a default destination inside or among run directories or on the pipeline's report."""
    resolved = out_dir.resolve()
    inside = next((p for p in (resolved, *resolved.parents) if is_run_dir(p)), None)
    if inside is not None:
        _refuse(out_dir, f"inside the run directory {inside}")
    parent = resolved.parent
    if parent.is_dir() and any(p != resolved and is_run_dir(p) for p in parent.iterdir()):
        _refuse(out_dir, f"among the run directories of {parent}")
    if written_by(out_dir) == WRITTEN_BY_PIPELINE:
        _refuse(out_dir, "over the pipeline's own report (Snakemake would not notice the change)")


def written_by(out_dir: Path) -> str | None:
    """Who wrote the report in ``out_dir`` (None: no report, or one that does not say)."""
    try:
        document = json.loads((out_dir / SUMMARY_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document.get("written_by") if isinstance(document, dict) else None


def _refuse(out_dir: Path, where: str) -> None:
    raise ConfigError(
        f"outputs: the report would be written to {out_dir}, {where}; choose another place "
        f"with outputs.out_dir=DIR (outputs.out_dir={out_dir} writes there anyway)"
    )
