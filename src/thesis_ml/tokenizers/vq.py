"""Vector quantization (VQ-VAE) with a codebook shared by ``n_tokens`` groups of the latent.

The latent of size m is split into ``n_tokens`` vectors of size ``m / n_tokens``; each is
replaced by its nearest codebook entry, and the gradient passes straight through to the encoder
(or by the rotation trick).
The tokenizer's loss is ``beta * ||z - sg(e)||^2`` (commitment), plus ``||sg(z) - e||^2``
(codebook) when the codebook learns by gradient; with ``ema`` it instead follows an exponential
moving average of the encoder outputs assigned to each code (sum over count, as in
``vector-quantize-pytorch``).

Codebook init is ``random`` (normal entries of std ``init_scale``) or ``kmeans`` on the first
training batch. With ``restart_dead_codes``, a code unused for ``dead_after_steps`` consecutive
training steps is re-seeded from a random encoder output of the current batch (its EMA
statistics restart from that one sample).

Four options, each off by default, follow vector-quantize-pytorch (its name in brackets):

- ``rotation_trick``: the decoder's gradient reaches the encoder through the rotation from its
  output to the code (``tokenizers/rotation.py``; ``rotate_to``) instead of straight-through.
- ``cosine``: tokens and codes are l2-normalised and the nearest code is the most similar one;
  the decoder gets the normalised code (``use_cosine_sim``).
- ``codebook_dim``: tokens are mapped (``nn.Linear``) to that smaller size, quantized there and
  mapped back (``codebook_dim``); losses, EMA, k-means and restarts all work in that space.
- ``simvq`` (Zhu et al. 2024, arXiv 2411.02038): the codebook is a frozen random basis times
  one learned linear map (``SimVQ``), so every gradient step moves all codes, used or not. It
  learns by gradient only (``ema`` must be off). The basis takes no gradient, but k-means
  init and restarts set its rows so that their codes are the k-means means and the encoder
  outputs (exactly while the square map is invertible), as they set a plain codebook's rows.
  Its random init is the peer's (``init_scale`` does not apply).

The options combine freely (the rotation then runs between the normalised, projected vectors);
the search is ``tokenizers/codebook.py``'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from thesis_ml.tokenizers.base import Quantized, Tokenizer, in_full_precision
from thesis_ml.tokenizers.codebook import kmeans, most_similar_codes, nearest_codes
from thesis_ml.tokenizers.rotation import rotation_trick

# Added to the EMA counts: keeps a code with a near-zero count from dividing by zero.
EMA_EPS = 1e-5


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
        rotation_trick: bool,
        cosine: bool,
        codebook_dim: int | None,
        simvq: bool,
    ) -> None:
        """Options as in ``configs/phase1/tokenizer/vq.yaml``, which states their defaults."""
        super().__init__()
        if latent_dim % n_tokens:
            raise ValueError(
                f"phase1.tokenizer.n_tokens={n_tokens} does not divide the latent size {latent_dim}"
            )
        if init not in ("random", "kmeans"):
            raise ValueError(f"phase1.tokenizer.init={init!r} is not random or kmeans")
        self.dim = latent_dim // n_tokens
        code_dim = self.dim if codebook_dim is None else codebook_dim
        if not 1 <= code_dim <= self.dim:
            raise ValueError(
                f"phase1.tokenizer.codebook_dim={codebook_dim} is not in [1, {self.dim}], "
                "the size of a token"
            )
        if simvq and ema:
            raise ValueError("phase1.tokenizer.simvq needs phase1.tokenizer.ema=false")
        self.codebook_size = codebook_size
        self.n_tokens = n_tokens
        self.beta = beta
        self.ema = ema
        self.decay = decay
        self.kmeans_iters = kmeans_iters
        self.restart_dead_codes = restart_dead_codes
        self.dead_after_steps = dead_after_steps
        self.rotation_trick = rotation_trick
        self.cosine = cosine
        self.simvq = simvq

        # As vector-quantize-pytorch: a codebook_dim of the token size needs no projection.
        self.project_in = self.project_out = None
        if code_dim < self.dim:
            self.project_in = nn.Linear(self.dim, code_dim)
            self.project_out = nn.Linear(code_dim, self.dim)
        if simvq:  # init as vector-quantize-pytorch's SimVQ: basis rows of unit expected norm
            self.register_buffer("basis", torch.randn(codebook_size, code_dim) * code_dim**-0.5)
            self.code_map = nn.Linear(code_dim, code_dim, bias=False)  # codes: basis @ W^T
        else:
            codebook = init_scale * torch.randn(codebook_size, code_dim)
            if ema:
                self.register_buffer("codebook", codebook)
                # EMA of the sums of the vectors assigned to each code, and (last column) counts
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
            # Off when absent: a section written before these options (bench_vq.py's) means
            # the VQ it meant then.
            rotation_trick=bool(cfg.get("rotation_trick", False)),
            cosine=bool(cfg.get("cosine", False)),
            codebook_dim=None if cfg.get("codebook_dim") is None else int(cfg["codebook_dim"]),
            simvq=bool(cfg.get("simvq", False)),
        )

    @property
    def bits_per_sample(self) -> float:
        return self.n_tokens * math.log2(self.codebook_size)

    def forward(self, latent: torch.Tensor) -> Quantized:
        # Close codes would tie in bf16 distances, and the EMA statistics would lose their
        # small per-step updates.
        return in_full_precision(self._quantize, latent)

    def _quantize(self, latent: torch.Tensor) -> Quantized:
        vectors = latent.reshape(-1, self.dim)
        if self.project_in is not None:
            vectors = self.project_in(vectors)
        if self.cosine:
            vectors = F.normalize(vectors, dim=1)
        detached = vectors.detach()
        if self.training and self._awaits_init:
            self._init_from(detached)
        search = most_similar_codes if self.cosine else nearest_codes
        searched = self._searched_codebook()
        codes = search(detached, searched)
        # EMA codes get no gradient: their rows are the searched ones (cosine: normalised once)
        quantized = F.embedding(codes, searched) if self.ema else self._selected_codes(codes)
        if self.training:
            self._update(detached, codes)
        aux_loss = self.beta * F.mse_loss(vectors, quantized.detach())  # commitment
        if not self.ema:
            aux_loss = aux_loss + F.mse_loss(quantized, detached)
        if self.rotation_trick:
            output = rotation_trick(vectors, quantized)
        else:  # straight-through: the decoder's gradient passes to the encoder unchanged
            output = vectors + (quantized.detach() - detached)
        if self.project_out is not None:
            output = self.project_out(output)
        return Quantized(output.view_as(latent), aux_loss, codes.view(len(latent), self.n_tokens))

    def _searched_codebook(self) -> torch.Tensor:
        """The codes as the search sees them, without gradient."""
        if self.simvq:
            codebook = self.basis @ self.code_map.weight.detach().T
        else:
            codebook = self.codebook.detach()
        return F.normalize(codebook, dim=1) if self.cosine else codebook

    def _selected_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """The code of each token, with the gradient of the codebook (SimVQ: of its map), for
        codebooks trained by their loss (``ema=false``).

        Rows are selected before they are mapped or normalised: the autograd graph then holds
        no codebook or basis tensor, which `_update` may change in place before the backward.
        """
        if self.simvq:
            selected = self.code_map(F.embedding(codes, self.basis))
        else:
            selected = F.embedding(codes, self.codebook)
        return F.normalize(selected, dim=1) if self.cosine else selected

    @torch.no_grad()
    def _init_from(self, vectors: torch.Tensor) -> None:
        means = kmeans(vectors, self.codebook_size, self.kmeans_iters, spherical=self.cosine)
        if self.simvq:
            self.basis.copy_(self._basis_rows_for(means))
        else:
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
            # (on CPU, index_add_ with alpha=1 - decay is 5x slower than into zeros, then lerp;
            # index_put_'s accumulation adds the same rows in the same order, 1.6x faster)
            batch = torch.zeros_like(self.ema_stats)
            batch.index_put_((codes,), augmented, accumulate=True)
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
        if self.simvq:
            self.basis[dead] = self._basis_rows_for(vectors[picks])
        else:
            self.codebook[dead] = vectors[picks]
        if self.ema:
            self.ema_stats[dead] = torch.cat([vectors[picks], vectors.new_ones(len(picks), 1)], 1)
        self.steps_unused[dead] = 0

    def _basis_rows_for(self, codes: torch.Tensor) -> torch.Tensor:
        """SimVQ basis rows b whose codes b @ W^T are ``codes`` (least squares if W is singular)."""
        return codes @ torch.linalg.pinv(self.code_map.weight.T)


def _sync_host_state(module: VectorQuantizer, _incompatible) -> None:
    module._awaits_init = not bool(module.initialized)
    module._steps_to_check = 0  # the loaded unused-step counts are unknown on the host
