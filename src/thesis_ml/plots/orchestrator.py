"""Routes a run's facts to the figure families its ``logging`` config enables, at the enabled
moments, and writes the figures.

Two callers draw figures, with the same function (:func:`render_run`) and so the same files:

* during training, :class:`Orchestrator` listens to the run's :class:`~thesis_ml.facts.FactsWriter`
  and hands the drawing to a helper process (``plots/worker.py``), so that the training process
  never imports matplotlib and never waits for a per-epoch figure;
* afterwards, ``python -m thesis_ml.plots RUN_DIR`` re-renders from ``cfg.yaml`` and ``facts/``.

Moments: ``epoch_end`` (``moments.on_epoch_end_quick``: one cheap panel per family, the file of
the previous epoch is replaced) and ``train_end`` (``moments.on_train_end_full``: every panel,
plus ``{run_dir}/loss.{fig_format}``, a copy of the losses figure that the seed promises).
A family whose inputs the run lacks is skipped and the reason reported.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from thesis_ml.facts import facts_dir
from thesis_ml.plots import codebook, latency, losses, metrics, recon
from thesis_ml.plots.drawing import figure_size, panels
from thesis_ml.plots.inputs import RECON_EXAMPLES_FILE, RunFacts, load_run_facts
from thesis_ml.utils.io import atomic_write, atomic_write_text

log = logging.getLogger("thesis_ml.plots")

FAMILIES = {
    "losses": losses,
    "metrics": metrics,
    "recon": recon,
    "codebook": codebook,
    "latency": latency,
}
# Config key under logging.moments -> the {moment} part of figure file names.
MOMENTS = {"on_epoch_end_quick": "epoch_end", "on_train_end_full": "train_end"}
FORMATS = ("png", "pdf", "svg")
# The seed's run directory promises loss.png: the losses train_end figure, copied there.
SUMMARY_STEM = "loss"
# Drop timestamps and versions, so that the same facts give byte-identical files.
NO_DATES = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}
# Fast zlib level: PNG encoding was a fifth of a figure's cost at the default level 6, for
# files only about 10% smaller.
ENCODER_OPTIONS = {"png": {"pil_kwargs": {"compress_level": 1}}, "pdf": {}, "svg": {}}

# The training loop's way to show reconstructions: returns (inputs, reconstructions) for a few
# validation samples, each array-like of shape (n, features) or (n, height, width).
ReconExamplesHook = Callable[[], tuple[Any, Any]]
MAX_STORED_EXAMPLES = 8


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


def enabled_families(logging_cfg: Mapping) -> list[str]:
    families = logging_cfg["families"]
    return [
        name
        for name in FAMILIES
        if (families[name]["enabled"] if isinstance(families[name], Mapping) else families[name])
    ]


def enabled_moments(logging_cfg: Mapping) -> list[str]:
    return [label for key, label in MOMENTS.items() if logging_cfg["moments"][key]]


def destinations(logging_cfg: Mapping) -> set[str]:
    chosen = logging_cfg["destinations"]
    places = {"file", "screen"} if chosen == "both" else {chosen}
    if logging_cfg["show_plots"]:
        places.add("screen")
    return places


def figures_dir(run_dir: Path | str, logging_cfg: Mapping) -> Path:
    return Path(run_dir) / logging_cfg["figures_subdir"]


def figure_name(logging_cfg: Mapping, family: str, moment: str, epoch: int) -> str:
    stem = logging_cfg["file_naming"].format(family=family, moment=moment, epoch_or_step=epoch)
    return f"{stem}.{logging_cfg['fig_format']}"


def render_run(
    run_dir: Path | str,
    logging_cfg: Mapping,
    moments: list[str] | None = None,
    block_screen: bool = False,
    use_two_cores: bool = True,
) -> RenderReport:
    """Draw the figures of ``moments`` (default: every enabled moment) from the run's facts.

    ``use_two_cores`` draws half of the figures in a forked process when there are several.

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
        jobs = [(moment, name) for moment in moments for name in enabled_families(logging_cfg)]
        if use_two_cores and len(jobs) > 1 and places == {"file"} and _can_fork():
            _render_in_two_processes(report, facts, logging_cfg, jobs)
        else:
            _render_jobs(report, facts, logging_cfg, jobs, places)
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


def _render_jobs(
    report: RenderReport,
    facts: RunFacts,
    logging_cfg: Mapping,
    jobs: list[tuple[str, str]],
    places: set[str],
) -> None:
    for moment, name in jobs:
        _render_family(report, facts, logging_cfg, name, moment, places)


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


def _render_in_two_processes(
    report: RenderReport, facts: RunFacts, logging_cfg: Mapping, jobs: list[tuple[str, str]]
) -> None:
    """Every second figure in a forked copy of this process, the others here.

    The copy starts with matplotlib imported and the facts read, so on two cores a full set
    takes about half the time. Should the copy fail, its figures are drawn here (and so its
    error is raised here).
    """
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: draw, send the report part as JSON, exit without cleanup
        code = 1
        try:
            os.close(reader)
            part = RenderReport(run_dir=report.run_dir, epoch=report.epoch)
            _render_jobs(part, facts, logging_cfg, jobs[1::2], {"file"})
            with os.fdopen(writer, "w", encoding="utf-8") as pipe_handle:  # a pipe, not a file
                json.dump(
                    {"figures": [asdict(f) for f in part.figures], "skipped": part.skipped},
                    pipe_handle,
                )
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    _render_jobs(report, facts, logging_cfg, jobs[0::2], {"file"})
    with os.fdopen(reader, encoding="utf-8") as incoming:
        sent = incoming.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not sent:
        _render_jobs(report, facts, logging_cfg, jobs[1::2], {"file"})
    else:
        part = json.loads(sent)
        report.figures += [RenderedFigure(**figure) for figure in part["figures"]]
        report.skipped.update(part["skipped"])
    order = {job: index for index, job in enumerate(jobs)}
    report.figures.sort(key=lambda figure: order[(figure.moment, figure.family)])
    report.skipped = {name: report.skipped[name] for _, name in jobs if name in report.skipped}


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
    count = family.panel_count(facts, options, full)
    fig = _new_figure(figure_size(count), screen="screen" in places)
    family.draw(panels(fig, count), facts, options, full)
    fig.suptitle(f"run {Path(report.run_dir).name}, epoch {facts.epoch}", fontsize="medium")
    written: list[Path] = []
    if "file" in places:
        written.append(
            figures_dir(report.run_dir, logging_cfg)
            / figure_name(logging_cfg, name, moment, facts.epoch)
        )
        if name == "losses" and full:
            written.append(Path(report.run_dir) / f"{SUMMARY_STEM}.{logging_cfg['fig_format']}")
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
    pattern = _figure_pattern(logging_cfg["file_naming"], moments)
    directory = figures_dir(run_dir, logging_cfg)
    candidates = (
        [p for p in directory.iterdir() if pattern.fullmatch(p.name)] if directory.is_dir() else []
    )
    if "train_end" in moments:
        candidates += [run_dir / f"{SUMMARY_STEM}.{ext}" for ext in FORMATS]
    for path in candidates:
        if path.is_file() and path.relative_to(run_dir).as_posix() not in keep:
            path.unlink()


def _figure_pattern(file_naming: str, moments: list[str]) -> re.Pattern:
    """Names ``file_naming`` gives to any family, one of ``moments``, any epoch and format."""
    fields = {
        "family": "(?:" + "|".join(FAMILIES) + ")",
        "moment": "(?:" + "|".join(moments or ["(?!)"]) + ")",
        "epoch_or_step": r"\d+",
    }
    parts = re.split(r"\{(family|moment|epoch_or_step)\}", file_naming)
    regex = "".join(fields[part] if i % 2 else re.escape(part) for i, part in enumerate(parts))
    return re.compile(f"{regex}\\.(?:{'|'.join(FORMATS)})")


class Orchestrator:
    """The plot side of a training run: a listener of its facts writer.

    It stores the recon examples of the last epoch when the loop provides a hook (they are
    facts: a later re-render has no model), and, when figures are drawn during training, sends
    the moments to a helper process that renders them from the facts on disk. At
    ``on_train_end`` it waits for that process, so the figures exist when training returns.
    """

    def __init__(self, run_dir: Path, logging_cfg: Mapping, live: bool) -> None:
        self.run_dir = Path(run_dir)
        self.logging_cfg = logging_cfg
        self.live = live and bool(logging_cfg["make_plots"])
        self.moments = enabled_moments(logging_cfg) if self.live else []
        self.recon_examples: ReconExamplesHook | None = None
        self._epochs: int | None = None
        # Started now, not at on_train_start, so that its imports and warm-up overlap the data
        # and model setup: at the end training waits only for the final figures' drawing.
        self._worker: subprocess.Popen | None = None
        if self.moments and enabled_families(logging_cfg):
            self._worker = _start_worker(self.run_dir)

    def __call__(self, event: str, record: dict) -> None:
        if event == "on_train_start":
            self._epochs = record.get("epochs")
        elif event == "on_validation_end" and record.get("epoch") == self._epochs:
            self._store_recon_examples(record["epoch"])
        elif event == "on_epoch_end" and "epoch_end" in self.moments:
            self._send("epoch_end")
        elif event == "on_train_end":
            self._send("train_end")
            self.close()

    def close(self) -> None:
        """Let the helper finish (without a train_end it draws nothing more) and reap it."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if worker.stdin:
            with contextlib.suppress(BrokenPipeError):
                worker.stdin.close()
        if worker.wait() != 0:
            print(
                f"warning: drawing figures failed (exit {worker.returncode}); the facts are "
                f"complete: python -m thesis_ml.plots {self.run_dir}",
                file=sys.stderr,
            )

    def _send(self, command: str) -> None:
        if self._worker is None or self._worker.stdin is None:
            return
        try:
            self._worker.stdin.write(command + "\n")
            self._worker.stdin.flush()
        except BrokenPipeError:  # it died; close() reports how
            pass

    def _store_recon_examples(self, epoch: int) -> None:
        if self.recon_examples is None:
            return
        inputs, reconstructions = self.recon_examples()
        examples = {
            "epoch": epoch,
            "inputs": _as_lists(inputs)[:MAX_STORED_EXAMPLES],
            "reconstructions": _as_lists(reconstructions)[:MAX_STORED_EXAMPLES],
        }
        atomic_write_text(facts_dir(self.run_dir) / RECON_EXAMPLES_FILE, json.dumps(examples))


def _as_lists(values) -> list:
    """Plain lists of a tensor, array or nested sequence (without importing torch or numpy)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu()
    return values.tolist() if hasattr(values, "tolist") else [list(v) for v in values]


def _start_worker(run_dir: Path) -> subprocess.Popen:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "thesis_ml.plots.worker", str(run_dir)],
        stdin=subprocess.PIPE,
        text=True,
        env=env,
    )


def attach(run_dir: Path, logging_cfg: Mapping, keep: bool, live: bool) -> Orchestrator | None:
    """The listener a training run needs, or None when it would neither store nor draw."""
    draws = live and logging_cfg["make_plots"] and (keep or "screen" in destinations(logging_cfg))
    if not (keep or draws):
        return None
    return Orchestrator(run_dir, logging_cfg, live=draws)
