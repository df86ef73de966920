"""A workflow config's ``search:`` section, parsed and checked; its JSON schema is
``schema.yaml`` beside this file (types only: the messages that name what is wrong are here).

    search:
      sampler: tpe          # tpe | random | grid | cmaes (Optuna's samplers), seeded by seed
      seed: 0
      n_trials: 32          # trials in all; raising it later continues the same study
      batch: 8              # trials per round
      objective: {metric: best_val_loss, direction: minimize}
      space: {trainer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}}
      pruner: {kind: successive_halving, min_epochs: 5, reduction_factor: 3}   # or {kind: none}
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property

from optuna.distributions import CategoricalDistribution

from thesis_ml.facts.layout import VALIDATION_METRICS
from thesis_ml.search import SearchError
from thesis_ml.search.samplers import SAMPLERS
from thesis_ml.search.space import Parameter, parse_space
from thesis_ml.utils.io import json_digest

DIRECTIONS = ("minimize", "maximize")
PRUNER_KEYS = {"none": ("kind",), "successive_halving": ("kind", "min_epochs", "reduction_factor")}
SECTION_KEYS = ("sampler", "seed", "n_trials", "batch", "objective", "space", "pruner")
DEFAULTS = {
    "sampler": "tpe",
    "seed": 0,
    "batch": 1,
    "objective": {"metric": "best_val_loss", "direction": "minimize"},
    "pruner": {"kind": "none"},
}
DEFAULT_REDUCTION_FACTOR = 3
EPOCHS_KEY = "trainer.epochs"
# An objective is a validation metric of the run's end record: best_val_loss is
# on_train_end["best"]["val_loss"] (docs/facts.md); the test split stays unseen by the search.
_METRIC = re.compile(r"^(best|final)_(val|test|train)_([a-z0-9_]+)$")


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str

    @property
    def source(self) -> tuple[str, str]:
        """Where the value is in the on_train_end record: ("best", "val_loss")."""
        which, split, name = _METRIC.match(self.metric).groups()
        return which, f"{split}_{name}"


@dataclass(frozen=True)
class Pruner:
    kind: str
    min_epochs: int | None = None
    reduction_factor: int | None = None


@dataclass(frozen=True)
class SearchConfig:
    """A checked ``search:`` section, with its defaults filled in (``section``)."""

    sampler: str
    seed: int
    n_trials: int
    batch: int
    objective: Objective
    space: tuple[Parameter, ...]
    pruner: Pruner
    section: dict

    @cached_property
    def digest(self) -> str:
        """Names the study: every key but n_trials, so that raising n_trials continues it."""
        identity = {key: value for key, value in self.section.items() if key != "n_trials"}
        return json_digest(identity)[:12]

    @property
    def distributions(self) -> dict:
        return {parameter.key: parameter.distribution for parameter in self.space}


def parse_search(section: object) -> SearchConfig:
    """Check a ``search:`` section; a SearchError names the first bad key."""
    where = "search"
    if not isinstance(section, Mapping):
        raise SearchError(f"{where}: expected a mapping with keys {', '.join(SECTION_KEYS)}")
    for key in section:
        if key not in SECTION_KEYS:
            raise SearchError(f"{where}.{key}: unknown key; allowed: {', '.join(SECTION_KEYS)}")
    for key in ("n_trials", "space"):
        if key not in section:
            raise SearchError(f"{where}.{key}: required")
    values = {**DEFAULTS, **section}
    sampler = values["sampler"]
    if sampler not in SAMPLERS:
        raise SearchError(f"{where}.sampler: {sampler!r} is not one of {', '.join(SAMPLERS)}")
    if sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
        raise SearchError(f"{where}.sampler: cmaes needs the package cmaes (pip install cmaes)")
    counts = {
        key: _integer(values[key], f"{where}.{key}", minimum)
        for key, minimum in (("seed", 0), ("n_trials", 1), ("batch", 1))
    }
    objective = _objective(values["objective"], f"{where}.objective")
    space = parse_space(values["space"], f"{where}.space")
    pruner = _pruner(values["pruner"], f"{where}.pruner")
    if pruner.kind != "none" and any(parameter.key == EPOCHS_KEY for parameter in space):
        raise SearchError(
            f"{where}.space.{EPOCHS_KEY}: the pruner's rungs set the epochs a trial trains; "
            f"the last rung is the {EPOCHS_KEY} of the sweep's overrides"
        )
    if sampler == "grid":
        _check_grid(space, counts["n_trials"], where)
    if sampler == "cmaes":
        _check_numeric(space, where)
    normalized = {
        "sampler": sampler,
        **counts,
        "objective": asdict(objective),
        "space": {parameter.key: parameter.normalized() for parameter in space},
        "pruner": {key: value for key, value in asdict(pruner).items() if value is not None},
    }
    return SearchConfig(
        sampler, **counts, objective=objective, space=space, pruner=pruner, section=normalized
    )


def _integer(value: object, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SearchError(f"{where}: {value!r} is not an integer")
    if value < minimum:
        raise SearchError(f"{where}: {value} is below {minimum}")
    return value


def _objective(objective: object, where: str) -> Objective:
    if not isinstance(objective, Mapping):
        raise SearchError(f"{where}: expected {{metric: ..., direction: minimize|maximize}}")
    for key in objective:
        if key not in ("metric", "direction"):
            raise SearchError(f"{where}.{key}: unknown key; allowed: metric, direction")
    values = {**DEFAULTS["objective"], **objective}
    metric, direction = values["metric"], values["direction"]
    match = _METRIC.match(metric) if isinstance(metric, str) else None
    if match is None or match.group(2) == "train":
        raise SearchError(
            f"{where}.metric: {metric!r} is not a validation metric of a run's facts: "
            "best_val_<name> or final_val_<name>, e.g. best_val_loss"
        )
    if match.group(2) == "test":
        raise SearchError(
            f"{where}.metric: {metric} is measured on the test split, which a search must not "
            f"see (it would select on the data that judges it); use "
            f"{match.group(1)}_val_{match.group(3)}"
        )
    if match.group(3) not in VALIDATION_METRICS:
        raise SearchError(
            f"{where}.metric: {metric}: no run measures {match.group(3)!r}; measured: "
            f"{', '.join(VALIDATION_METRICS)} (as best_val_<name> or final_val_<name>)"
        )
    if direction not in DIRECTIONS:
        raise SearchError(f"{where}.direction: {direction!r} is not one of minimize, maximize")
    return Objective(metric, direction)


def _pruner(pruner: object, where: str) -> Pruner:
    if not isinstance(pruner, Mapping) or pruner.get("kind") not in PRUNER_KEYS:
        kind = pruner.get("kind") if isinstance(pruner, Mapping) else pruner
        raise SearchError(f"{where}.kind: {kind!r} is not one of {', '.join(PRUNER_KEYS)}")
    kind = pruner["kind"]
    for key in pruner:
        if key not in PRUNER_KEYS[kind]:
            allowed = ", ".join(PRUNER_KEYS[kind])
            raise SearchError(f"{where}.{key}: not a key of pruner {kind}; allowed: {allowed}")
    if kind == "none":
        return Pruner(kind)
    if "min_epochs" not in pruner:
        raise SearchError(f"{where}.min_epochs: required (the epochs of the first rung)")
    factor = pruner.get("reduction_factor", DEFAULT_REDUCTION_FACTOR)
    return Pruner(
        kind,
        min_epochs=_integer(pruner["min_epochs"], f"{where}.min_epochs", 1),
        reduction_factor=_integer(factor, f"{where}.reduction_factor", 2),
    )


def _check_grid(space: tuple[Parameter, ...], n_trials: int, where: str) -> None:
    points = 1
    for parameter in space:
        values = parameter.grid_values()
        if values is None:
            raise SearchError(
                f"{where}.space.{parameter.key}: the grid sampler needs a step for a float "
                "range (or type: categorical)"
            )
        points *= len(values)
    if n_trials > points:
        raise SearchError(f"{where}.n_trials: {n_trials} is more than the grid's {points} points")


def _check_numeric(space: tuple[Parameter, ...], where: str) -> None:
    """CMA-ES models numeric ranges only; Optuna would draw a categorical key at random, apart
    from the rest, warning once per trial."""
    for parameter in space:
        if isinstance(parameter.distribution, CategoricalDistribution):
            raise SearchError(
                f"{where}.space.{parameter.key}: the cmaes sampler takes numeric ranges only; "
                "use sampler tpe (or random) for categorical choices"
            )
