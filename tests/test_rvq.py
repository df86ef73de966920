"""Residual VQ: the same stage assignments as vector-quantize-pytorch's ResidualVQ for the same
codebooks, a run that records its facts, and bad options refused naming the key."""

from __future__ import annotations

import math

import pytest
import torch
from vector_quantize_pytorch import ResidualVQ

from thesis_ml.config import ConfigError, compose
from thesis_ml.tokenizers.codes import code_levels
from thesis_ml.tokenizers.registry import build_tokenizer
from thesis_ml.train import run_loop

AE = ("phase1/trainer=ae", "phase1/tokenizer=rvq", "logging.quiet=true")


@pytest.mark.parametrize(("n_quantizers", "codebook_size"), [(2, 16), (3, 8), (1, 32)])
def test_stage_assignments_equal_the_peers_for_the_same_codebooks(n_quantizers, codebook_size):
    latent_dim = 4
    cfg = compose([*AE, f"phase1.tokenizer.n_quantizers={n_quantizers}"]).phase1.tokenizer
    ours = build_tokenizer({**cfg, "codebook_size": codebook_size, "init": "random"}, latent_dim)
    peer = ResidualVQ(
        dim=latent_dim, num_quantizers=n_quantizers, codebook_size=codebook_size, kmeans_init=False
    )
    with torch.no_grad():
        for stage, layer in zip(ours.stages, peer.layers, strict=True):
            stage.codebook.copy_(layer._codebook.embed[0])
    ours.eval(), peer.eval()
    latent = torch.randn(1024, latent_dim, generator=torch.Generator().manual_seed(0))
    quantized = ours(latent)
    peer_out, peer_codes, _ = peer(latent[:, None, :])
    assert torch.equal(quantized.codes, peer_codes[:, 0].long())
    torch.testing.assert_close(quantized.latent, peer_out[:, 0], rtol=1e-5, atol=1e-5)


def test_an_rvq_run_records_stage_codes_and_its_rate():
    result = run_loop(compose([*AE, "trainer.epochs=3", "data.n_samples=4096"]))
    assert result["status"] == "completed"
    assert result["yardsticks"]["lower_bound"]["bits_per_sample"] == pytest.approx(8.0)
    assert result["yardsticks"]["quantizer_reference"]["levels"] == 256
    assert 0 < result["best"]["test_effective_bits"] <= 8
    cfg = compose(list(AE)).phase1.tokenizer
    assert code_levels(cfg, 4) == 16**2
    assert build_tokenizer(cfg, 4).bits_per_sample == pytest.approx(2 * math.log2(16))


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("phase1.tokenizer.n_quantizers=0", "phase1.tokenizer.n_quantizers"),
        ("phase1.tokenizer.codebook_size=1", "phase1.tokenizer.codebook_size"),
        ("phase1.tokenizer.n_tokens=2", "phase1.tokenizer.n_tokens"),
    ],
)
def test_bad_options_fail_at_composition_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        compose([*AE, override])
