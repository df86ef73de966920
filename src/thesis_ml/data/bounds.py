"""Closed-form reconstruction errors of a Gaussian source, per element, from the eigenvalues of
its covariance (in any order):

- :func:`pca_bound`: with a continuous latent of size m, the best *affine* encoder/decoder keeps
  the top m principal components; what remains is the sum of the other eigenvalues. It bounds
  linear codes only: a nonlinear autoencoder may do better, and a VQ's decoder maps its K codes
  to K arbitrary points on no plane at all (so it is stated as a reference, never as a bound:
  :mod:`thesis_ml.data.references`).
- :func:`distortion_rate`: any code of R bits per sample of a Gaussian source has an expected
  mean squared error of at least D(R), found by reverse water-filling: each component i is coded
  with error ``min(theta, lambda_i)``, and theta is set so that the rates
  ``max(0, log2(lambda_i/theta)/2)`` add up to R. A true lower bound of every discrete code.

NumPy only, so that reports can draw the D(R) curve without importing torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FLOAT_BITS = 32  # bits per number of a continuous (float32) latent


def pca_bound(eigenvalues: Sequence[float], latent_dim: int) -> float:
    """Least MSE per element of an affine reconstruction through ``latent_dim`` numbers."""
    lam = _descending(eigenvalues)
    return float(lam[latent_dim:].sum() / lam.size)


def distortion_rate(eigenvalues: Sequence[float], bits: float | Sequence[float]) -> np.ndarray:
    """Gaussian distortion-rate function D(R) per element, by reverse water-filling.

    Vectorised over ``bits`` (bits per sample; reports draw the whole curve). With the ``k``
    largest eigenvalues coded, the water level is ``2**((sum(log2 lam[:k]) - 2R) / k)``; the
    valid ``k`` (level <= lam[k-1]) form a prefix 1..k*, and k* is the active set. Computed in
    log space so that large rates do not underflow.
    """
    all_lam = _descending(eigenvalues)
    lam = all_lam[all_lam > 0]
    rates = np.atleast_1d(np.asarray(bits, dtype=float))
    if np.any(rates < 0):
        raise ValueError("bits per sample must be >= 0")
    if lam.size == 0:
        return np.zeros_like(rates)
    log_lam = np.log2(lam)
    k = np.arange(1, lam.size + 1)
    log_level = (np.cumsum(log_lam)[None, :] - 2 * rates[:, None]) / k[None, :]
    valid = log_level <= log_lam[None, :]
    active = lam.size - np.argmax(valid[:, ::-1], axis=1)
    level = 2.0 ** log_level[np.arange(rates.size), active - 1]
    return np.minimum(level[:, None], lam[None, :]).sum(axis=1) / all_lam.size


def _descending(eigenvalues: Sequence[float]) -> np.ndarray:
    return np.sort(np.asarray(eigenvalues, dtype=float))[::-1]


def compression(bits_per_sample: float, n_features: int) -> Mapping[str, float]:
    """Bits of the code per sample and their ratio to the bits of the float32 input."""
    input_bits = n_features * FLOAT_BITS
    return {
        "bits_per_sample": bits_per_sample,
        "input_bits": input_bits,
        "ratio": bits_per_sample / input_bits,
    }
