"""The VQ tokenizer's mechanics, and its codebook facts on the default reconstruction data."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from thesis_ml.config import CONFIG_DIR, compose
from thesis_ml.facts import read_events, read_scalars
from thesis_ml.tokenizers.base import code_usage_metrics
from thesis_ml.tokenizers.codebook import ARGMIN_BELOW, kmeans, nearest_codes
from thesis_ml.tokenizers.codes import code_levels
from thesis_ml.tokenizers.none import ContinuousTokenizer
from thesis_ml.tokenizers.registry import TOKENIZERS, build_tokenizer
from thesis_ml.tokenizers.vq import VectorQuantizer
from thesis_ml.train.ae_loop import train

VQ_DEFAULTS = yaml.safe_load((CONFIG_DIR / "phase1" / "tokenizer" / "vq.yaml").read_text())


def make_vq(latent_dim: int, codebook_size: int, **options) -> VectorQuantizer:
    """A VQ with the config file's defaults, except ``options``."""
    settings = {**VQ_DEFAULTS, "codebook_size": codebook_size, **options}
    return VectorQuantizer.from_config(settings, latent_dim)


def _latents(n: int, dim: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


# Both ways the search finds its index: argmin below ARGMIN_BELOW codes, value reductions above.
SEARCH_SIZES = [ARGMIN_BELOW - 1, ARGMIN_BELOW + 5]


@pytest.mark.parametrize("codebook_size", SEARCH_SIZES)
def test_nearest_codes_agree_with_brute_force_distances(codebook_size):
    vectors, codebook = _latents(500, 6), _latents(codebook_size, 6, seed=1)
    assert torch.equal(nearest_codes(vectors, codebook), torch.cdist(vectors, codebook).argmin(1))


@pytest.mark.parametrize("codebook_size", SEARCH_SIZES)
def test_nearest_codes_pick_the_first_of_tied_codes_and_survive_nan(codebook_size):
    codebook = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [5.0, 5.0]])  # rows 1, 2 tie
    far = torch.full((codebook_size - len(codebook), 2), 100.0)
    codebook = torch.cat([codebook, far])
    vectors = torch.tensor([[0.1, 0.9], [4.0, 4.0], [float("nan"), 0.0], [float("inf"), 0.0]])
    codes = nearest_codes(vectors, codebook)
    assert codes[:2].tolist() == [1, 3]
    assert ((codes >= 0) & (codes < len(codebook))).all()  # a valid index even for NaN/Inf


def test_tokens_split_the_latent_and_share_the_codebook():
    torch.manual_seed(0)
    vq = make_vq(8, 16, n_tokens=2, init="random").eval()
    latent = _latents(5, 8)
    quantized = vq(latent)
    assert vq.codebook.shape == (16, 4) and quantized.codes.shape == (5, 2)
    halves = latent.view(5, 2, 4)
    for token in range(2):
        expected = nearest_codes(halves[:, token], vq.codebook)
        assert torch.equal(quantized.codes[:, token], expected)
        assert torch.allclose(quantized.latent.view(5, 2, 4)[:, token], vq.codebook[expected])
    assert vq.bits_per_sample == 2 * 4


def test_straight_through_gradient_and_losses():
    torch.manual_seed(0)
    vq = make_vq(4, 8, beta=0.25, ema=False, init="random", restart_dead_codes=False)
    latent = _latents(32, 4).requires_grad_()
    quantized = vq(latent)
    selected = vq.codebook.detach()[quantized.codes.flatten()]
    distance = torch.nn.functional.mse_loss(latent.detach(), selected)
    assert quantized.aux_loss.item() == pytest.approx(1.25 * distance.item(), rel=1e-6)
    weights = torch.randn(32, 4)
    (quantized.latent * weights).sum().backward()
    assert torch.equal(latent.grad, weights)  # the identity gradient of straight-through
    vq.codebook.grad = None
    vq(latent).aux_loss.backward()
    assert vq.codebook.grad is not None and vq.codebook.grad.abs().sum() > 0


def test_ema_moves_each_used_code_to_the_mean_of_its_vectors():
    torch.manual_seed(0)
    vq = make_vq(2, 4, ema=True, decay=0.0, init="random", restart_dead_codes=False)
    latent = _latents(64, 2)
    codes = vq(latent).codes.flatten()  # training mode: assigns, then updates
    for code in codes.unique():
        mean = latent[codes == code].mean(0)
        assert torch.allclose(vq.codebook[code], mean, atol=1e-4)


def test_kmeans_init_happens_on_the_first_training_batch_only():
    torch.manual_seed(0)
    vq = make_vq(2, 8, init="kmeans")
    vq.eval()(_latents(16, 2))
    assert not vq.initialized  # evaluation never initializes
    batch = _latents(256, 2) + 10
    vq.train()(batch)
    assert vq.initialized
    assert (vq.codebook - 10).abs().max() < 4  # the codes sit among the batch, not at N(0, 1)
    restored = make_vq(2, 8, init="kmeans")
    restored.load_state_dict(vq.state_dict())
    restored.train()(_latents(256, 2))  # a restored codebook is not initialized again:
    far = (restored.codebook - 10).abs().amax(1) < 4  # k-means would move every code near 0
    assert far.sum() >= 7


def test_kmeans_converges_to_the_means_of_its_clusters():
    torch.manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    samples = torch.cat([c + _latents(50, 2, seed=i) for i, c in enumerate(centers)])
    means = kmeans(samples, 6, 20)
    codes = nearest_codes(samples, means)
    for code in codes.unique():
        assert torch.allclose(means[code], samples[codes == code].mean(0), atol=1e-5)
    start_inertia = torch.cdist(samples, samples[:6]).min(1).values.square().sum()
    assert torch.cdist(samples, means).min(1).values.square().sum() < start_inertia


def test_dead_codes_are_restarted_from_encoder_outputs():
    torch.manual_seed(0)
    vq = make_vq(2, 4, ema=False, init="random", dead_after_steps=3)
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100, 100], [100, -100]]))
    latent = 0.1 * _latents(64, 2)  # only code 0 is ever nearest
    for _ in range(2):
        vq(latent)
    assert vq.codebook[1:].abs().min() == 100  # not yet dead
    quantized = vq(latent.requires_grad_())
    (quantized.latent.sum() + quantized.aux_loss).backward()  # the in-place restart is safe
    restarted = vq.codebook.detach()[1:]
    is_an_output = (restarted[:, None, :] == latent.detach()[None]).all(dim=2).any(dim=1)
    assert is_an_output.all()  # each is exactly one of the encoder outputs
    assert torch.equal(vq.steps_unused[1:], torch.zeros(3, dtype=torch.long))


def test_restart_off_leaves_unused_codes_alone():
    torch.manual_seed(0)
    vq = make_vq(2, 4, ema=False, init="random", restart_dead_codes=False)
    before = vq.codebook.detach().clone()
    latent = before[0] + 0.01 * _latents(64, 2)
    for _ in range(5):
        vq(latent)
    assert torch.equal(vq.codebook.detach()[1:], before[1:])
    assert vq.steps_unused[1:].tolist() == [5, 5, 5]


def test_code_usage_metrics():
    assert code_usage_metrics(torch.tensor([5, 5, 5, 5])) == {
        "perplexity": pytest.approx(4.0),
        "code_usage": 1.0,
        "dead_codes": 0,
    }
    one_code = code_usage_metrics(torch.tensor([0, 9, 0, 0]))
    assert one_code["perplexity"] == pytest.approx(1.0) and one_code["dead_codes"] == 3
    assert code_usage_metrics(torch.tensor([2, 2, 0, 0]))["perplexity"] == pytest.approx(2.0)


def test_registry_builds_each_tokenizer_from_its_config():
    vq_cfg = compose(["phase1/trainer=ae", "phase1/tokenizer=vq"]).phase1.tokenizer
    vq = build_tokenizer(vq_cfg, 8)
    assert isinstance(vq, VectorQuantizer) and vq.codebook_size == vq_cfg.codebook_size
    assert vq.bits_per_sample == vq_cfg.n_tokens * math.log2(vq_cfg.codebook_size)
    continuous = build_tokenizer({"kind": "none"}, 8)
    assert isinstance(continuous, ContinuousTokenizer) and continuous.bits_per_sample == 256
    with pytest.raises(ValueError, match="phase1.tokenizer.kind"):
        build_tokenizer({"kind": "foo"}, 8)


@pytest.mark.parametrize("kind", sorted(TOKENIZERS))
def test_every_tokenizer_kind_states_its_levels_and_they_match_its_bits(kind):
    cfg = compose(["phase1/trainer=ae", f"phase1/tokenizer={kind}"])
    tokenizer_cfg, latent_dim = cfg.phase1.tokenizer, int(cfg.phase1.encoder.latent_dim)
    levels = code_levels(tokenizer_cfg, latent_dim)
    bits = build_tokenizer(tokenizer_cfg, latent_dim).bits_per_sample
    if levels is None:  # continuous: 32 bits per float32 number
        assert bits == 32 * latent_dim
    else:
        assert bits == pytest.approx(math.log2(levels))


def _vq_run(tmp_path, *overrides: str) -> tuple[list[dict], list[dict]]:
    cfg = compose(
        [
            "phase1/trainer=ae",
            "phase1/tokenizer=vq",
            f"run_dir={tmp_path}",
            "logging.quiet=true",
            "logging.make_plots=false",
            *overrides,
        ]
    )
    train(cfg)
    val = [row for row in read_scalars(tmp_path) if row["split"] == "val"]
    return val, read_events(tmp_path)


@pytest.mark.slow
def test_vq_uses_its_codebook_with_restart_on(tmp_path):
    val, events = _vq_run(tmp_path)
    last = val[-1]
    codebook_size = 256
    assert last["perplexity"] >= codebook_size / 2
    assert last["dead_codes"] <= 0.1 * codebook_size
    counts = [e for e in events if e["event"] == "on_validation_end"][-1]["metrics"]["code_counts"]
    assert len(counts) == codebook_size and sum(counts) == 1229  # every validation sample
    assert code_usage_metrics(torch.tensor(counts))["perplexity"] == pytest.approx(
        last["perplexity"]
    )
    bound = events[0]["yardsticks"]["lower_bound"]
    assert bound["role"] == "bound"
    assert last["recon_mse"] >= 0.95 * bound["val_loss"]  # never below its bound


@pytest.mark.slow
def test_collapse_shows_in_the_facts_with_restart_off_and_a_bad_init(tmp_path):
    val, _ = _vq_run(
        tmp_path,
        "phase1.tokenizer.restart_dead_codes=false",
        "phase1.tokenizer.init=random",
        "phase1.tokenizer.init_scale=10",
        "trainer.epochs=3",  # later, EMA decay pulls the unused codes to 0, among the data
    )
    assert all(row["perplexity"] < 8 for row in val)
    assert all(row["dead_codes"] > 0.9 * 256 for row in val)
