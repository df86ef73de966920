"""Sweep expansion, run naming and the fast composition the workflow uses at parse time."""

from __future__ import annotations

import json

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from thesis_ml.config import ConfigError, compose, to_plain_dict
from thesis_ml.pipeline import run_configs
from thesis_ml.pipeline.run_configs import RunConfigCache, compose_run
from thesis_ml.pipeline.sweep import (
    MAX_NAME_LENGTH,
    SweepError,
    data_id,
    expand_sweep,
    format_override,
)

AE_SWEEP = {
    "sweep": "ae",
    "overrides": ["trainer.epochs=2"],
    "grid": {"phase1/tokenizer": ["none", "vq"], "phase1.encoder.latent_dim": [4, 8]},
    "conditional": [
        {"when": {"phase1/tokenizer": "vq"}, "grid": {"phase1.tokenizer.codebook_size": [16, 64]}}
    ],
    "seeds": [0, 1],
}


def test_conditional_axis_multiplies_only_matching_points():
    runs = expand_sweep(AE_SWEEP)
    # none: 2 latents x 2 seeds; vq: 2 latents x 2 codebooks x 2 seeds
    assert len(runs) == 4 + 8
    continuous = [r for r in runs if dict(r.swept)["phase1/tokenizer"] == "none"]
    assert all("phase1.tokenizer.codebook_size" not in dict(r.swept) for r in continuous)
    assert len({r.name for r in runs}) == len(runs)


def test_names_are_readable_deterministic_and_made_of_swept_values():
    first, again = expand_sweep(AE_SWEEP), expand_sweep(AE_SWEEP)
    assert [r.name for r in first] == [r.name for r in again]
    vq = next(r for r in first if "codebook_size" in r.name)
    assert vq.name == "tokenizer-vq__latent_dim-4__codebook_size-16__seed-0"
    assert vq.overrides[0] == "trainer.epochs=2"
    assert "phase1.tokenizer.codebook_size=16" in vq.overrides


def test_explicit_runs_are_added_and_exact_duplicates_dropped():
    sweep = {
        "sweep": "s",
        "grid": {"model.activation": ["relu"]},
        "runs": [{"model.activation": "relu"}, {"model.activation": "tanh", "trainer.lr": 0.1}],
    }
    names = [r.name for r in expand_sweep(sweep)]
    assert len(names) == 2
    assert any("lr-0.1" in n for n in names)


def test_empty_grid_is_refused_naming_it():
    with pytest.raises(SweepError, match="model.activation"):
        expand_sweep({"sweep": "s", "grid": {"model.activation": []}})


@pytest.mark.parametrize(
    "value",
    ["has space", "it's", 'say "hi"', "a;b", "$(rm -rf /)", "line\nbreak", "../../etc", "x" * 300],
)
def test_hostile_values_survive_the_override_grammar_and_make_safe_names(value):
    runs = expand_sweep({"sweep": "s", "grid": {"trainer.loop": [value]}})
    (run,) = runs
    override = next(o for o in run.overrides if o.startswith("trainer.loop="))
    assert OverridesParser.create().parse_override(override).value() == value
    assert "/" not in run.name and "\n" not in run.name and " " not in run.name
    assert not run.name.startswith(".") and len(run.name) <= MAX_NAME_LENGTH


def test_values_that_sanitise_alike_get_distinct_names():
    runs = expand_sweep({"sweep": "s", "grid": {"trainer.loop": ["a b", "a;b"]}})
    assert len({r.name for r in runs}) == 2


@pytest.mark.parametrize("value", [0.001, 1e-8, 3, True, None, [64, 64], "gelu", "8"])
def test_formatted_overrides_parse_back_to_the_value(value):
    text = format_override("k", value)
    assert OverridesParser.create().parse_override(text).value() == value


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["model.activation=gelu", "trainer.lr=0.01", "model.hidden_sizes=[3,4]"],
        ["data.task=binary", "trainer.seed=7", "logging=plots_minimal"],
        ["logging.dpi=72", "run_dir=/somewhere"],
    ],
)
def test_fast_composition_equals_hydra_compose(overrides):
    assert compose_run(overrides) == to_plain_dict(compose(overrides))


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["trainer.epoch=3"], "trainer.epoch"),
        (["trainer.epochs=ten"], "trainer.epochs"),
        (["model=foo"], "model"),
        (["model.activation=foo"], "model.activation"),
    ],
)
def test_fast_composition_rejects_what_compose_rejects(overrides, named):
    with pytest.raises(ConfigError, match=named):
        compose(overrides)
    with pytest.raises(ConfigError, match=named):
        compose_run(overrides)


def test_run_config_cache_reads_back_what_it_composed(tmp_path, monkeypatch):
    overrides = ("trainer.lr=0.02",)
    cache = RunConfigCache(tmp_path)
    first = cache.get(overrides)
    assert not list(tmp_path.rglob("*.json"))  # nothing written before save
    cache.save()
    (entries,) = tmp_path.rglob("*.json")
    assert json.loads(entries.read_text()) == {json.dumps(list(overrides)): first}
    written = entries.stat().st_mtime_ns
    monkeypatch.setattr(run_configs, "compose_run", lambda overrides: pytest.fail("composed"))
    reader = RunConfigCache(tmp_path)
    assert reader.get(overrides) == first
    reader.save()  # it only read: nothing to write
    assert entries.stat().st_mtime_ns == written


def test_torn_or_stale_cache_files_are_replaced(tmp_path):
    cache = RunConfigCache(tmp_path)
    expected = cache.get(("trainer.lr=0.02",))
    stale = tmp_path / "0123456789abcdef.json"  # another config tree's entries
    stale.write_text("{}")
    (tmp_path / "fedcba9876543210").mkdir()  # the older layout: a directory of files per run
    (tmp_path / "fedcba9876543210" / "entry.json").write_text("{}")
    cache.save()
    assert [path.name for path in tmp_path.iterdir()] == [cache.path.name]
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text('{"[\\"trainer.lr=0.')
    torn = RunConfigCache(tmp_path)
    assert torn.get(("trainer.lr=0.02",)) == expected
    torn.save()
    assert json.loads(entry.read_text())


def test_data_id_depends_on_the_data_config_only():
    data = to_plain_dict(compose())["data"]
    assert data_id(data) == data_id(dict(reversed(list(data.items()))))
    assert data_id(data) != data_id({**data, "seed": data["seed"] + 1})


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"phase1/tokenizr": "vq"}, r"conditional\.0\.when\.phase1/tokenizr: not a grid key"),
        ({"phase1/tokenizer": "vqq"}, r"conditional\.0\.when\.phase1/tokenizer: 'vqq' is not"),
    ],
)
def test_a_when_that_matches_no_grid_point_is_refused_naming_the_key(when, message):
    sweep = {**AE_SWEEP, "conditional": [{**AE_SWEEP["conditional"][0], "when": when}]}
    with pytest.raises(SweepError, match=message):
        expand_sweep(sweep)


@pytest.mark.parametrize(
    "sweep",
    [
        {**AE_SWEEP, "grid": {**AE_SWEEP["grid"], "trainer.seed": [0, 1]}},
        {
            **AE_SWEEP,
            "conditional": [{"when": {"phase1/tokenizer": "vq"}, "grid": {"trainer.seed": [1]}}],
        },
        {**AE_SWEEP, "runs": [{"phase1/tokenizer": "vq", "trainer.seed": 3}]},
        {**AE_SWEEP, "overrides": ["trainer.epochs=2", "trainer.seed=3"]},
    ],
)
def test_a_seed_outside_seeds_is_refused_pointing_to_seeds(sweep):
    with pytest.raises(SweepError, match=r"trainer\.seed: .*seeds:"):
        expand_sweep(sweep)


@pytest.mark.parametrize(
    "sweep",
    [
        {**AE_SWEEP, "overrides": ["trainer.epochs=2", "run_dir=mine"]},
        {**AE_SWEEP, "grid": {**AE_SWEEP["grid"], "run_dir": ["a", "b"]}},
        {**AE_SWEEP, "runs": [{"phase1/tokenizer": "vq", "run_dir": "c"}]},
    ],
)
def test_a_run_dir_in_the_sweep_is_refused_saying_where_runs_go(sweep):
    # the pipeline sets each run's directory: this one would be replaced without a word
    with pytest.raises(SweepError, match=r"run_dir: the pipeline puts each run in results/"):
        expand_sweep(sweep)


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (
            {**AE_SWEEP, "overrides": ["trainer.epochs=2", "trainer.num_threads=4"]},
            r"trainer\.num_threads: `threads_per_run: N` sets the torch threads",
        ),
        ({**AE_SWEEP, "grid": {**AE_SWEEP["grid"], 1: ["a"]}}, r"grid: the key 1 is no override"),
        ({**AE_SWEEP, "runs": [{None: 2}]}, r"runs\.0: the key None is no override key"),
    ],
)
def test_keys_the_pipeline_sets_or_yaml_misreads_are_refused(sweep, message):
    with pytest.raises(SweepError, match=message):
        expand_sweep(sweep)


def test_a_train_job_runs_torch_on_its_threads(tmp_path):
    from thesis_ml.config import compose, to_plain_dict
    from thesis_ml.pipeline.train_step import resolved_config

    config = resolved_config(to_plain_dict(compose()), tmp_path / "run", 3)
    assert config["trainer"]["num_threads"] == 3  # the default config's 1 does not win
