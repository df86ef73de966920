"""Generated mistakes on the command line: every one ends in a ConfigError that names its key,
or composes into a config that validates; none raises anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thesis_ml.config import ConfigError, compose, validate
from thesis_ml.utils.dotted import flatten

BASES = ([], ["phase1/trainer=ae", "phase1/tokenizer=vq"])
KEYS = sorted(
    {key for base in BASES for key in flatten(dict(compose(base)))}
    | {"trainer.epoch", "phase1.tokenizer.codebok_size", "data.n_sample"}  # typos
)
HOSTILE = st.sampled_from(
    [
        "nan", "inf", "-inf", "-1", "0", "1e308", "99999999999999999999", "''", '""', "[",
        "]", "{", "[1,2", "null", "true", "ten", "0.5", "-0.0", "a b", "${oops}", "${trainer.lr}",
        "[[1]]", "{a: 1}", "'; rm -rf /'", "\\x00", "é", "[]", "1,2",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), key=st.sampled_from(KEYS), value=HOSTILE)
def test_a_hostile_override_is_one_named_error_or_a_valid_config(base, key, value):
    try:
        cfg = compose([*base, f"{key}={value}"])
    except ConfigError as error:
        message = str(error)
        assert "\n" not in message.strip() or message.startswith("invalid config:"), message
        leaf = key.rsplit(".", 1)[-1]
        assert leaf in message or key.split(".", 1)[0] in message, (key, value, message)
        return
    validate(cfg)  # what composed is a config every later step accepts
