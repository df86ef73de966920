"""Property-based tests: composition round-trips, invalid configs named, torn facts readable
(and what a run is compared against known from its first record on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TINY
from thesis_ml.config import ConfigError, compose, to_plain_dict
from thesis_ml.facts import (
    EVENTS_FILE,
    SCALARS_FILE,
    FactsError,
    read_events,
    read_scalars,
    run_facts,
)
from thesis_ml.pipeline.run_configs import compose_run
from thesis_ml.pipeline.sweep import format_override
from thesis_ml.run_directory import load_run_config
from thesis_ml.train import run_loop

# compose() takes about 0.1 s: a few dozen examples per property keep the suite fast.
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID_VALUES = {
    "trainer.epochs": st.integers(1, 500),
    "trainer.batch_size": st.integers(1, 4096),
    "trainer.lr": st.floats(1e-6, 10.0, allow_nan=False),
    "trainer.lr_schedule": st.sampled_from(["constant", "cosine"]),
    "trainer.seed": st.integers(0, 2**31),
    "trainer.checkpoint_every": st.integers(0, 100),
    "trainer.divergence_factor": st.none() | st.floats(1.5, 1e9),
    "trainer.num_threads": st.none() | st.integers(1, 16),
    "model.hidden_sizes": st.lists(st.integers(1, 256), min_size=1, max_size=4),
    "model.activation": st.sampled_from(["relu", "gelu", "tanh", "silu"]),
    "data.task": st.sampled_from(["regression", "binary"]),
    "logging.quiet": st.booleans(),
    "run_dir": st.none() | st.text(st.characters(codec="ascii", min_codepoint=32), min_size=1),
}
# Keys with a value of the wrong type or out of range; each must be refused naming the key.
INVALID_VALUES = {
    "trainer.epochs": st.integers(max_value=0) | st.text(min_size=1).filter(str.isalpha),
    "trainer.batch_size": st.integers(max_value=0),
    "trainer.lr": st.floats(max_value=0.0, allow_nan=False),
    "trainer.lr_schedule": st.sampled_from(["linear", "step", "Cosine"]),
    "trainer.checkpoint_every": st.integers(max_value=-1),
    "trainer.divergence_factor": st.floats(max_value=1.0, allow_nan=False),
    "model.activation": st.sampled_from(["sigmoid", "RELU", "none"]),
    "model.hidden_sizes": st.lists(st.integers(max_value=0), min_size=1, max_size=3),
    "data.task": st.sampled_from(["regresion", "multiclass"]),
}

valid_overrides = st.dictionaries(
    st.sampled_from(sorted(VALID_VALUES)), st.none(), max_size=5
).flatmap(lambda keys: st.fixed_dictionaries({key: VALID_VALUES[key] for key in keys}))


@FEW
@given(values=valid_overrides)
def test_valid_overrides_compose_alike_and_round_trip_through_cfg_yaml(values, tmp_path_factory):
    overrides = [format_override(key, value) for key, value in values.items()]
    plain = to_plain_dict(compose(overrides))
    assert compose_run(overrides) == plain
    for key, value in values.items():
        section, _, name = key.rpartition(".")
        assert (plain[section] if section else plain)[name] == value
    path = tmp_path_factory.mktemp("cfg") / "cfg.yaml"
    path.write_text(yaml.safe_dump(plain, sort_keys=False), encoding="utf-8")
    assert to_plain_dict(load_run_config(path)) == plain


@FEW
@given(key=st.sampled_from(sorted(INVALID_VALUES)), data=st.data())
def test_invalid_values_are_refused_naming_the_key(key, data):
    value = data.draw(INVALID_VALUES[key])
    override = format_override(key, value)
    for composer in (compose, compose_run):
        with pytest.raises(ConfigError) as error:
            composer([override])
        assert key in str(error.value)


@FEW
@given(
    section=st.sampled_from(["trainer", "model", "data", "logging"]),
    name=st.from_regex(r"[a-z][a-z_]{2,12}", fullmatch=True),
)
def test_unknown_keys_are_refused_naming_them(section, name):
    if name in to_plain_dict(compose())[section]:
        return
    with pytest.raises(ConfigError, match=f"{section}.{name}"):
        compose([f"{section}.{name}=1"])


@pytest.fixture(scope="module")
def facts_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("facts") / "run"
    run_loop(compose([*TINY, "trainer.epochs=3", f"run_dir={run_dir}"]))
    return run_dir


def _with_file(run_dir: Path, name: str, content: bytes, tmp: Path) -> Path:
    facts = tmp / "facts"
    facts.mkdir(parents=True, exist_ok=True)
    for other in (EVENTS_FILE, SCALARS_FILE):
        (facts / other).write_bytes((run_dir / "facts" / other).read_bytes())
    (facts / name).write_bytes(content)
    return tmp


@FEW
@given(name=st.sampled_from([EVENTS_FILE, SCALARS_FILE]), cut=st.floats(0, 1), data=st.data())
def test_truncated_facts_load_up_to_the_cut_or_fail_cleanly(
    facts_run, tmp_path_factory, name, cut, data
):
    """A file cut at any byte reads as a prefix of the full records; one with a middle part
    removed (a torn write followed by more lines) reads or raises FactsError, nothing else."""
    reader = read_events if name == EVENTS_FILE else read_scalars
    full_bytes = (facts_run / "facts" / name).read_bytes()
    full = reader(facts_run)
    end = int(cut * len(full_bytes))
    run = _with_file(facts_run, name, full_bytes[:end], tmp_path_factory.mktemp("cut"))
    try:
        records = reader(run)
    except FactsError as error:  # only an empty scalars file (no header) is an error here
        assert name == SCALARS_FILE and "empty" in str(error)
    else:
        assert records == full[: len(records)]
        assert len(records) == max(0, full_bytes[:end].count(b"\n") - (name == SCALARS_FILE))
        if name == EVENTS_FILE:  # what the run is compared against is known from its start
            facts = run_facts(run, records, [])
            start = full[0] if records else {}
            assert facts.yardsticks == start.get("yardsticks", {})
            assert facts.reference_kind == start.get("reference_kind")
            assert facts.provenance == start.get("provenance", {})

    start = data.draw(st.integers(0, len(full_bytes)))
    stop = data.draw(st.integers(start, len(full_bytes)))
    spliced = full_bytes[:start] + full_bytes[stop:]
    run = _with_file(facts_run, name, spliced, tmp_path_factory.mktemp("splice"))
    try:
        json.dumps(reader(run))
    except FactsError as error:
        assert name in str(error)
