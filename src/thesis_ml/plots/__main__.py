"""``python -m thesis_ml.plots RUN_DIR [overrides...] [--json PATH] [--more-runs RUN_DIR...]``:
re-render a run's figures (and those of more runs, in the same process: a pack's render job).

Reads only ``RUN_DIR/cfg.yaml`` and ``RUN_DIR/facts/`` (no model, data or training), so a
change of plotting code or policy never retrains. Overrides may change only the ``logging``
group, e.g. ``logging=plots_full`` or ``logging.fig_format=svg``: the rest of the config
describes what was trained. The figures follow the policy given: files of families or moments
it does not enable are removed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from thesis_ml.cli import setup_logging
from thesis_ml.config import ConfigError, check_override_syntax, compose, group_options, validate
from thesis_ml.config_schema import unknown_key_message
from thesis_ml.errors import CommandParser, exit_status
from thesis_ml.plots import exit_without_teardown
from thesis_ml.plots.render import log_skips, render_run
from thesis_ml.run_directory import CONFIG_FILE, is_run_record, load_run_config
from thesis_ml.utils.io import atomic_write_text, prepare_file_path


def main(argv: list[str] | None = None) -> int:
    return exit_status(lambda: render(_parser().parse_args(argv)))


def render(args: argparse.Namespace) -> None:
    if args.json and args.more_runs:
        raise ConfigError("--json writes one run's report: leave out --more-runs")
    for run_dir in [args.run_dir, *args.more_runs]:
        render_one(run_dir, args.overrides, args.json)


def render_one(run_dir: Path, overrides: list[str], json_path: Path | None) -> None:
    cfg = render_config(run_dir, overrides)
    if json_path:  # before any figure is drawn
        if is_run_record(run_dir, json_path, cfg.logging.figures_subdir):
            raise ConfigError(
                f"--json {json_path}: a file of the run's record in {run_dir}; write the report "
                "elsewhere"
            )
        prepare_file_path(json_path)
    setup_logging(cfg.logging.quiet)
    if not cfg.logging.make_plots:
        print("logging.make_plots is false: nothing drawn (override logging.make_plots=true)")
        return
    logging_cfg = OmegaConf.to_container(cfg.logging)
    report = render_run(run_dir, logging_cfg, block_screen=True)
    log_skips(report)
    if json_path:
        atomic_write_text(json_path, report.to_json())
    print(
        f"{len(report.files())} figure files of epoch {report.epoch} in {report.total_s:.2f} s "
        f"under {run_dir}"
    )


def render_config(run_dir: Path, overrides: list[str]) -> DictConfig:
    """The run's ``cfg.yaml`` with ``logging`` overrides applied (a preset first, then keys)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = load_run_config(Path(run_dir) / CONFIG_FILE)
    check_override_syntax(list(overrides))
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    for override in sorted(parsed, key=lambda o: o.key_or_group != "logging"):
        key = override.key_or_group
        if key == "logging":
            preset = compose([f"logging={override.value()}"]).logging
            OmegaConf.set_struct(cfg, False)
            cfg.logging = preset
            OmegaConf.set_struct(cfg, True)
        elif key.startswith("logging."):
            _check_known(cfg, key)
            OmegaConf.update(cfg, key, override.value(), merge=False)
        else:
            raise ConfigError(
                f"{key}: re-rendering may change only logging (logging=PRESET or logging.KEY=...); "
                "the other keys describe what was trained"
            )
    validate(cfg)
    return cfg


def _check_known(cfg: DictConfig, key: str) -> None:
    """``key`` names a key of the run's config, else the first unknown part of it is named."""
    parts, node = key.split("."), cfg
    for depth, part in enumerate(parts, start=1):
        if not isinstance(node, DictConfig):
            parent = ".".join(parts[: depth - 1])
            raise ConfigError(f"{key}: {parent} is a value ({node}), not a group of keys")
        if part not in node:
            raise ConfigError(unknown_key_message(".".join(parts[:depth]), [str(k) for k in node]))
        node = node[part]


def _parser() -> argparse.ArgumentParser:
    presets = ", ".join(group_options().get("logging", []))
    parser = CommandParser(
        prog="python -m thesis_ml.plots",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"logging presets (logging=NAME): {presets}",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory")
    parser.add_argument(
        "overrides", nargs="*", default=[], metavar="OVERRIDE", help="e.g. logging=plots_full"
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="write the report (files, per-figure seconds)"
    )
    parser.add_argument(
        "--more-runs",
        nargs="*",
        default=[],
        type=Path,
        metavar="RUN_DIR",
        help="render these run directories too, with the same overrides, in this process",
    )
    return parser


if __name__ == "__main__":
    exit_without_teardown(main())
