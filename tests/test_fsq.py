"""Finite scalar quantization: the same codes as vector-quantize-pytorch's FSQ, a run that
records its facts, bad options refused naming the key, and effective bits beside nominal ones."""

from __future__ import annotations

import math

import pytest
import torch
from vector_quantize_pytorch import FSQ

from thesis_ml.config import ConfigError, compose
from thesis_ml.tokenizers.base import code_usage_metrics
from thesis_ml.tokenizers.codes import FSQ_LEVELS, code_levels
from thesis_ml.tokenizers.fsq import FiniteScalarQuantizer
from thesis_ml.train import run_loop

AE = ("phase1/trainer=ae", "phase1/tokenizer=fsq", "logging.quiet=true")


def copy_projections(ours: torch.nn.Module, peer: torch.nn.Module) -> None:
    """The peer's learned projections in and out (where the sizes need them) into ours."""
    with torch.no_grad():
        for mine, theirs in (
            (ours.project_in, peer.project_in),
            (ours.project_out, peer.project_out),
        ):
            if isinstance(mine, torch.nn.Linear):
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)


@pytest.mark.parametrize("levels", [[8, 6, 5], [8, 5, 5, 5], [3, 4], [7, 5, 5, 5, 5]])
def test_codes_and_output_equal_the_peers_for_the_same_projections(levels):
    latent_dim = 6
    generator = torch.Generator().manual_seed(0)
    ours = FiniteScalarQuantizer(latent_dim, levels)
    peer = FSQ(levels=levels, dim=latent_dim)
    copy_projections(ours, peer)
    latent = 3 * torch.randn(512, latent_dim, generator=generator)
    quantized = ours(latent)
    peer_out, peer_codes = peer(latent[:, None, :])
    assert torch.equal(quantized.codes[:, 0], peer_codes[:, 0].long())
    torch.testing.assert_close(quantized.latent, peer_out[:, 0], rtol=1e-5, atol=1e-6)
    assert quantized.codes.max() < math.prod(levels) and quantized.aux_loss == 0


def test_a_bit_budget_picks_the_papers_level_set():
    cfg = compose([*AE, "phase1.tokenizer.bits=10"]).phase1.tokenizer
    assert code_levels(cfg, 4) == math.prod(FSQ_LEVELS[10]) == 1000
    tokenizer = FiniteScalarQuantizer.from_config(cfg, 4)
    assert tokenizer.levels == [8, 5, 5, 5] and tokenizer.bits_per_sample == pytest.approx(
        math.log2(1000)
    )


def test_an_fsq_run_records_its_code_usage_effective_bits_and_references():
    result = run_loop(compose([*AE, "trainer.epochs=3", "data.n_samples=4096"]))
    assert result["status"] == "completed"
    best = result["best"]
    assert 0 < best["test_effective_bits"] <= 8 and 0 < best["test_code_usage"] <= 1
    assert result["yardsticks"]["lower_bound"]["bits_per_sample"] == pytest.approx(math.log2(240))
    assert result["yardsticks"]["quantizer_reference"]["levels"] == 240


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("phase1.tokenizer.levels=[8,1]", "phase1.tokenizer.levels"),
        ("phase1.tokenizer.bits=9", "phase1.tokenizer.bits"),
        ("phase1.tokenizer.levels=[8,5]", "phase1.tokenizer.levels / phase1.tokenizer.bits"),
        ("phase1.tokenizer.bits=null", "phase1.tokenizer.levels / phase1.tokenizer.bits"),
    ],
)
def test_bad_options_fail_at_composition_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.").replace("/", "/")):
        compose([*AE, override])


def test_effective_bits_are_the_usage_entropy_per_sample():
    uniform = code_usage_metrics(torch.tensor([5, 5, 5, 5]), n_samples=20)
    assert uniform["effective_bits"] == pytest.approx(2.0)  # 4 codes used alike: 2 bits
    two_tokens = code_usage_metrics(torch.tensor([5, 5, 5, 5]), n_samples=10)
    assert two_tokens["effective_bits"] == pytest.approx(4.0)  # two tokens per sample
    assert code_usage_metrics(torch.tensor([0, 9, 0, 0]), n_samples=9)["effective_bits"] == 0
