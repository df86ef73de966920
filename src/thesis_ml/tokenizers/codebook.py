"""Codebook search and k-means, shared by the VQ tokenizers.

Nearest neighbours come from ``||e||^2 - 2 z.e`` computed by one ``addmm`` (the ``||z||^2``
term does not change the argmin): about 3x faster than ``torch.cdist`` and its ``argmin``
at K=256 (``benchmarks/bench_vq.py``). For unit rows (cosine similarity) the search is the
largest dot product ``z.e`` alone, as vector-quantize-pytorch's ``use_cosine_sim``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Below this many codes, argmin finds the nearest code faster than value reductions (CPU).
ARGMIN_BELOW = 32


def nearest_codes(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest (Euclidean) codebook row of each row of ``vectors``.

    The first nearest one on ties, as ``argmin``; see :func:`_first_minimum`.
    """
    return _first_minimum(
        torch.addmm((codebook * codebook).sum(dim=1), vectors, codebook.T, alpha=-2)
    )


def most_similar_codes(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the codebook row with the largest dot product with each row of ``vectors``:
    for unit rows, the largest cosine similarity. The first such one on ties, as ``argmax``."""
    return _first_minimum(torch.mm(vectors, codebook.T).neg_())


def _first_minimum(scores: torch.Tensor) -> torch.Tensor:
    """Column of the first minimum of each row of ``scores`` (overwritten).

    On CPU, PyTorch's index reductions (``min``, ``argmin``) are not vectorized: from K = 32
    on they cost more than the rest of the search together (3x at K = 256), so there the index
    comes from value reductions instead: mark each row's minima with 1.0 (``eq`` into a float
    tensor), weight the marks by K - index and take the row's largest (exact in float32 up to
    K = 2^24, the schema's limit). Below 32 codes ``argmin`` is the faster (4x at K = 16, the
    residual VQ's stages). A row with a NaN gets some code either way; its loss is NaN, which
    the training loop reports.
    """
    n_codes = scores.shape[1]
    if n_codes < ARGMIN_BELOW:
        return scores.argmin(dim=1)
    torch.eq(scores, scores.amin(dim=1, keepdim=True), out=scores)
    weights = torch.arange(n_codes, 0, -1, dtype=scores.dtype, device=scores.device)
    first_minimum = n_codes - scores.mul_(weights).amax(dim=1).long()
    return first_minimum.clamp_(max=n_codes - 1)


def kmeans(
    samples: torch.Tensor, n_clusters: int, iterations: int, spherical: bool = False
) -> torch.Tensor:
    """Lloyd's k-means from distinct random samples (repeated ones if there are too few).

    ``spherical``: for unit samples, assignment by cosine similarity and unit means, so that
    the clusters are those of the search that will use them.
    """
    if len(samples) >= n_clusters:
        start = torch.randperm(len(samples), device=samples.device)[:n_clusters]
    else:
        start = torch.randint(len(samples), (n_clusters,), device=samples.device)
    means = samples[start]
    search = most_similar_codes if spherical else nearest_codes
    for _ in range(iterations):
        codes = search(samples, means)
        counts = torch.bincount(codes, minlength=n_clusters).unsqueeze(1)
        sums = torch.zeros_like(means).index_add_(0, codes, samples)
        means = torch.where(counts > 0, sums / counts.clamp(min=1), means)
        if spherical:
            means = F.normalize(means, dim=1)
    return means
