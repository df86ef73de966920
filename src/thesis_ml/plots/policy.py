"""What a run's ``logging`` config says about figures: which families and moments are on, where
figures go, and what their files are called.

Moments: ``epoch_end`` (``moments.on_epoch_end_quick``: one cheap panel per family, the file of
the previous epoch is replaced) and ``train_end`` (``moments.on_train_end_full``: every panel,
plus ``{run_dir}/loss.{fig_format}``, a copy of the losses figure that the original README
promises).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from thesis_ml.plots.families import FAMILIES

# Config key under logging.moments -> the {moment} part of figure file names.
MOMENTS = {"on_epoch_end_quick": "epoch_end", "on_train_end_full": "train_end"}
FORMATS = ("png", "pdf", "svg")


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


def figure_pattern(file_naming: str, moments: list[str]) -> re.Pattern:
    """Names ``file_naming`` gives to any family, one of ``moments``, any epoch and format:
    the files a render of those moments owns (and removes when it did not write them)."""
    fields = {
        "family": "(?:" + "|".join(FAMILIES) + ")",
        "moment": "(?:" + "|".join(moments or ["(?!)"]) + ")",
        "epoch_or_step": r"\d+",
    }
    parts = re.split(r"\{(family|moment|epoch_or_step)\}", file_naming)
    regex = "".join(fields[part] if i % 2 else re.escape(part) for i, part in enumerate(parts))
    return re.compile(f"{regex}\\.(?:{'|'.join(FORMATS)})")
