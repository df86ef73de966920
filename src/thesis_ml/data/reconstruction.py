"""Synthetic data for autoencoders: Gaussian samples with known low-dimensional structure.

``x = c * (A z + noise * eps)`` with ``z ~ N(0, I_k)`` (k = ``data.n_factors``), ``eps ~ N(0, I_d)``
and ``A = U diag(s)``: U has orthonormal columns drawn from ``data.seed``, and the factor scales
``s_i = factor_decay**i`` fall off geometrically, so that every latent size m has a different,
non-trivial best error. The constant c scales the mean variance per feature to 1 (predicting the
mean then scores an MSE of 1).

The covariance ``c^2 (U diag(s^2) U^T + noise^2 I)`` has eigenvalues ``c^2 (s_i^2 + noise^2)``
for the k factors and ``c^2 noise^2`` for the remaining d - k directions, so the best possible
reconstruction errors are known in closed form (:mod:`thesis_ml.data.bounds`). The target of
every sample is the sample itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from thesis_ml.data.dataset import Dataset, split_dataset


def population_eigenvalues(data_cfg: Mapping) -> list[float]:
    """Eigenvalues of the covariance of x, descending, before any sampling."""
    unit = _unit_variance_factor(data_cfg)
    return [unit * value for value in _raw_eigenvalues(data_cfg)]


def generate(data_cfg: Mapping) -> Dataset:
    """Draw the dataset; the same config gives the same tensors."""
    generator = torch.Generator().manual_seed(int(data_cfg["seed"]))
    n, d = int(data_cfg["n_samples"]), int(data_cfg["n_features"])
    k, noise = int(data_cfg["n_factors"]), float(data_cfg["noise"])
    if not 1 <= k <= d:
        raise ValueError(f"data.n_factors={k} must be between 1 and data.n_features={d}")
    basis, _ = torch.linalg.qr(torch.randn(d, k, generator=generator))
    factors = torch.randn(n, k, generator=generator) * _factor_scales(data_cfg)
    x = factors @ basis.T + noise * torch.randn(n, d, generator=generator)
    x *= _unit_variance_factor(data_cfg) ** 0.5
    meta = {
        "task": "reconstruction",
        "input_dim": d,
        "output_dim": d,
        "eigenvalues": population_eigenvalues(data_cfg),
    }
    return split_dataset(data_cfg, x, x, meta)  # the target is the input itself


def _factor_scales(data_cfg: Mapping) -> torch.Tensor:
    decay = float(data_cfg["factor_decay"])
    return decay ** torch.arange(int(data_cfg["n_factors"]), dtype=torch.float32)


def _raw_eigenvalues(data_cfg: Mapping) -> list[float]:
    noise_var = float(data_cfg["noise"]) ** 2
    n_rest = int(data_cfg["n_features"]) - int(data_cfg["n_factors"])
    return [s**2 + noise_var for s in _factor_scales(data_cfg).tolist()] + [noise_var] * n_rest


def _unit_variance_factor(data_cfg: Mapping) -> float:
    """c^2: scales the covariance's trace to n_features."""
    return int(data_cfg["n_features"]) / sum(_raw_eigenvalues(data_cfg))
