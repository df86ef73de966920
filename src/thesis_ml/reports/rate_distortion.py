"""Limits on reconstruction error for Gaussian data with known covariance eigenvalues.

For ``x`` with covariance eigenvalues ``lam_1 >= ... >= lam_n``, mean squared error per element:

- continuous latent of size ``m`` (linear or not, at best PCA): ``sum(lam[m:]) / n``;
- a code of ``R`` bits per sample: the Gaussian distortion-rate function by reverse
  water-filling, ``D(R) = sum(min(theta, lam_i)) / n`` with ``theta`` such that
  ``sum(max(0, log2(lam_i / theta) / 2)) = R``. It is a lower bound for any code on Gaussian
  data, and the Gaussian is the hardest source of its covariance.

NumPy only, so that training code can import it cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pca_bound(eigenvalues: Sequence[float], latent_dim: int) -> float:
    """Least MSE per element of any reconstruction through ``latent_dim`` continuous numbers."""
    lam = _sorted(eigenvalues)
    return float(lam[latent_dim:].sum() / lam.size)


def distortion_rate(eigenvalues: Sequence[float], bits: float | Sequence[float]) -> np.ndarray:
    """``D(R)`` per element for each rate ``R`` in ``bits`` (bits per sample), vectorised."""
    all_lam = _sorted(eigenvalues)
    lam = all_lam[all_lam > 0]
    rates = np.atleast_1d(np.asarray(bits, dtype=float))
    if np.any(rates < 0):
        raise ValueError("bits per sample must be >= 0")
    if lam.size == 0:
        return np.zeros_like(rates)
    # With the k largest components active, theta_k(R) = 2**((sum(log2 lam[:k]) - 2R) / k). The
    # valid k (theta_k <= lam[k-1]) form a prefix 1..k*, and k* is the water level's active set.
    log_lam = np.log2(lam)
    k = np.arange(1, lam.size + 1)
    log_theta = (np.cumsum(log_lam)[None, :] - 2 * rates[:, None]) / k[None, :]
    valid = log_theta <= log_lam[None, :]
    active = lam.size - np.argmax(valid[:, ::-1], axis=1)
    theta = 2.0 ** log_theta[np.arange(rates.size), active - 1]
    return np.minimum(theta[:, None], lam[None, :]).sum(axis=1) / all_lam.size


def _sorted(eigenvalues: Sequence[float]) -> np.ndarray:
    return np.sort(np.asarray(eigenvalues, dtype=float))[::-1]
