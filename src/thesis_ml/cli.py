"""Shared command-line plumbing of ``python -m thesis_ml.{train,plots,reports}``.

Each CLI takes Hydra overrides as positional arguments and ``--config-name``; ``--help`` lists
the config groups and their options. Bad input ends in one ``error:`` line (or block) on
stderr and exit status 2, with no traceback (:func:`thesis_ml.errors.exit_status`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from thesis_ml.config import CONFIG_DIR, SWEEP_HINT, compose, group_options
from thesis_ml.errors import EXIT_BAD_INPUT, CommandParser, UsageError, exit_status

__all__ = ["EXIT_BAD_INPUT", "exit_status", "make_parser", "run_cli", "setup_logging"]

REFERENCE_DOC = "docs/config_reference.md"


def make_parser(
    prog: str, description: str, config_dir: Path = CONFIG_DIR, default_config: str = "config"
) -> argparse.ArgumentParser:
    groups = group_options(config_dir)
    roots = ", ".join(path.stem for path in sorted(Path(config_dir).glob("*.yaml")))
    listing = "".join(f"\n  {group:<20} {', '.join(options)}" for group, options in groups.items())
    sections = [f"root configs (choose with --config-name): {roots}"]
    if groups:
        sections.append(f"config groups (choose with group=option):{listing}")
        example = f"{next(iter(groups))}={groups[next(iter(groups))][0]}"
    else:
        example = "section.key=value"
    sections.append(f"configs: {config_dir}\nevery key, its default and meaning: {REFERENCE_DOC}")
    parser = CommandParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(sections),
    )
    parser.add_argument(
        "--config-name", default=default_config, help=f"root config (default: {default_config})"
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="OVERRIDE", help=f"Hydra override, e.g. {example}"
    )
    parser.add_argument(
        "-m", "--multirun", action="store_true", help="not supported: sweeps are Snakemake's"
    )
    return parser


def run_cli(
    prog: str,
    description: str,
    action: Callable[[DictConfig, argparse.Namespace], object],
    argv: list[str] | None = None,
    config_dir: Path = CONFIG_DIR,
    default_config: str = "config",
    compose_fn: Callable[..., DictConfig] = compose,
) -> int:
    """Parse ``argv``, compose the config and run ``action``; map user errors to exit 2."""
    parser = make_parser(prog, description, config_dir, default_config)

    def compose_and_run() -> None:
        args = parser.parse_args(argv)
        if args.multirun:
            raise UsageError(
                f"{prog} does not take -m/--multirun: for one run per value, {SWEEP_HINT}"
            )
        cfg = compose_fn(args.overrides, config_name=args.config_name, config_dir=config_dir)
        action(cfg, args)

    return exit_status(compose_and_run)


def setup_logging(quiet: bool) -> None:
    """Log lines as bare messages on stderr; ``quiet`` keeps only warnings and errors."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO, format="%(message)s", stream=sys.stderr
    )
