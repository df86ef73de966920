"""Lookup-free quantization: the same codes, output and entropy loss as vector-quantize-pytorch's
LFQ, a run that records its facts, and bad options refused naming the key."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from vector_quantize_pytorch import LFQ

from tests.test_fsq import copy_projections
from thesis_ml.config import ConfigError, compose
from thesis_ml.tokenizers.codes import code_levels
from thesis_ml.tokenizers.lfq import LookupFreeQuantizer
from thesis_ml.train import run_loop

AE = ("phase1/trainer=ae", "phase1/tokenizer=lfq", "logging.quiet=true")
LATENT_DIM = 6


def _pair(bits: int, **weights: float) -> tuple[LookupFreeQuantizer, LFQ]:
    """Ours and the peer's quantizer of ``bits`` on a latent of LATENT_DIM, same projections."""
    options = {
        "entropy_weight": 0.1,
        "diversity_gamma": 1.0,
        "inv_temperature": 100.0,
        "commitment_weight": 0.0,
        **weights,
    }
    ours = LookupFreeQuantizer(LATENT_DIM, bits=bits, **options)
    peer = LFQ(
        dim=LATENT_DIM,
        codebook_size=2**bits,
        entropy_loss_weight=options["entropy_weight"],
        diversity_gamma=options["diversity_gamma"],
        commitment_loss_weight=options["commitment_weight"],
    )
    copy_projections(ours, peer)
    return ours, peer


def _latent(seed: int = 0) -> torch.Tensor:
    return torch.randn(512, LATENT_DIM, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bits", [1, 3, LATENT_DIM, 10])
def test_codes_and_output_equal_the_peers_for_the_same_projections(bits):
    ours, peer = _pair(bits)
    ours.eval(), peer.eval()
    latent = _latent()
    quantized = ours(latent)
    peer_out, peer_codes, _ = peer(latent[:, None, :])
    assert torch.equal(quantized.codes[:, 0], peer_codes[:, 0].long())
    torch.testing.assert_close(quantized.latent, peer_out[:, 0], rtol=1e-5, atol=1e-5)
    assert quantized.codes.max() < 2**bits and len(quantized.codes.unique()) > 1


@pytest.mark.parametrize(
    ("bits", "weights"),
    [
        (LATENT_DIM, {}),
        (4, {"commitment_weight": 0.25, "inv_temperature": 10.0}),
        (8, {"entropy_weight": 0.5, "diversity_gamma": 0.5, "commitment_weight": 1.0}),
    ],
)
def test_training_loss_equals_the_peers_entropy_and_commitment_loss(bits, weights):
    ours, peer = _pair(bits, **weights)
    ours.train(), peer.train()
    latent = _latent(seed=1)
    inv_temperature = weights.get("inv_temperature", 100.0)
    _, _, peer_loss = peer(latent[:, None, :], inv_temperature=inv_temperature)
    torch.testing.assert_close(ours(latent).aux_loss, peer_loss, rtol=1e-5, atol=1e-5)


def test_evaluation_leaves_the_entropy_term_out():
    ours, _ = _pair(4, commitment_weight=0.25)
    latent = _latent()
    projected = ours.project_in(latent)
    commitment = 0.25 * F.mse_loss(projected, torch.where(projected > 0, 1.0, -1.0))
    torch.testing.assert_close(ours.eval()(latent).aux_loss, commitment)


def test_the_entropy_penalty_trains_the_encoder_through_the_signs():
    ours, _ = _pair(4, commitment_weight=0.25)
    latent = _latent().requires_grad_()
    quantized = ours.train()(latent)
    (quantized.latent.sum() + quantized.aux_loss).backward()
    assert latent.grad.abs().sum() > 0 and ours.project_in.weight.grad.abs().sum() > 0


def test_an_lfq_run_records_its_code_usage_effective_bits_and_references():
    result = run_loop(compose([*AE, "trainer.epochs=3", "data.n_samples=4096"]))
    assert result["status"] == "completed"
    best = result["best"]
    assert 0 < best["test_effective_bits"] <= 8 and 0 < best["test_code_usage"] <= 1
    assert result["yardsticks"]["lower_bound"]["bits_per_sample"] == pytest.approx(8.0)
    assert result["yardsticks"]["quantizer_reference"]["levels"] == 256
    cfg = compose(list(AE)).phase1.tokenizer
    assert code_levels(cfg, 4) == 256 and LookupFreeQuantizer.from_config(cfg, 4).bits == 8


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("phase1.tokenizer.bits=0", "phase1.tokenizer.bits"),
        ("phase1.tokenizer.bits=17", "phase1.tokenizer.bits"),
        ("phase1.tokenizer.entropy_weight=-1", "phase1.tokenizer.entropy_weight"),
        ("phase1.tokenizer.diversity_gamma=-0.5", "phase1.tokenizer.diversity_gamma"),
        ("phase1.tokenizer.inv_temperature=0", "phase1.tokenizer.inv_temperature"),
        ("+phase1.tokenizer.levels=[8,5]", "phase1.tokenizer.levels"),
    ],
)
def test_bad_options_fail_at_composition_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        compose([*AE, override])
