"""The search space: a range or a list of choices per override key, as Optuna distributions.

An entry is ``{type: float|int, low, high, log, step}`` or ``{type: categorical, choices}``.
Optuna's categorical distribution holds only None, bool, int, float and str, so a key whose
choices include a list or a mapping (``model.hidden_sizes: [[32], [64, 64]]``) hands Optuna the
JSON text of every one of its choices and decodes the sampled one for the override: encoding
all of them, not only the lists, means that a string choice is never taken for an encoded one.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from thesis_ml.pipeline.sweep import PIPELINE_SET_KEYS, SEED_KEY, format_override
from thesis_ml.search import SearchError

ENTRY_KEYS = {
    "float": ("type", "low", "high", "log", "step"),
    "int": ("type", "low", "high", "log", "step"),
    "categorical": ("type", "choices"),
}
_SCALAR_CHOICE = (type(None), bool, int, float, str)
# A dotted key (trainer.lr) or a config group (phase1/tokenizer); Hydra's prefixes (+ ++ ~)
# add or delete keys, which a search cannot sample.
_OVERRIDE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:[./][A-Za-z0-9_-]+)*$")


@dataclass(frozen=True)
class Parameter:
    """One searched override key and the Optuna distribution of its values."""

    key: str
    distribution: BaseDistribution
    json_choices: bool = False  # Optuna holds the JSON text of each choice (module docstring)

    def to_optuna(self, value: object) -> object:
        return _json_text(value) if self.json_choices else value

    def from_optuna(self, value: object) -> object:
        return json.loads(value) if self.json_choices else value

    def override(self, value: object) -> str:
        """The Hydra override that gives a run ``value`` (as the run gets it, not encoded)."""
        return format_override(self.key, value)

    def first_value(self) -> object:
        """A value of the space (to compose the run config with)."""
        if isinstance(self.distribution, CategoricalDistribution):
            return self.from_optuna(self.distribution.choices[0])
        return self.distribution.low

    def extreme_values(self) -> list:
        """The values a run can get at the edges of the space, as the run gets them: every
        choice, or a range's low and high (the run config checks each)."""
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            return [self.from_optuna(choice) for choice in dist.choices]
        return [dist.low, dist.high]

    def grid_values(self) -> list | None:
        """Every value, as Optuna holds it, for the grid sampler; None for a continuous range."""
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            return list(dist.choices)
        if isinstance(dist, IntDistribution):
            return list(range(dist.low, dist.high + 1, dist.step))
        if dist.step is None:
            return None
        # in decimal, so that low=0, step=0.1 gives 0.3, not 0.30000000000000004
        low, step = Decimal(repr(dist.low)), Decimal(repr(dist.step))
        count = int((Decimal(repr(dist.high)) - low) / step) + 1
        return [float(low + index * step) for index in range(count)]

    def normalized(self) -> dict:
        """The entry with every default filled in, for the search's digest."""
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            return {"type": "categorical", "choices": [self.from_optuna(c) for c in dist.choices]}
        kind = "int" if isinstance(dist, IntDistribution) else "float"
        return {
            "type": kind,
            "low": dist.low,
            "high": dist.high,
            "log": dist.log,
            "step": dist.step,
        }


def parse_space(space: object, where: str) -> tuple[Parameter, ...]:
    """The parameters of a ``space:`` mapping, sorted by key (so that the order a file lists
    them in changes neither the digest nor the order Optuna samples them in)."""
    if not isinstance(space, Mapping):
        raise SearchError(f"{where}: expected a mapping of override key -> range or choices")
    if not space:
        raise SearchError(
            f"{where}: empty; give at least one override key to search, e.g. "
            "trainer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}"
        )
    for key in space:
        _check_key(key, f"{where}.{key}")
    return tuple(_parameter(key, space[key], f"{where}.{key}") for key in sorted(space))


def _check_key(key: object, where: str) -> None:
    if not isinstance(key, str) or not _OVERRIDE_KEY.match(key):
        raise SearchError(
            f"{where}: not an override key (a dotted key such as trainer.lr, or a config group "
            "such as phase1/tokenizer; without +, ++ or ~)"
        )
    if key == SEED_KEY:
        raise SearchError(
            f"{where}: a seed is not searched (the best seed is luck, not a configuration); "
            "the sweep's seeds: sets it"
        )
    if key in PIPELINE_SET_KEYS:  # the trial's value would be replaced, and shown as if used
        raise SearchError(f"{where}: {PIPELINE_SET_KEYS[key]}")


def _parameter(key: str, entry: object, where: str) -> Parameter:
    if not isinstance(entry, Mapping) or "type" not in entry:
        raise SearchError(f"{where}: expected a mapping with type: float, int or categorical")
    kind = entry["type"]
    if kind not in ENTRY_KEYS:
        raise SearchError(f"{where}.type: {kind!r} is not one of float, int, categorical")
    unknown = [name for name in entry if name not in ENTRY_KEYS[kind]]
    if unknown:
        raise SearchError(
            f"{where}.{unknown[0]}: not a key of a {kind} entry; allowed: "
            + ", ".join(ENTRY_KEYS[kind])
        )
    if kind == "categorical":
        return _categorical(key, entry, where)
    return Parameter(key, _range(kind, entry, where))


def _range(kind: str, entry: Mapping, where: str) -> BaseDistribution:
    integer = kind == "int"
    for bound in ("low", "high"):
        if bound not in entry:
            raise SearchError(f"{where}.{bound}: required for a {kind} range")
        if not _is_number(entry[bound], integer):
            wanted = "an integer" if integer else "a finite number"
            raise SearchError(f"{where}.{bound}: {entry[bound]!r} is not {wanted}")
    low, high = entry["low"], entry["high"]
    if low >= high:
        raise SearchError(f"{where}.low: {low} is not below high={high}")
    log, step = entry.get("log", False), entry.get("step")
    if not isinstance(log, bool):
        raise SearchError(f"{where}.log: {log!r} is not true or false")
    if log and low <= 0:
        raise SearchError(f"{where}.log: needs low > 0, got low={low}")
    if step is not None and not (_is_number(step, integer) and step > 0):
        raise SearchError(f"{where}.step: {step!r} is not a positive {kind}")
    if log and step is not None and not (integer and step == 1):
        raise SearchError(f"{where}.step: not with log: true (a log range has no step)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's warning that it lowers high: refused below
        if integer:
            distribution = IntDistribution(low, high, log=log, step=step or 1)
        else:
            distribution = FloatDistribution(
                float(low), float(high), log=log, step=None if step is None else float(step)
            )
    if distribution.high != high:
        raise SearchError(
            f"{where}.high: {high} is not low={low} plus a multiple of step={step} "
            f"(the last such value is {distribution.high})"
        )
    return distribution


def _is_number(value: object, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    if integer:
        return isinstance(value, int)
    return isinstance(value, int | float) and math.isfinite(value)


def _categorical(key: str, entry: Mapping, where: str) -> Parameter:
    choices = entry.get("choices")
    if not isinstance(choices, list) or not choices:
        raise SearchError(f"{where}.choices: expected a non-empty list of values")
    try:
        texts = [_json_text(choice) for choice in choices]
    except (TypeError, ValueError) as error:
        raise SearchError(f"{where}.choices: not plain data ({error})") from None
    # Optuna finds a choice by equality, so 1 and 1.0 (or true and 1) would be one choice.
    for index, choice in enumerate(choices):
        if choice in choices[:index]:
            raise SearchError(f"{where}.choices: {texts[index]} equals an earlier choice")
    json_choices = not all(isinstance(choice, _SCALAR_CHOICE) for choice in choices)
    distribution = CategoricalDistribution(texts if json_choices else choices)
    return Parameter(key, distribution, json_choices)


def _json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
