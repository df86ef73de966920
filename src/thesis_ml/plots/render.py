"""Drawing a run's figures from its facts: :func:`render_run` draws the families the ``logging``
config enables at the moments asked for, saves them and removes the files it no longer owns.

Both callers use it, and so write the same files: the helper process of a training run
(``plots/worker.py``) and ``python -m thesis_ml.plots RUN_DIR`` afterwards. A family whose
inputs the run lacks is skipped and the reason reported.

One process, one core. Drawing every second figure in a forked copy of the process (the former
``use_two_cores``) was measured and removed: ``python -m thesis_ml.plots RUN_DIR`` on a trained
10-epoch VQ autoencoder run (``logging=plots_standard``, the default sweep's preset: 5 figures)
on the 2-core development machine, shared with other jobs, in 40 interleaved pairs of fresh
processes. Median wall time 3.51 s with the fork, 3.45 s without; summed over all pairs the
fork saved 0.2% of the wall time (median of the per-pair savings 0.6%; the medians of four
batches of 8 to 16 pairs ranged from 0.8% to 14%), for 8 to 12% more CPU time. So the
pipeline's ``render_run`` rule takes one thread, and with more cores runs render side by side.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from thesis_ml.facts import RunFacts, load_run_facts
from thesis_ml.plots.drawing import figure_size, panels, suptitle
from thesis_ml.plots.families import FAMILIES
from thesis_ml.plots.policy import (
    FORMATS,
    destinations,
    enabled_families,
    enabled_moments,
    figure_name,
    figure_pattern,
    figures_dir,
)
from thesis_ml.run_directory import LOSS_FIGURE_STEM
from thesis_ml.utils.io import atomic_write

log = logging.getLogger("thesis_ml.plots")

# Drop timestamps and versions, so that the same facts give byte-identical files.
NO_DATES = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}
# Fast zlib level: PNG encoding was a fifth of a figure's cost at the default level 6, for
# files only about 10% smaller.
ENCODER_OPTIONS = {"png": {"pil_kwargs": {"compress_level": 1}}, "pdf": {}, "svg": {}}


@dataclass
class RenderedFigure:
    family: str
    moment: str
    epoch: int
    files: list[str]  # paths relative to the run directory; empty for screen-only figures
    seconds: float  # drawing and writing this figure


@dataclass
class RenderReport:
    run_dir: str
    epoch: int  # the last finished epoch, which every figure shows
    figures: list[RenderedFigure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # family -> why
    load_s: float = 0.0  # reading facts
    import_s: float = 0.0  # importing matplotlib
    total_s: float = 0.0

    def files(self) -> list[str]:
        return sorted(path for figure in self.figures for path in figure.files)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def render_run(
    run_dir: Path | str,
    logging_cfg: Mapping,
    moments: list[str] | None = None,
    block_screen: bool = False,
) -> RenderReport:
    """Draw the figures of ``moments`` (default: every enabled moment) from the run's facts.

    Figure files of those moments that this call did not produce (an older epoch's quick
    figure, a family since disabled, another format) are removed, so the figures directory
    always holds exactly what the policy promises for the facts on disk.
    """
    started = time.perf_counter()
    run_dir = Path(run_dir)
    facts = load_run_facts(run_dir)
    moments = enabled_moments(logging_cfg) if moments is None else moments
    report = RenderReport(run_dir=str(run_dir), epoch=facts.epoch)
    report.load_s = time.perf_counter() - started
    places = destinations(logging_cfg)
    if facts.epoch == 0:
        report.skipped = dict.fromkeys(enabled_families(logging_cfg), "no finished epoch yet")
    else:
        report.import_s = _import_matplotlib("screen" in places)
        for moment in moments:
            for name in enabled_families(logging_cfg):
                _render_family(report, facts, logging_cfg, name, moment, places)
    if "file" in places:
        _prune(run_dir, logging_cfg, moments, keep=set(report.files()))
    if "screen" in places and report.figures:
        _show(block_screen)
    report.total_s = time.perf_counter() - started
    return report


def log_skips(report: RenderReport, already: set[str] | None = None) -> None:
    """One log line per skipped family (once per family when ``already`` is kept across calls)."""
    for family, reason in report.skipped.items():
        if already is None or family not in already:
            log.info("plots: %s skipped: %s", family, reason)
            if already is not None:
                already.add(family)


def _render_family(
    report: RenderReport,
    facts: RunFacts,
    logging_cfg: Mapping,
    name: str,
    moment: str,
    places: set[str],
) -> None:
    family = FAMILIES[name]
    options = logging_cfg["families"][name]
    reason = family.missing(facts, options)
    if reason:
        report.skipped[name] = reason
        return
    started = time.perf_counter()
    full = moment == "train_end"
    fig = draw_figure(name, facts, options, full, screen="screen" in places)
    written: list[Path] = []
    if "file" in places:
        written.append(
            figures_dir(report.run_dir, logging_cfg)
            / figure_name(logging_cfg, name, moment, facts.epoch)
        )
        if name == "losses" and full:
            written.append(Path(report.run_dir) / f"{LOSS_FIGURE_STEM}.{logging_cfg['fig_format']}")
        _save(fig, written, logging_cfg)
    if "screen" not in places:
        fig.clear()
    report.figures.append(
        RenderedFigure(
            family=name,
            moment=moment,
            epoch=facts.epoch,
            files=[path.relative_to(report.run_dir).as_posix() for path in written],
            seconds=time.perf_counter() - started,
        )
    )


def draw_figure(name: str, facts: RunFacts, options, full: bool, screen: bool = False):
    """Family ``name``'s figure of the run (``full``: the train_end one), in memory."""
    family = FAMILIES[name]
    count = family.panel_count(facts, options, full)
    fig = _new_figure(figure_size(count), screen)
    family.draw(panels(fig, count), facts, options, full)
    suptitle(fig, f"run {Path(facts.run_dir).name}, epoch {facts.epoch}")
    return fig


def _import_matplotlib(screen: bool) -> float:
    started = time.perf_counter()
    if screen:
        import matplotlib.pyplot  # noqa: F401  (a window needs pyplot's backend)
    else:
        import matplotlib.figure  # noqa: F401
    return time.perf_counter() - started


def _new_figure(size: tuple[float, float], screen: bool):
    """A figure without a layout engine: ``drawing.panels`` places the axes itself."""
    if screen:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=size)
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def _save(fig, paths: list[Path], logging_cfg: Mapping) -> None:
    """Encode once, then write every path atomically: no reader ever sees a truncated image."""
    encoded = _encode_figure(fig, logging_cfg)
    for path in paths:
        with atomic_write(path, "wb") as handle:
            handle.write(encoded)


def _encode_figure(fig, logging_cfg: Mapping) -> bytes:
    """The figure's file content in ``fig_format`` at ``dpi``, without timestamps."""
    fig_format = logging_cfg["fig_format"]
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format=fig_format,
        dpi=int(logging_cfg["dpi"]),
        metadata=NO_DATES[fig_format],
        **ENCODER_OPTIONS[fig_format],
    )
    return buffer.getvalue()


def _show(block: bool) -> None:
    import matplotlib.pyplot as plt

    if block:
        plt.show()
    else:
        plt.pause(0.001)  # draw the windows and return to training


def _prune(run_dir: Path, logging_cfg: Mapping, moments: list[str], keep: set[str]) -> None:
    pattern = figure_pattern(logging_cfg["file_naming"], moments)
    directory = figures_dir(run_dir, logging_cfg)
    candidates = (
        [p for p in directory.iterdir() if pattern.fullmatch(p.name)] if directory.is_dir() else []
    )
    if "train_end" in moments:
        candidates += [run_dir / f"{LOSS_FIGURE_STEM}.{ext}" for ext in FORMATS]
    for path in candidates:
        if path.is_file() and path.relative_to(run_dir).as_posix() not in keep:
            path.unlink()
