"""Cross-run reports: a summary table and comparison figures over many run directories.

From a notebook::

    from thesis_ml.reports import load_runs, load_scalars

    summary = load_runs("results/my_sweep")        # one row per run (a pandas DataFrame)
    summary[["group", "best_test_loss", "reference_kind", "gap_best_rel"]]
    curves = load_scalars("results/my_sweep", split="val")  # per-epoch scalars, long form

From the pipeline: ``build_report(run_dirs, out_dir, overrides, written_by=WRITTEN_BY_PIPELINE)``;
from the shell:
``python -m thesis_ml.reports --config-name compare_tokenizers inputs.sweep_dir=DIR``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from thesis_ml.reports.build import Report, build_report
from thesis_ml.reports.destination import WRITTEN_BY_PIPELINE
from thesis_ml.reports.runs import IncompleteRunsError, read_runs, resolve_sources
from thesis_ml.reports.settings import default_summary_settings
from thesis_ml.reports.summary import scalars_frame, summary_frame

__all__ = [
    "WRITTEN_BY_PIPELINE",
    "IncompleteRunsError",
    "Report",
    "build_report",
    "load_runs",
    "load_scalars",
]

Sources = Path | str | Iterable[Path | str]


def load_runs(
    sources: Sources,
    allow_incomplete: bool = False,
    ignore_keys: Iterable[str] | None = None,
    seed_keys: Iterable[str] | None = None,
):
    """The summary of the runs (one row each): a sweep directory, one run, or a list of runs.

    Columns: ``run_id``, ``run_dir``, ``group``, ``n_seeds``, the config keys that differ, then
    :data:`~thesis_ml.reports.summary.RESULT_COLUMNS`: the headline ``best_test_loss`` (the
    weights of the best validation epoch, measured on test) beside ``best_val_loss`` and the
    ``final_*`` numbers, timings, compression, VQ code usage, the ``reference_kind`` the run is
    judged by with ``reference_test_loss``, ``gap_best_rel`` and ``gap_final_rel`` (test loss /
    reference - 1), each yardstick's test loss (``optimum``, ``lower_bound``,
    ``linear_reference``, ``quantizer_reference``; NaN where the run has none) with
    ``gap_<name>_rel``, ``omitted_yardsticks`` (``"name: why; ..."``) and the provenance
    (``git_commit``, ``git_dirty``, ``host``, ``thesis_ml_version``, ``torch_version``,
    ``started_at``). ``status`` is ``completed``, ``stopped_early`` (both results) or
    ``diverged``.

    Incomplete runs raise :class:`IncompleteRunsError` listing every problem, or with
    ``allow_incomplete`` are left out and listed in ``frame.attrs["skipped"]``. The keys
    default to the ``summary`` section of the default report config.
    """
    defaults = default_summary_settings()
    runset = read_runs(resolve_sources(sources), allow_incomplete)
    return summary_frame(
        runset,
        defaults["ignore_keys"] if ignore_keys is None else ignore_keys,
        defaults["seed_keys"] if seed_keys is None else seed_keys,
    )


def load_scalars(sources: Sources, split: str | None = None, allow_incomplete: bool = False):
    """Per-epoch scalars of many runs in long form: ``run_id`` plus the scalars.csv columns."""
    return scalars_frame(read_runs(resolve_sources(sources), allow_incomplete), split)
