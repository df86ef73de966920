"""The VQ options rotation_trick, cosine, codebook_dim and simvq: each against its counterpart in
vector-quantize-pytorch for the same inputs and weights, a run of each, checkpoints, and bad
options refused at composition naming the key."""

from __future__ import annotations

import io
import math

import pytest
import torch
import torch.nn.functional as F
from vector_quantize_pytorch import SimVQ, VectorQuantize
from vector_quantize_pytorch.vector_quantize_pytorch import rotate_to

from tests import test_vq
from tests.test_vq import VQ_DEFAULTS, _latents
from thesis_ml.config import ConfigError, compose, to_plain_dict, validate
from thesis_ml.tokenizers.codebook import kmeans
from thesis_ml.tokenizers.vq import VectorQuantizer
from thesis_ml.train import run_loop

RUN = ("phase1/trainer=ae", "logging.quiet=true", "trainer.epochs=3", "data.n_samples=4096")


def make_vq(latent_dim: int, codebook_size: int = 16, **options) -> VectorQuantizer:
    """A VQ with the config file's defaults, a random init and no restarts, except ``options``."""
    plain = {"init": "random", "restart_dead_codes": False}
    return test_vq.make_vq(latent_dim, codebook_size, **{**plain, **options})


def _input_gradient(module, latent: torch.Tensor, output_of) -> torch.Tensor:
    """Gradient at ``latent`` of a nonlinear loss of the module's output (not its own loss)."""
    latent = latent.clone().requires_grad_()
    output = output_of(module, latent)
    weights = _latents(*output.shape, seed=9)
    ((output * weights).sum() + output.square().sum()).backward()
    return latent.grad


def _ours(module, latent):
    return module(latent).latent


def _peer(module, latent):
    return module(latent[:, None, :])[0][:, 0]


def test_rotation_trick_passes_the_code_forward_and_the_peers_gradient_back():
    torch.manual_seed(0)
    vq = make_vq(4, ema=False, rotation_trick=True).eval()
    latent = _latents(512, 4)
    quantized = vq(latent)
    assert torch.equal(quantized.latent, vq.codebook.detach()[quantized.codes[:, 0]])
    codes = quantized.codes[:, 0]
    peer = _input_gradient(vq, latent, lambda _, x: rotate_to(x, vq.codebook.detach()[codes]))
    ours = _input_gradient(vq, latent, _ours)
    torch.testing.assert_close(ours, peer, rtol=1e-5, atol=1e-5)
    straight_through = _input_gradient(make_vq(4, ema=False).eval(), latent, _ours)
    assert not torch.allclose(ours, straight_through, atol=1e-3)  # it is another estimator


def test_cosine_assignments_equal_the_peers_for_the_same_codebook():
    torch.manual_seed(0)
    ours = make_vq(4, cosine=True).eval()
    peer = VectorQuantize(
        dim=4, codebook_size=16, use_cosine_sim=True, rotation_trick=False, kmeans_init=False
    ).eval()
    with torch.no_grad():
        peer._codebook.embed.copy_(F.normalize(ours.codebook, dim=1).unsqueeze(0))
    latent = _latents(2048, 4)
    quantized = ours(latent)
    peer_out, peer_codes, _ = peer(latent[:, None, :])
    assert torch.equal(quantized.codes, peer_codes.long())
    torch.testing.assert_close(quantized.latent, peer_out[:, 0])
    torch.testing.assert_close(quantized.latent.norm(dim=1), torch.ones(2048))  # unit codes


def test_cosine_with_the_rotation_trick_equals_the_peers_combination_in_training():
    torch.manual_seed(0)
    ours = make_vq(4, cosine=True, rotation_trick=True)
    peer = VectorQuantize(
        dim=4, codebook_size=16, use_cosine_sim=True, rotation_trick=True, kmeans_init=False
    )
    with torch.no_grad():
        peer._codebook.embed.copy_(F.normalize(ours.codebook, dim=1).unsqueeze(0))
    latent = _latents(512, 4)
    ours_gradient = _input_gradient(ours, latent, _ours)  # training mode: EMA steps on both
    peer_gradient = _input_gradient(peer, latent, _peer)
    torch.testing.assert_close(ours_gradient, peer_gradient, rtol=1e-5, atol=1e-5)


def test_codebook_dim_assignments_equal_the_peers_for_the_same_projections():
    torch.manual_seed(0)
    ours = make_vq(8, codebook_dim=3).eval()
    peer = VectorQuantize(
        dim=8, codebook_size=16, codebook_dim=3, rotation_trick=False, kmeans_init=False
    ).eval()
    with torch.no_grad():
        peer._codebook.embed.copy_(ours.codebook.unsqueeze(0))
        peer.project_in.load_state_dict(ours.project_in.state_dict())
        peer.project_out.load_state_dict(ours.project_out.state_dict())
    assert ours.codebook.shape == (16, 3)
    latent = _latents(2048, 8)
    quantized = ours(latent)
    peer_out, peer_codes, _ = peer(latent[:, None, :])
    assert torch.equal(quantized.codes, peer_codes.long())
    torch.testing.assert_close(quantized.latent, peer_out[:, 0])


def test_simvq_equals_the_peers_for_the_same_basis_and_map():
    torch.manual_seed(0)
    ours = make_vq(4, ema=False, simvq=True, rotation_trick=True)
    peer = SimVQ(dim=4, codebook_size=16)  # the peer's default: with the rotation trick
    with torch.no_grad():
        ours.basis.copy_(peer.frozen_codebook)
        ours.code_map.load_state_dict(peer.code_transform.state_dict())
    latent = _latents(2048, 4)
    quantized = ours(latent)
    peer_out, peer_codes, peer_loss = peer(latent[:, None, :])
    assert torch.equal(quantized.codes, peer_codes.long())
    torch.testing.assert_close(quantized.latent, peer_out[:, 0])
    torch.testing.assert_close(quantized.aux_loss, peer_loss)  # beta 0.25: the peer's weights
    quantized.aux_loss.backward()
    peer_loss.backward()
    torch.testing.assert_close(ours.code_map.weight.grad, peer.code_transform.weight.grad)
    assert "basis" not in dict(ours.named_parameters())  # frozen
    peer_gradient = _input_gradient(peer, latent[:512], _peer)
    ours_gradient = _input_gradient(ours, latent[:512], _ours)
    torch.testing.assert_close(ours_gradient, peer_gradient, rtol=1e-5, atol=1e-5)


def test_simvq_kmeans_init_puts_the_codes_at_the_kmeans_means():
    torch.manual_seed(0)
    vq = make_vq(4, 32, ema=False, simvq=True, init="kmeans")
    batch = 3 * _latents(1024, 4) + 10
    before_init = torch.get_rng_state()
    vq.train()(batch)  # the first training batch
    torch.set_rng_state(before_init)
    means = kmeans(batch, 32, VQ_DEFAULTS["kmeans_iters"])
    torch.testing.assert_close(vq._searched_codebook(), means, atol=1e-4, rtol=1e-4)
    assert vq.initialized and "basis" not in dict(vq.named_parameters())


@pytest.mark.parametrize("options", [{"simvq": True}, {"cosine": True}], ids=["simvq", "cosine"])
def test_restarts_of_a_learned_codebook_reseed_codes_at_outputs_and_keep_backward_safe(options):
    torch.manual_seed(0)
    vq = make_vq(2, 4, ema=False, restart_dead_codes=True, dead_after_steps=1, **options)
    latent = (5 + 0.1 * _latents(64, 2)).requires_grad_()  # a small cluster: one code
    quantized = vq(latent)  # the codes unused in this one step are dead, restarted in place
    (quantized.latent.sum() + quantized.aux_loss).backward()
    dead = ~torch.isin(torch.arange(4), quantized.codes)
    codebook, outputs = vq._searched_codebook(), latent.detach()
    if options.get("cosine"):
        outputs = F.normalize(outputs, dim=1)
    distances = (codebook[dead, None] - outputs).norm(dim=2).min(dim=1).values  # (cdist: 1e-3)
    assert dead.sum() == 3 and distances.max() < 1e-5  # each is one of the outputs


@pytest.mark.parametrize(
    "options", [{"simvq": True, "codebook_dim": 2}, {"codebook_dim": 3, "cosine": True}]
)
def test_checkpoint_round_trip_gives_identical_outputs(options):
    torch.manual_seed(0)
    vq = make_vq(4, ema=False, init="kmeans", restart_dead_codes=True, **options)
    optimizer = torch.optim.Adam(vq.parameters(), lr=1e-2)
    for step in range(5):
        optimizer.zero_grad()
        vq(_latents(256, 4, seed=step)).aux_loss.backward()
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(vq.state_dict(), buffer)
    torch.manual_seed(1)  # another init, which the load must replace entirely
    restored = make_vq(4, ema=False, init="kmeans", restart_dead_codes=True, **options)
    restored.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    latent = _latents(512, 4, seed=99)
    expected, got = vq.eval()(latent), restored.eval()(latent)
    assert torch.equal(got.codes, expected.codes) and torch.equal(got.latent, expected.latent)
    assert not restored._awaits_init  # a restored codebook is not initialized again


OPTION_RUNS = [
    ["phase1.tokenizer.rotation_trick=true"],
    ["phase1.tokenizer.cosine=true"],
    ["phase1.tokenizer.codebook_dim=2"],
    ["phase1.tokenizer.simvq=true", "phase1.tokenizer.ema=false"],
    [  # all four together
        "phase1.tokenizer.rotation_trick=true",
        "phase1.tokenizer.cosine=true",
        "phase1.tokenizer.codebook_dim=2",
        "phase1.tokenizer.simvq=true",
        "phase1.tokenizer.ema=false",
    ],
]


@pytest.mark.parametrize("kind", ["vq", "rvq"])
@pytest.mark.parametrize(
    "options", OPTION_RUNS, ids=lambda options: ",".join(o[17:] for o in options)
)
def test_a_run_with_the_option_trains_and_records_its_facts(kind, options):
    cfg = compose([*RUN, f"phase1/tokenizer={kind}", "phase1.tokenizer.codebook_size=16", *options])
    result = run_loop(cfg)
    assert result["status"] == "completed"
    bits = result["yardsticks"]["lower_bound"]["bits_per_sample"]
    assert 0 < result["best"]["test_effective_bits"] <= bits
    assert math.isfinite(result["best"]["test_recon_mse"])


@pytest.mark.parametrize("kind", ["vq", "rvq"])
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["phase1.tokenizer.codebook_dim=0"], r"phase1\.tokenizer\.codebook_dim: got 0"),
        (["phase1.tokenizer.codebook_dim=5"], r"phase1\.tokenizer\.codebook_dim: 5 exceeds"),
        (["phase1.tokenizer.simvq=true"], r"phase1\.tokenizer\.simvq / phase1\.tokenizer\.ema"),
        (["phase1.tokenizer.cosine=1"], r"phase1\.tokenizer\.cosine"),
    ],
)
def test_bad_options_fail_at_composition_naming_the_key(kind, overrides, message):
    with pytest.raises(ConfigError, match=message):
        compose(["phase1/trainer=ae", f"phase1/tokenizer={kind}", *overrides])


def test_codebook_dim_is_bounded_by_the_token_not_the_latent():
    overrides = ["phase1/trainer=ae", "phase1/tokenizer=vq", "phase1.tokenizer.n_tokens=2"]
    with pytest.raises(ConfigError, match=r"codebook_dim: 3 exceeds .*latent_dim / n_tokens = 2"):
        compose([*overrides, "phase1.tokenizer.codebook_dim=3"])
    assert (
        compose([*overrides, "phase1.tokenizer.codebook_dim=2"]).phase1.tokenizer.codebook_dim == 2
    )
    with pytest.raises(ValueError, match="phase1.tokenizer.codebook_dim"):
        make_vq(4, n_tokens=2, codebook_dim=3)
    with pytest.raises(ValueError, match="phase1.tokenizer.simvq"):
        make_vq(4, simvq=True, ema=True)


def test_a_vq_section_saved_before_the_options_validates_and_builds_with_them_off():
    cfg = to_plain_dict(compose(["phase1/trainer=ae", "phase1/tokenizer=vq"]))
    for option in ("rotation_trick", "cosine", "codebook_dim", "simvq"):
        del cfg["phase1"]["tokenizer"][option]
    tokenizer = validate(cfg)["phase1"]["tokenizer"]
    vq = VectorQuantizer.from_config(tokenizer, cfg["phase1"]["encoder"]["latent_dim"])
    assert (vq.rotation_trick, vq.cosine, vq.simvq) == (False, False, False)
