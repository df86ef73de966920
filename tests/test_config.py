"""Config composition, validation and the messages a bad config gets."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from thesis_ml.config import (
    CONFIG_DIR,
    ConfigError,
    compose,
    group_options,
    to_plain_dict,
    validate,
)
from thesis_ml.config_schema import SCHEMA_DIR, run_config_schema
from thesis_ml.run_directory import load_run_config

# The groups of the supervised core (the phase1 and logging groups have their own tests).
CORE_GROUPS = ("data", "model", "trainer")


def _error(overrides, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        compose(overrides, **kwargs)
    return str(caught.value)


def test_compose_returns_a_resolved_struct_config_and_leaves_no_hydra_state():
    from hydra.core.global_hydra import GlobalHydra

    cwd = os.getcwd()
    cfg = compose(["trainer.epochs=3", "model.hidden_sizes=[8,4]", "model=mlp"])
    assert cfg.trainer.epochs == 3
    assert list(cfg.model.hidden_sizes) == [8, 4]
    assert OmegaConf.is_struct(cfg)
    with pytest.raises(Exception, match="epoch"):
        cfg.trainer.epoch = 5  # a typo must not silently add a key
    assert os.getcwd() == cwd
    assert not GlobalHydra.instance().is_initialized()


def test_default_config_validates_and_every_schema_key_is_described():
    """Descriptions end up in error messages: a key without one gets a bare message."""
    validate(compose())
    undescribed = [
        f"{group}.{key}"
        for group in CORE_GROUPS
        for key, schema in run_config_schema()["properties"][group]["properties"].items()
        if "description" not in schema
    ]
    assert not undescribed


def test_every_key_of_the_shipped_configs_is_commented():
    """The project standard: a reader of a config file learns what each key means there."""
    uncommented = []
    for path in sorted(
        path for group in CORE_GROUPS for path in (CONFIG_DIR / group).glob("*.yaml")
    ):
        previous = ""
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            is_key = re.match(r"^\s*(- )?[\w/]+:", line)
            commented = "#" in line or previous.lstrip().startswith("#")
            is_mapping = line.rstrip().endswith(":")  # its children carry the comments
            if is_key and not commented and not is_mapping:
                uncommented.append(f"{path.relative_to(CONFIG_DIR)}:{number}: {line}")
            previous = line
    assert not uncommented, "\n".join(uncommented)


def test_group_options_lists_the_shipped_options():
    options = group_options()
    assert options["model"] == ["mlp"]
    assert "synthetic" in options["data"]
    assert "default" in options["trainer"]


def test_unknown_key_names_it_and_lists_the_allowed_keys_of_its_section():
    message = _error(["trainer.epoch=5"])
    assert message.startswith("trainer.epoch: unknown key")
    for key in compose().trainer:
        assert key in message
    assert "\n" not in message
    assert "+trainer.epoch" not in message  # Hydra's advice to append does not apply


def test_appended_unknown_key_is_caught_by_the_schema_the_same_way():
    message = _error(["+trainer.epoch=5"])
    assert "trainer.epoch: unknown key" in message
    assert "epochs" in message


def test_unknown_top_level_key_lists_the_top_level_keys():
    message = _error(["foo=1"])
    assert message.startswith("foo: unknown key")
    assert "run_dir" in message and "trainer" in message
    assert "hydra" not in message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.epochs=ten", ['trainer.epochs: got "ten"', "integer >= 1"]),
        ("trainer.epochs=-1", ["trainer.epochs: got -1", "integer >= 1"]),
        ("model.activation=foo", ["model.activation", "relu, gelu, tanh, silu"]),
        ("data.task=ranking", ["data.task", "regression", "binary"]),
        ("data.train_frac=1.5", ["data.train_frac: got 1.5", "number > 0 and < 1"]),
        ("model.hidden_sizes=[4,0]", ["model.hidden_sizes.1: got 0", "integer >= 1"]),
        ("trainer.lr_schedule=step", ["trainer.lr_schedule", "constant, cosine"]),
    ],
)
def test_invalid_value_names_the_key_and_the_allowed_values(override, expected):
    message = _error([override])
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_several_problems_are_listed_one_per_line():
    message = _error(["trainer.epochs=0", "model.dropout=2"])
    lines = message.splitlines()
    assert lines[0] == "invalid config:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["model.dropout", "trainer.epochs"]


def test_unknown_group_option_lists_the_available_ones_without_a_search_path_dump():
    message = _error(["model=foo"])
    assert message == "model: no option 'foo'; available: mlp"


def test_interpolation_pointing_nowhere_names_the_key():
    message = _error(["run_dir=${nowhere}"])
    assert message.startswith("run_dir: ")
    assert "nowhere" in message
    assert "\n" not in message


def test_malformed_override_is_one_short_message():
    message = _error(["trainer.epochs"])
    assert "trainer.epochs" in message
    assert "https://" not in message
    assert "\n" not in message


@pytest.fixture
def config_copy(tmp_path) -> Path:
    copy = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, copy)
    return copy


def test_yaml_syntax_error_in_a_config_file_names_the_file_and_line(config_copy):
    broken = config_copy / "trainer" / "default.yaml"
    lines = broken.read_text(encoding="utf-8").splitlines()
    lines[3] = "epochs: [20"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _error([], config_dir=config_copy)
    assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: YAML syntax error", message), message


def test_interpolation_pointing_nowhere_in_a_config_file_names_the_key(config_copy):
    target = config_copy / "trainer" / "default.yaml"
    text = target.read_text(encoding="utf-8").replace("epochs: 20", "epochs: ${trainer.rounds}")
    target.write_text(text, encoding="utf-8")
    message = _error([], config_dir=config_copy)
    assert message.startswith("trainer.epochs: ")
    assert "trainer.rounds" in message


def test_load_run_config_round_trips_a_saved_config(tmp_path):
    cfg = compose(["trainer.epochs=7"])
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(to_plain_dict(cfg)), encoding="utf-8")
    loaded = load_run_config(path)
    assert to_plain_dict(loaded) == to_plain_dict(cfg)
    assert OmegaConf.is_struct(loaded)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("trainer: [1", ":2:1: YAML syntax error"), ("- a\n- b\n", "expected a mapping")],
)
def test_load_run_config_rejects_a_malformed_file_naming_it(tmp_path, text, expected):
    path = tmp_path / "cfg.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path))) as caught:
        load_run_config(path)
    assert expected in str(caught.value)


def test_load_run_config_validates(tmp_path):
    plain = to_plain_dict(compose())
    plain["trainer"]["epochs"] = "ten"
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(plain), encoding="utf-8")
    with pytest.raises(ConfigError, match="trainer.epochs"):
        load_run_config(path)


def test_schema_files_are_one_per_group_plus_root():
    names = {path.stem for path in SCHEMA_DIR.glob("*.yaml")}
    assert {"root", "data", "model", "trainer", "logging"} <= names


def test_the_loop_names_the_schema_allows_are_the_loops_there_are():
    from thesis_ml.train import DISPATCH

    allowed = run_config_schema()["properties"]["trainer"]["properties"]["loop"]["enum"]
    assert sorted(allowed) == sorted(DISPATCH)
