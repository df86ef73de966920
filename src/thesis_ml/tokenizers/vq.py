"""Vector quantization (VQ-VAE) with a codebook shared by ``n_tokens`` groups of the latent.

The latent of size m is split into ``n_tokens`` vectors of size ``m / n_tokens``; each is
replaced by its nearest codebook entry, and the gradient passes straight through to the encoder.
The tokenizer's loss is ``beta * ||z - sg(e)||^2`` (commitment), plus ``||sg(z) - e||^2``
(codebook) when the codebook learns by gradient; with ``ema`` it instead follows an exponential
moving average of the encoder outputs assigned to each code (sum over count, as in
``vector-quantize-pytorch``).

Codebook init is ``random`` (normal entries of std ``init_scale``) or ``kmeans`` on the first
training batch. With ``restart_dead_codes``, a code unused for ``dead_after_steps`` consecutive
training steps is re-seeded from a random encoder output of the current batch (its EMA
statistics restart from that one sample).

Nearest neighbours come from ``||e||^2 - 2 z.e`` computed by one ``addmm`` (the ``||z||^2``
term does not change the argmin): about 3x faster than ``torch.cdist`` and its ``argmin``
at K=256 (``benchmarks/bench_vq.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from thesis_ml.tokenizers.base import Quantized, Tokenizer

# Added to the EMA counts: keeps a code with a near-zero count from dividing by zero.
EMA_EPS = 1e-5


def nearest_codes(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest (Euclidean) codebook row of each row of ``vectors``.

    The first nearest one on ties, as ``argmin``. On CPU, PyTorch's index reductions (``min``,
    ``argmin``) are not vectorized and cost 3x the rest of the search together, so the index
    comes from value reductions instead: mark each row's minima with 1.0 (``eq`` into a float
    tensor), weight the marks by K - index and take the row's largest (exact in float32 up to
    K = 2^24, the schema's limit). A row with a NaN has no minimum and gets the last code; its
    loss is NaN, which the training loop reports.
    """
    n_codes = len(codebook)
    scores = torch.addmm((codebook * codebook).sum(dim=1), vectors, codebook.T, alpha=-2)
    torch.eq(scores, scores.amin(dim=1, keepdim=True), out=scores)
    weights = torch.arange(n_codes, 0, -1, dtype=scores.dtype, device=scores.device)
    first_minimum = n_codes - scores.mul_(weights).amax(dim=1).long()
    return first_minimum.clamp_(max=n_codes - 1)


def kmeans(samples: torch.Tensor, n_clusters: int, iterations: int) -> torch.Tensor:
    """Lloyd's k-means from distinct random samples (repeated ones if there are too few)."""
    if len(samples) >= n_clusters:
        start = torch.randperm(len(samples), device=samples.device)[:n_clusters]
    else:
        start = torch.randint(len(samples), (n_clusters,), device=samples.device)
    means = samples[start]
    for _ in range(iterations):
        codes = nearest_codes(samples, means)
        counts = torch.bincount(codes, minlength=n_clusters).unsqueeze(1)
        sums = torch.zeros_like(means).index_add_(0, codes, samples)
        means = torch.where(counts > 0, sums / counts.clamp(min=1), means)
    return means


class VectorQuantizer(Tokenizer):
    def __init__(
        self,
        latent_dim: int,
        *,
        codebook_size: int,
        n_tokens: int,
        beta: float,
        ema: bool,
        decay: float,
        init: str,
        init_scale: float,
        kmeans_iters: int,
        restart_dead_codes: bool,
        dead_after_steps: int,
    ) -> None:
        """Options as in ``configs/phase1/tokenizer/vq.yaml``, which states their defaults."""
        super().__init__()
        if latent_dim % n_tokens:
            raise ValueError(
                f"phase1.tokenizer.n_tokens={n_tokens} does not divide the latent size {latent_dim}"
            )
        if init not in ("random", "kmeans"):
            raise ValueError(f"phase1.tokenizer.init={init!r} is not random or kmeans")
        self.codebook_size = codebook_size
        self.n_tokens = n_tokens
        self.dim = latent_dim // n_tokens
        self.beta = beta
        self.ema = ema
        self.decay = decay
        self.kmeans_iters = kmeans_iters
        self.restart_dead_codes = restart_dead_codes
        self.dead_after_steps = dead_after_steps

        codebook = init_scale * torch.randn(codebook_size, self.dim)
        if ema:
            self.register_buffer("codebook", codebook)
            # EMA of the sum of the vectors assigned to each code, and (last column) of their count
            self.register_buffer(
                "ema_stats", torch.cat([codebook, torch.ones(codebook_size, 1)], 1)
            )
        else:
            self.codebook = torch.nn.Parameter(codebook)
        self.register_buffer("steps_unused", torch.zeros(codebook_size, dtype=torch.long))
        self.register_buffer("initialized", torch.tensor(init == "random"))
        # Mirror of `initialized` on the host, so that a training step need not read the device.
        self._awaits_init = init == "kmeans"
        # Training steps before a code can first reach dead_after_steps unused steps: the
        # restart check reads the device only then (see `_restart_dead`).
        self._steps_to_check = 0
        self.register_load_state_dict_post_hook(_sync_host_state)

    @classmethod
    def from_config(cls, cfg: Mapping, latent_dim: int) -> VectorQuantizer:
        return cls(
            latent_dim,
            codebook_size=int(cfg["codebook_size"]),
            n_tokens=int(cfg["n_tokens"]),
            beta=float(cfg["beta"]),
            ema=bool(cfg["ema"]),
            decay=float(cfg["decay"]),
            init=str(cfg["init"]),
            init_scale=float(cfg["init_scale"]),
            kmeans_iters=int(cfg["kmeans_iters"]),
            restart_dead_codes=bool(cfg["restart_dead_codes"]),
            dead_after_steps=int(cfg["dead_after_steps"]),
        )

    @property
    def bits_per_sample(self) -> float:
        return self.n_tokens * math.log2(self.codebook_size)

    def forward(self, latent: torch.Tensor) -> Quantized:
        # Full precision even under bf16 autocast: close codes would tie in bf16 distances, and
        # the EMA statistics would lose their small per-step updates.
        if not torch.is_autocast_enabled(latent.device.type):
            return self._quantize(latent.float())
        with torch.autocast(latent.device.type, enabled=False):
            return self._quantize(latent.float())

    def _quantize(self, latent: torch.Tensor) -> Quantized:
        vectors = latent.reshape(-1, self.dim)
        detached = vectors.detach()
        if self.training and self._awaits_init:
            self._init_from(detached)
        codes = nearest_codes(detached, self.codebook.detach())
        quantized = F.embedding(codes, self.codebook)
        if self.training:
            self._update(detached, codes)
        aux_loss = self.beta * F.mse_loss(vectors, quantized.detach())  # commitment
        if not self.ema:
            aux_loss = aux_loss + F.mse_loss(quantized, detached)
        # Straight-through: the decoder's gradient passes to the encoder unchanged.
        straight_through = vectors + (quantized.detach() - detached)
        return Quantized(
            straight_through.view_as(latent), aux_loss, codes.view(len(latent), self.n_tokens)
        )

    @torch.no_grad()
    def _init_from(self, vectors: torch.Tensor) -> None:
        means = kmeans(vectors, self.codebook_size, self.kmeans_iters)
        self.codebook.copy_(means)
        if self.ema:
            self.ema_stats[:, :-1] = means
            self.ema_stats[:, -1] = 1.0
        self.initialized.fill_(True)
        self._awaits_init = False

    @torch.no_grad()
    def _update(self, vectors: torch.Tensor, codes: torch.Tensor) -> None:
        """EMA codebook step and dead-code restart after a training assignment."""
        if self.ema:
            # Sums of the assigned vectors and their count, in one scatter: [vectors, 1].
            augmented = torch.cat([vectors, vectors.new_ones(len(vectors), 1)], dim=1)
            # (on CPU, index_add_ with alpha=1 - decay is 5x slower than into zeros, then lerp)
            batch = torch.zeros_like(self.ema_stats).index_add_(0, codes, augmented)
            self.ema_stats.lerp_(batch, 1 - self.decay)
            sizes = self.ema_stats[:, -1:] + EMA_EPS
            torch.div(self.ema_stats[:, :-1], sizes, out=self.codebook)
        self.steps_unused.add_(1).index_fill_(0, codes, 0)
        if self.restart_dead_codes:
            self._restart_dead(vectors)

    def _restart_dead(self, vectors: torch.Tensor) -> None:
        """Restart the codes unused for ``dead_after_steps`` steps, reading the device rarely.

        A code's unused-step count grows by at most one per step, so after a check that found
        the largest count at m < dead_after_steps, none can reach it in the next
        ``dead_after_steps - m - 1`` steps: those skip the check (a host read, which on a GPU
        waits for the step), and the result is as if every step checked.
        """
        self._steps_to_check -= 1
        if self._steps_to_check > 0:
            return
        oldest = int(self.steps_unused.max())
        if oldest >= self.dead_after_steps:
            self._restart(self.steps_unused >= self.dead_after_steps, vectors)
            oldest = int(self.steps_unused.max())
        self._steps_to_check = self.dead_after_steps - oldest

    def _restart(self, dead: torch.Tensor, vectors: torch.Tensor) -> None:
        """Re-seed the ``dead`` codes from random rows of ``vectors``; their EMA restarts there."""
        picks = torch.randint(len(vectors), (int(dead.sum()),), device=vectors.device)
        self.codebook[dead] = vectors[picks]
        if self.ema:
            self.ema_stats[dead] = torch.cat([vectors[picks], vectors.new_ones(len(picks), 1)], 1)
        self.steps_unused[dead] = 0


def _sync_host_state(module: VectorQuantizer, _incompatible) -> None:
    module._awaits_init = not bool(module.initialized)
    module._steps_to_check = 0  # the loaded unused-step counts are unknown on the host
