"""Building a report: read and check the runs, summarise them, draw the figures, write it all:
summary.csv, the tokenizer ranking per bit budget (tokenizer_ranking.csv, reports/ranking.py),
summary.json holding both, and the figures.

Nothing is written until the config, the destination (reports/destination.py) and every run have
been checked and every figure has been drawn (in memory); then each file is written atomically.
A figure that applies to none of the runs (no VQ run for the perplexity boxplot) is left out,
and summary.json says why.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

from thesis_ml.config import compose_unvalidated
from thesis_ml.facts import PAUSED, json_safe
from thesis_ml.reports.destination import (
    SUMMARY_JSON,
    WRITTEN_BY_USER,
    report_dir,
)
from thesis_ml.reports.figures import FIGURES, not_applicable, render
from thesis_ml.reports.ranking import RANKING_COLUMNS, ranking_rows, tokenizer_ranking
from thesis_ml.reports.runs import RunSet, read_runs, resolve_sources
from thesis_ml.reports.search import (
    HISTORY_FIGURE,
    history_figure,
    search_summary,
    with_trial_columns,
)
from thesis_ml.reports.settings import (
    DEFAULT_REPORT_CONFIG,
    REPORT_CONFIG_DIR,
    validate_report_config,
    with_inputs,
)
from thesis_ml.reports.summary import rows_to_frame, scalars_frame, summary_rows
from thesis_ml.reports.tokenizer_runs import tokenizer_runs
from thesis_ml.utils.io import atomic_write, atomic_write_text, make_dirs

FIGURES_SUBDIR = "figures"
RANKING_CSV = "tokenizer_ranking.csv"  # beside summary.csv, header only without discrete runs


@dataclass
class Report:
    out_dir: Path
    files: list[Path]
    n_runs: int
    skipped: list[dict]
    left_out: dict[str, str]  # figure -> why it does not apply to these runs
    timings_s: dict[str, float] = field(default_factory=dict)


def build_report(
    run_dirs: Path | str | Iterable[Path | str] | None = None,
    out_dir: Path | str | None = None,
    overrides: Iterable[str] = (),
    config_name: str = DEFAULT_REPORT_CONFIG,
    written_by: str = WRITTEN_BY_USER,
    search_dir: Path | str | None = None,
) -> Report:
    """Report on ``run_dirs`` (a list of runs, or one sweep directory) into ``out_dir``; with
    ``search_dir`` (a search's directory, whose trials are among the runs) the report covers the
    search too (reports/search.py).

    ``run_dirs`` and ``out_dir`` replace the config's inputs and out_dir when given; the
    ``overrides`` (Hydra grammar) set anything else, e.g. ``outputs.which_figures=[...]``.
    ``written_by`` is recorded in summary.json; the pipeline's report step passes
    ``WRITTEN_BY_PIPELINE`` (reports/destination.py): no default destination may replace that.
    """
    cfg = compose_unvalidated(overrides, config_name, REPORT_CONFIG_DIR)
    return report_from_config(with_inputs(cfg, run_dirs, out_dir), written_by, search_dir)


def report_from_config(
    cfg: DictConfig | Mapping,
    written_by: str = WRITTEN_BY_USER,
    search_dir: Path | str | None = None,
) -> Report:
    """Build the report a (composed) report config describes; the config is checked first."""
    settings = validate_report_config(cfg)
    inputs, outputs = settings["inputs"], settings["outputs"]
    started = time.perf_counter()
    run_dirs = resolve_sources(inputs["sweep_dir"] or inputs["run_dirs"])
    out_dir = report_dir(outputs, inputs, run_dirs)
    runset = read_runs(run_dirs, inputs["allow_incomplete"])
    for skipped in runset.skipped:
        print(
            f"warning: skipping {skipped.run_dir}: {'; '.join(skipped.problems)}", file=sys.stderr
        )
    loaded = time.perf_counter()
    rows = summary_rows(runset, **settings["summary"])
    if search_dir is not None:
        rows = with_trial_columns(rows, search_dir)
    # A paused run (a pruned search trial) is no result and no failure: figures leave it out.
    drawn = RunSet(
        [run for run in runset.runs if (run.end or {}).get("status") != PAUSED], runset.skipped
    )
    drawn_rows = [row for row in rows if row["status"] != PAUSED]
    data = report_data(drawn, rows_to_frame(drawn_rows, drawn))
    ranking = ranking_rows(tokenizer_ranking(data.autoencoders))
    summarised = time.perf_counter()
    left_out = {
        name: why for name in outputs["which_figures"] if (why := not_applicable(name, data))
    }
    figures = {
        f"{name}.{outputs['fig_format']}": render(name, data, outputs["fig_format"], outputs["dpi"])
        for name in outputs["which_figures"]
        if name not in left_out
    }
    search = search_summary(search_dir, runset) if search_dir is not None else None
    if search is not None:
        fig_format = outputs["fig_format"]
        history = history_figure(search_dir, search["reference"], fig_format, outputs["dpi"])
        if history is not None:
            figures[f"{HISTORY_FIGURE}.{fig_format}"] = history
    plotted = time.perf_counter()
    skipped = [s.to_dict() for s in runset.skipped]
    document = {
        "written_by": written_by,
        "config": settings,
        "runs": rows,
        "tokenizer_ranking": ranking,
        "skipped": skipped,
        "figures": [f"{FIGURES_SUBDIR}/{name}" for name in figures],
        "figures_left_out": left_out,
        **({"search": search} if search is not None else {}),
    }
    files = _write(out_dir, rows, ranking, document, figures)
    timings = {
        "load_s": loaded - started,
        "summary_s": summarised - loaded,
        "plot_s": plotted - summarised,
        "write_s": time.perf_counter() - plotted,
    }
    return Report(out_dir, files, len(runset.runs), skipped, left_out, timings)


def report_data(runset: RunSet, summary):
    from thesis_ml.reports.figures.common import ReportData

    eigenvalues = {}
    for run in runset.runs:
        # A discrete code's lower bound states them; a continuous run's data meta does.
        recorded = run.yardsticks.get("lower_bound", {}).get("eigenvalues") or (
            run.start.get("data") or {}
        ).get("eigenvalues")
        if recorded:
            eigenvalues[run.run_id] = list(recorded)
    yardsticks = {run.run_id: run.yardsticks for run in runset.runs}
    group_of = dict(zip(summary["run_id"], summary["group"], strict=True))
    sizes = {
        group_of[run.run_id]: size
        for run in runset.runs
        if (size := ((run.config.get("phase1") or {}).get("tokenizer") or {}).get("codebook_size"))
    }
    scalars = scalars_frame(runset, split="val")
    autoencoders = tokenizer_runs(runset, summary)
    return ReportData(summary, scalars, eigenvalues, yardsticks, autoencoders, sizes)


def _write(
    out_dir: Path, rows: list[dict], ranking: list[dict], document: Mapping, figures: Mapping
) -> list[Path]:
    files = [out_dir / "summary.csv", out_dir / RANKING_CSV, out_dir / SUMMARY_JSON]
    _write_csv(files[0], list(rows[0]), rows)
    _write_csv(files[1], list(RANKING_COLUMNS), ranking)
    atomic_write_text(files[2], json.dumps(json_safe(document), indent=1) + "\n")
    # The pipeline declares the directory as an output, whichever figures apply.
    make_dirs(out_dir / FIGURES_SUBDIR)
    for name, content in figures.items():
        path = out_dir / FIGURES_SUBDIR / name
        with atomic_write(path, "wb") as handle:
            handle.write(content)
        files.append(path)
    _remove_stale_figures(out_dir / FIGURES_SUBDIR, keep=set(figures))
    return files


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with atomic_write(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _remove_stale_figures(figures_dir: Path, keep: set[str]) -> None:
    """A report names exactly the figures asked for: drop ones an earlier report drew."""
    for name in FIGURES:
        for path in figures_dir.glob(f"{name}.*"):
            if path.name not in keep and path.suffix in (".png", ".pdf", ".svg"):
                path.unlink()
