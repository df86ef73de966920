"""Training-step time of each tokenizer against vector-quantize-pytorch's module with its options.

One row per tokenizer: our tokenizer, built from our config files (``phase1/trainer=ae``,
``phase1/tokenizer=<kind>`` and the row's overrides, then ``build_tokenizer``), against the
peer module set to the same options (read from that composed config), each between the same
encoder and decoder as in ``bench_vq.py`` (MLP 16 -> 64 -> 8 -> 64 -> 16, batch 1024). One
step is ``ae_loop.run_epoch``'s: forward, loss, backward, Adam, code counting. All models are
timed interleaved (``bench_vq.time_steps``), the minimum over repeats kept.

Rows are the table :data:`CASES`, one line each. A row whose option our config does not have
yet (composition fails with a ConfigError naming an unknown key or a missing tokenizer file
set by the row) is skipped with the reason printed; any other failure is an error. The ``vq``
row is bench_vq's ``vq / vqp`` setup (K=256, EMA, dead-code restart, random init), timed here
again beside the others so that the table compares all tokenizers under the same load.

Targets (issue 17): each tokenizer <= 1.0x the peer's step; the VQ family (vq and its
variants, simvq, rvq) <= 0.6x.

    python benchmarks/bench_tokenizers.py [--quick] [--threads N] [--device cpu|cuda] [--json PATH]
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from bench_vq import BATCH, LATENT, N_FEATURES, phase1, step_benchmark_arguments, time_steps
from torch import nn

from thesis_ml.config import ConfigError, compose, to_plain_dict
from thesis_ml.models.autoencoder import Autoencoder, build_autoencoder
from thesis_ml.tokenizers.base import Quantized, Tokenizer
from thesis_ml.tokenizers.registry import build_tokenizer
from thesis_ml.utils.io import atomic_write_text

# ours / peer step time, at most: any tokenizer, and the VQ family (issue 17)
TARGET, TARGET_VQ = 1.0, 0.6


class PeerTokenizer(Tokenizer):
    """A vector-quantize-pytorch module behind our tokenizer interface.

    The module gets ``(batch, 1, dim)`` (its sequence layout) and returns the quantized latent
    and the codes first, its loss third when it has one (a scalar or one per stage).
    """

    def __init__(self, module: nn.Module, codebook_size: int, bits: float, **call_kwargs) -> None:
        super().__init__()
        self.module = module
        self.call_kwargs = call_kwargs
        self.codebook_size = codebook_size
        self._bits = bits
        self.register_buffer("zero", torch.zeros(()), persistent=False)

    @classmethod
    def from_config(cls, cfg, latent_dim: int) -> PeerTokenizer:
        raise NotImplementedError("built by a row of CASES")

    @property
    def bits_per_sample(self) -> float:
        return self._bits

    def forward(self, latent: torch.Tensor) -> Quantized:
        out = self.module(latent[:, None], **self.call_kwargs)
        loss = out[2] if len(out) > 2 else self.zero
        loss = loss if loss.ndim == 0 else loss.sum()
        return Quantized(out[0][:, 0], loss, out[1].reshape(len(latent), -1))


def vq_options(cfg: Mapping) -> dict:
    """The peer's VectorQuantize / ResidualVQ options equal to our VQ config ``cfg``.

    Options our config does not have yet default to what ours does without them.
    """
    return {
        "codebook_size": int(cfg["codebook_size"]),
        "decay": float(cfg["decay"]),
        "commitment_weight": float(cfg["beta"]),
        "ema_update": bool(cfg["ema"]),
        "learnable_codebook": not cfg["ema"],
        "kmeans_init": cfg["init"] == "kmeans",
        "kmeans_iters": int(cfg["kmeans_iters"]),
        # The peer restarts a code whose EMA count falls below 1 (checked every step), ours
        # one unused for dead_after_steps steps: both on, or both off.
        "threshold_ema_dead_code": 1 if cfg["restart_dead_codes"] else 0,
        "rotation_trick": bool(cfg.get("rotation_trick", False)),  # else straight-through
        "use_cosine_sim": bool(cfg.get("cosine", False)),
        "codebook_dim": cfg.get("codebook_dim"),
    }


def peer_vq(cfg: Mapping, latent_dim: int) -> PeerTokenizer:
    from vector_quantize_pytorch import VectorQuantize

    options = vq_options(cfg)
    bits = int(cfg["n_tokens"]) * math.log2(options["codebook_size"])
    return PeerTokenizer(VectorQuantize(dim=latent_dim, **options), options["codebook_size"], bits)


def peer_rvq(cfg: Mapping, latent_dim: int) -> PeerTokenizer:
    from vector_quantize_pytorch import ResidualVQ

    options, stages = vq_options(cfg), int(cfg["n_quantizers"])
    module = ResidualVQ(dim=latent_dim, num_quantizers=stages, **options)
    return PeerTokenizer(module, options["codebook_size"], stages * math.log2(cfg["codebook_size"]))


def peer_simvq(cfg: Mapping, latent_dim: int) -> PeerTokenizer:
    from vector_quantize_pytorch import SimVQ

    size = int(cfg["codebook_size"])
    module = SimVQ(
        dim=latent_dim,
        codebook_size=size,
        rotation_trick=bool(cfg.get("rotation_trick", False)),
        # Ours without EMA: beta * ||z - sg(e)||^2 + ||sg(z) - e||^2, the peer's two terms.
        input_to_quantize_commit_loss_weight=float(cfg["beta"]),
        commitment_weight=1.0,
    )
    return PeerTokenizer(module, size, math.log2(size))


def peer_fsq(cfg: Mapping, latent_dim: int) -> PeerTokenizer:
    from vector_quantize_pytorch import FSQ

    levels = list(cfg["levels"])
    size = math.prod(levels)
    return PeerTokenizer(FSQ(levels=levels, dim=latent_dim), size, math.log2(size))


def peer_lfq(cfg: Mapping, latent_dim: int) -> PeerTokenizer:
    from vector_quantize_pytorch import LFQ

    size = 2 ** int(cfg["bits"])
    module = LFQ(
        dim=latent_dim,
        codebook_size=size,
        entropy_loss_weight=float(cfg["entropy_weight"]),
        diversity_gamma=float(cfg["diversity_gamma"]),
        commitment_loss_weight=float(cfg["commitment_weight"]),
    )
    inv_temperature = float(cfg["inv_temperature"])  # an argument of the peer's forward
    return PeerTokenizer(module, size, math.log2(size), inv_temperature=inv_temperature)


@dataclass(frozen=True)
class Case:
    name: str
    overrides: tuple[str, ...]  # after phase1/trainer=ae: phase1/tokenizer=<kind>, its options
    peer: Callable[[Mapping, int], PeerTokenizer]  # (our composed tokenizer config, latent size)
    target: float  # ours / peer step time, at most


FSQ = ("phase1/tokenizer=fsq", "phase1.tokenizer.levels=[8,6,5]", "phase1.tokenizer.bits=null")
VQ = ("phase1/tokenizer=vq", "phase1.tokenizer.codebook_size=256", "phase1.tokenizer.init=random")
RVQ = (
    "phase1/tokenizer=rvq",
    "phase1.tokenizer.n_quantizers=2",
    "phase1.tokenizer.codebook_size=16",
    "phase1.tokenizer.init=random",
)
SIMVQ = (*VQ, "phase1.tokenizer.ema=false")  # its codebook learns by gradient, as the peer's
LFQ = ("phase1/tokenizer=lfq", "phase1.tokenizer.bits=8")
# One row per tokenizer: adding one is one line.
CASES = [
    Case("fsq", FSQ, peer_fsq, TARGET),
    Case("lfq", LFQ, peer_lfq, TARGET),
    Case("vq", VQ, peer_vq, TARGET_VQ),
    Case("vq+rotation_trick", (*VQ, "phase1.tokenizer.rotation_trick=true"), peer_vq, TARGET_VQ),
    Case("vq+cosine", (*VQ, "phase1.tokenizer.cosine=true"), peer_vq, TARGET_VQ),
    Case("simvq", (*SIMVQ, "phase1.tokenizer.simvq=true"), peer_simvq, TARGET_VQ),
    Case("rvq", RVQ, peer_rvq, TARGET_VQ),
]


def missing_option(error: ConfigError, overrides: tuple[str, ...]) -> bool:
    """Whether ``error`` says our config lacks an option the row sets (a key or a kind)."""
    message = str(error).removeprefix("invalid config: ")
    keys = {override.partition("=")[0] for override in overrides}
    unknown = re.match(r"([\w.]+): unknown key;", message)
    if unknown:
        return unknown[1] in keys
    no_file = re.match(r"([\w/]+): no option '(\w+)';", message)
    return bool(no_file) and f"{no_file[1]}={no_file[2]}" in overrides


def tokenizer_config(case: Case) -> tuple[dict | None, str]:
    """The row's composed ``phase1.tokenizer``, or None and why where our config lacks it."""
    try:
        cfg = compose(["phase1/trainer=ae", *case.overrides]).phase1.tokenizer
        return to_plain_dict(cfg), ""
    except ConfigError as error:
        if not missing_option(error, case.overrides):
            raise
        return None, f"not in our config yet: {error}"


def with_tokenizer(tokenizer: Tokenizer, shared: dict) -> Autoencoder:
    """The benchmark's encoder and decoder (weights ``shared``) around ``tokenizer``."""
    model = build_autoencoder(phase1({"kind": "none"}), N_FEATURES)
    model.load_state_dict(shared)
    model.tokenizer = tokenizer
    return model


def build_models(cases: list[Case]) -> tuple[dict[str, Autoencoder], list[dict]]:
    """Ours and the peer's autoencoder of each row (``name``, ``name/peer``); skipped rows."""
    torch.manual_seed(0)
    shared = build_autoencoder(phase1({"kind": "none"}), N_FEATURES).state_dict()
    models, skipped = {}, []
    for case in cases:
        cfg, reason = tokenizer_config(case)
        if cfg is None:
            print(f"skip {case.name}: {reason}")
            skipped.append({"name": case.name, "reason": reason})
            continue
        torch.manual_seed(0)
        models[case.name] = with_tokenizer(build_tokenizer(cfg, LATENT), shared)
        try:
            peer = case.peer(cfg, LATENT)
        except KeyError as error:
            raise SystemExit(
                f"error: the peer of row {case.name} reads phase1.tokenizer.{error.args[0]}, "
                f"which our config lacks; make the row's peer read our key (CASES)"
            ) from None
        models[f"{case.name}/peer"] = with_tokenizer(peer, shared)
    return models, skipped


def main(argv: list[str] | None = None) -> int:
    args = step_benchmark_arguments(__doc__, argv)
    # 14 models: 4 steps per timing (bench_vq: 8) keep the full run well inside run_all's
    # 300 s on a loaded 2-core machine, where two torch threads stall (20x slower on average).
    batches, repeats = (4, 5) if args.quick else (4, 15)

    device = torch.device(args.device)
    models, skipped = build_models(CASES)
    models = {name: model.to(device) for name, model in models.items()}
    step = time_steps(models, batches, repeats, device)
    rows = []
    for case in CASES:
        if case.name not in models:
            continue
        ours, peer = step[case.name], step[f"{case.name}/peer"]
        rows.append(
            {
                "name": case.name,
                "peer": type(models[f"{case.name}/peer"].tokenizer.module).__name__,
                "overrides": list(case.overrides),
                "step_s": {"ours": ours, "peer": peer},
                "ratio": ours / peer,
                "target": case.target,
                "met": ours / peer <= case.target,
            }
        )
    print(f"{'tokenizer':18s} {'ours ms':>8s} {'peer ms':>8s}  ours/peer")
    for r in rows:
        ms = {side: 1e3 * seconds for side, seconds in r["step_s"].items()}
        verdict = "met" if r["met"] else "MISSED"
        print(
            f"{r['name']:18s} {ms['ours']:8.3f} {ms['peer']:8.3f}  {r['ratio']:5.2f}x"
            f"  (target <= {r['target']}x, {verdict}; peer {r['peer']})"
        )
    results = {
        "device": str(device),
        "batch": BATCH,
        "latent_dim": LATENT,
        "threads": torch.get_num_threads(),
        "batches": batches,
        "repeats": repeats,
        "rows": rows,
        "skipped": skipped,
    }
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
