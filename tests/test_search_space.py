"""The search section: parsing, the messages that name a bad key, Optuna's distributions, the
JSON schema fragment, and the check of the searched keys against the run config."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from thesis_ml.config import compose
from thesis_ml.errors import UserError
from thesis_ml.search import SearchError
from thesis_ml.search.run_config import check_run_config
from thesis_ml.search.samplers import SAMPLERS
from thesis_ml.search.section import parse_search

SCHEMA = Path(__file__).resolve().parents[1] / "src/thesis_ml/search/schema.yaml"

SECTION = {
    "sampler": "tpe",
    "n_trials": 32,
    "batch": 8,
    "objective": {"metric": "best_val_loss", "direction": "minimize"},
    "space": {
        "trainer.lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True},
        "model.hidden_sizes": {"type": "categorical", "choices": [[32], [64], [64, 64]]},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "trainer.batch_size": {"type": "int", "low": 32, "high": 256, "step": 32},
    },
    "pruner": {"kind": "successive_halving", "min_epochs": 5, "reduction_factor": 3},
}


def edited(path: str | tuple[str, ...], value: object, section: dict = SECTION) -> dict:
    """A copy of ``section`` with the value at ``path`` (a key, or a tuple of keys) replaced;
    ``...`` deletes it."""
    keys = (path,) if isinstance(path, str) else path
    result = copy.deepcopy(section)
    target = result
    for key in keys[:-1]:
        target = target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return result


def test_a_good_section_parses_with_its_defaults():
    search = parse_search({"n_trials": 4, "space": {"trainer.lr": SECTION["space"]["trainer.lr"]}})
    assert (search.sampler, search.seed, search.batch) == ("tpe", 0, 1)
    assert (search.objective.metric, search.objective.direction) == ("best_val_loss", "minimize")
    assert search.objective.source == ("best", "val_loss")
    assert search.pruner.kind == "none"
    full = parse_search(SECTION)
    assert (full.pruner.min_epochs, full.pruner.reduction_factor) == (5, 3)
    assert [p.key for p in full.space] == sorted(SECTION["space"])


def test_the_space_maps_to_optuna_distributions():
    distributions = parse_search(SECTION).distributions
    assert distributions["trainer.lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert distributions["model.dropout"] == FloatDistribution(0.0, 0.5)
    assert distributions["trainer.batch_size"] == IntDistribution(32, 256, step=32)
    assert distributions["model.hidden_sizes"] == CategoricalDistribution(
        ["[32]", "[64]", "[64,64]"]
    )


def test_list_choices_round_trip_into_override_strings():
    (parameter,) = parse_search(
        edited("space", {"model.hidden_sizes": SECTION["space"]["model.hidden_sizes"]})
    ).space
    parser = OverridesParser.create()
    for choice in ([32], [64], [64, 64]):
        held = parameter.to_optuna(choice)
        assert isinstance(held, str) and parameter.from_optuna(held) == choice
        override = parameter.override(parameter.from_optuna(held))
        assert parser.parse_override(override).value() == choice
    assert compose([parameter.override([64, 64])]).model.hidden_sizes == [64, 64]


def test_mixed_choices_are_all_encoded_so_a_string_is_never_taken_for_a_list():
    section = edited("space", {"x.y": {"type": "categorical", "choices": ["[1]", [1], None]}})
    (parameter,) = parse_search(section).space
    for choice in ("[1]", [1], None):
        assert parameter.from_optuna(parameter.to_optuna(choice)) == choice
    scalar = parse_search(edited("space", {"x.y": {"type": "categorical", "choices": [1, "a"]}}))
    assert scalar.space[0].distribution.choices == (1, "a")


def test_the_digest_ignores_n_trials_and_key_order_only():
    digest = parse_search(SECTION).digest
    assert parse_search(edited("n_trials", 64)).digest == digest
    reordered = edited("space", dict(reversed(list(SECTION["space"].items()))))
    assert parse_search(reordered).digest == digest
    assert parse_search(edited(("space", "model.dropout", "low"), 0)).digest == digest  # 0 is 0.0
    for path, value in [
        ("seed", 1),
        ("sampler", "random"),
        ("batch", 4),
        (("space", "model.dropout", "high"), 0.4),
        (("objective", "direction"), "maximize"),
        (("pruner", "reduction_factor"), 2),
    ]:
        assert parse_search(edited(path, value)).digest != digest, path


BAD_SECTIONS = [
    (("bogus", 1), "search.bogus: unknown key"),
    (("n_trials", ...), "search.n_trials: required"),
    (("n_trials", 0), "search.n_trials: 0 is below 1"),
    (("n_trials", 2.5), "search.n_trials: 2.5 is not an integer"),
    (("batch", 0), "search.batch: 0 is below 1"),
    (("batch", True), "search.batch: True is not an integer"),
    (("seed", -1), "search.seed: -1 is below 0"),
    (("sampler", "bayes"), "search.sampler: 'bayes' is not one of tpe, random, grid, cmaes"),
    (("space", {}), "search.space: empty"),
    (("space", [1]), "search.space: expected a mapping"),
    (
        (("space", "trainer.lr", "low"), 0.1),
        "search.space.trainer.lr.low: 0.1 is not below high=0.1",
    ),
    (
        (("space", "trainer.lr"), {"type": "float", "low": 0.1, "high": 0.01}),
        "search.space.trainer.lr.low: 0.1 is not below high=0.01",
    ),
    (
        (("space", "trainer.lr", "low"), 0.0),
        "search.space.trainer.lr.log: needs low > 0, got low=0.0",
    ),
    (
        (("space", "trainer.lr", "low"), "small"),
        "search.space.trainer.lr.low: 'small' is not a finite",
    ),
    ((("space", "trainer.lr", "high"), ...), "search.space.trainer.lr.high: required"),
    (
        (("space", "trainer.lr", "log"), "yes"),
        "search.space.trainer.lr.log: 'yes' is not true or false",
    ),
    ((("space", "trainer.lr", "step"), 0.01), "search.space.trainer.lr.step: not with log: true"),
    (
        (("space", "trainer.lr", "choices"), [1]),
        "search.space.trainer.lr.choices: not a key of a float",
    ),
    (
        (("space", "trainer.lr", "type"), "real"),
        "search.space.trainer.lr.type: 'real' is not one of",
    ),
    ((("space", "trainer.lr"), 0.1), "search.space.trainer.lr: expected a mapping with type"),
    (
        (("space", "model.dropout", "step"), 0.3),
        "search.space.model.dropout.high: 0.5 is not low=0.0",
    ),
    (
        (("space", "model.dropout", "step"), -1),
        "search.space.model.dropout.step: -1 is not a positive",
    ),
    (
        (("space", "trainer.batch_size", "low"), 1.5),
        "search.space.trainer.batch_size.low: 1.5 is not an",
    ),
    (
        (("space", "trainer.batch_size", "step"), 0),
        "search.space.trainer.batch_size.step: 0 is not",
    ),
    (
        (("space", "model.hidden_sizes", "choices"), []),
        "search.space.model.hidden_sizes.choices: expected",
    ),
    ((("space", "model.hidden_sizes", "choices"), [[32], [32]]), "[32] equals an earlier choice"),
    ((("space", "model.hidden_sizes", "choices"), [1, 1.0]), "1.0 equals an earlier choice"),
    (
        (("space", "model.hidden_sizes", "low"), 1),
        "search.space.model.hidden_sizes.low: not a key of a",
    ),
    (
        (("space", "+trainer.extra"), {"type": "int", "low": 1, "high": 2}),
        "search.space.+trainer.ex",
    ),
    (
        (("space", "trainer.seed"), {"type": "int", "low": 0, "high": 9}),
        "search.space.trainer.seed:",
    ),
    (
        (("space", "run_dir"), {"type": "categorical", "choices": ["a", "b"]}),
        "search.space.run_dir: the pipeline puts each run in results/",
    ),
    (
        (("space", "trainer.epochs"), {"type": "int", "low": 5, "high": 9}),
        "search.space.trainer.epo",
    ),
    (
        (("objective", "metric"), "best_test_loss"),
        "search.objective.metric: best_test_loss is measured",
    ),
    (
        (("objective", "metric"), "loss"),
        "search.objective.metric: 'loss' is not a validation metric",
    ),
    (
        (("objective", "metric"), "best_val_los"),
        "search.objective.metric: best_val_los: no run measures 'los'; measured: loss, accuracy",
    ),
    ((("objective", "direction"), "down"), "search.objective.direction: 'down' is not one of"),
    ((("objective", "goal"), 1), "search.objective.goal: unknown key"),
    ((("pruner", "kind"), "hyperband"), "search.pruner.kind: 'hyperband' is not one of"),
    (("pruner", "none"), "search.pruner.kind: 'none' is not one of"),
    ((("pruner", "min_epochs"), ...), "search.pruner.min_epochs: required"),
    ((("pruner", "min_epochs"), 0), "search.pruner.min_epochs: 0 is below 1"),
    ((("pruner", "reduction_factor"), 1), "search.pruner.reduction_factor: 1 is below 2"),
    ((("pruner", "patience"), 3), "search.pruner.patience: not a key of pruner successive_halving"),
]


@pytest.mark.parametrize(("edit", "message"), BAD_SECTIONS, ids=[m for _, m in BAD_SECTIONS])
def test_every_bad_section_names_its_key(edit, message):
    with pytest.raises(SearchError) as raised:
        parse_search(edited(*edit))
    assert message in str(raised.value)
    assert isinstance(raised.value, UserError)
    assert "\n" not in str(raised.value)


def test_a_none_pruner_takes_no_other_keys_and_a_section_must_be_a_mapping():
    with pytest.raises(SearchError, match=r"search\.pruner\.min_epochs: not a key of pruner none"):
        parse_search(edited("pruner", {"kind": "none", "min_epochs": 2}))
    with pytest.raises(SearchError, match="^search: expected a mapping"):
        parse_search([SECTION])


def test_the_cmaes_sampler_takes_numeric_ranges_only():
    with pytest.raises(SearchError, match=r"search\.space\.model\.hidden_sizes: the cmaes sampler"):
        parse_search({**SECTION, "sampler": "cmaes"})
    numeric = edited(("space", "model.hidden_sizes"), ..., {**SECTION, "sampler": "cmaes"})
    assert parse_search(numeric).sampler == "cmaes"


def test_the_grid_sampler_needs_a_finite_grid_no_smaller_than_n_trials():
    grid = {**SECTION, "sampler": "grid", "n_trials": 12}
    with pytest.raises(SearchError, match=r"search\.space\.model\.dropout: the grid sampler needs"):
        parse_search(grid)
    stepped = edited(("space", "model.dropout", "step"), 0.25, grid)
    stepped = edited(
        ("space", "trainer.lr"), {"type": "categorical", "choices": [1e-3, 1e-2]}, stepped
    )
    assert parse_search(stepped).sampler == "grid"
    tenths = edited(("space", "model.dropout", "step"), 0.1, stepped)
    dropout = next(p for p in parse_search(tenths).space if p.key == "model.dropout")
    assert dropout.grid_values() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]  # no 0.30000000000000004
    # 3 dropouts x 3 hidden sizes x 8 batch sizes x 2 rates
    with pytest.raises(SearchError, match="search.n_trials: 145 is more than the grid's 144"):
        parse_search({**stepped, "n_trials": 145})


def test_the_schema_fragment_accepts_good_sections_and_refuses_wrong_types():
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = [SECTION, {"n_trials": 1, "space": {"a.b": {"type": "categorical", "choices": [1]}}}]
    good.append(edited("pruner", {"kind": "none"}))
    for section in good:
        parse_search(section)
        assert not list(validator.iter_errors(section))
    refused = [
        ("sampler", "bayes"),
        ("batch", 0),
        (("space", "trainer.lr", "log"), "yes"),
        ("bogus", 1),
    ]
    refused += [(("pruner", "kind"), "hyperband"), (("space", "trainer.lr", "choices"), [1])]
    for edit in refused:
        assert list(validator.iter_errors(edited(*edit))), edit


def test_searched_keys_are_checked_against_the_run_config():
    base = ["trainer.epochs=20"]
    config = check_run_config(parse_search(SECTION), base)
    assert config["trainer"]["epochs"] == 20
    unknown = edited(("space", "trainer.lrate"), {"type": "float", "low": 0.1, "high": 0.2})
    with pytest.raises(SearchError, match=r"^search\.space\.trainer\.lrate: unknown key"):
        check_run_config(parse_search(unknown), base)
    group = edited(("space", "phase1/tokenizer"), {"type": "categorical", "choices": ["vqq"]})
    with pytest.raises(SearchError, match=r"^search\.space\.phase1/tokenizer: no option 'vqq'"):
        check_run_config(parse_search(group), base)
    with pytest.raises(SearchError, match=r"^overrides: trainer\.epoch: unknown key"):
        check_run_config(parse_search(SECTION), ["trainer.epoch=20"])
    with pytest.raises(SearchError, match=r"search\.pruner\.min_epochs: 5 is not below"):
        check_run_config(parse_search(SECTION), ["trainer.epochs=5"])


def test_the_schema_names_every_registered_sampler():
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    assert schema["properties"]["sampler"]["enum"] == list(SAMPLERS)
