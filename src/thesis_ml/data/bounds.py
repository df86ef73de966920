"""Closed-form lower bounds on the reconstruction error of an autoencoder, per element.

Both bounds take the eigenvalues of the data's covariance, in any order:

- :func:`pca_bound`: with a continuous latent of size m, the best affine encoder/decoder keeps
  the top m principal components; what remains is the sum of the other eigenvalues. An MLP
  autoencoder on Gaussian data does no better (its decoder's image is, in practice, an m-dim
  surface, and the flat one through the top components is the best such surface).
- :func:`distortion_rate`: any code of R bits per sample of a Gaussian source has a mean squared
  error of at least D(R), found by reverse water-filling: each component i is coded with error
  ``min(theta, lambda_i)``, and theta is set so that the rates ``max(0, log2(lambda_i/theta)/2)``
  add up to R.

Which bound a run must respect (:func:`reconstruction_optimum`) is the larger of the two, for
every tokenizer:

- D(R) holds for any R-bit code, so it binds a VQ of ``n_tokens * log2(K)`` bits; a continuous
  latent of m float32 numbers is coded with 32 m bits, where D(R) is negligible.
- The PCA bound of its latent size also binds a VQ: its decoder receives points of the same
  m-dim latent space as a continuous autoencoder, so an encoder that picked the best continuous
  latent for each sample instead of a codebook entry could only do better. A VQ is therefore
  bounded by the continuous autoencoder's optimum as well as by D(R), hence by their maximum.
  The larger one is the ``kind`` of the optimum.

NumPy only at import time, so that reports can draw the D(R) curve without importing torch.
The bounds go into the facts as computed on the validation set's own covariance (the error a
run is judged by), and in expectation where the population covariance is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FLOAT_BITS = 32  # bits per number of a continuous (float32) latent


def empirical_eigenvalues(x) -> list[float]:
    """Eigenvalues of the covariance of the rows of tensor ``x`` (centered, divided by n),
    descending."""
    import torch  # here only: reports import the bounds without paying for torch

    centered = x.double() - x.double().mean(dim=0)
    covariance = centered.T @ centered / len(x)
    eigenvalues = torch.linalg.eigvalsh(covariance).clamp(min=0).flip(0)
    return eigenvalues.tolist()


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


def reconstruction_optimum(
    eigenvalues: Sequence[float],
    latent_dim: int,
    bits_per_sample: float,
    population_eigenvalues: Sequence[float] | None = None,
) -> dict:
    """The optimum dict of an autoencoder run (see the module docstring for the choice)."""
    pca = pca_bound(eigenvalues, latent_dim)
    rate = float(distortion_rate(eigenvalues, bits_per_sample)[0])
    optimum = {
        "kind": "pca" if pca >= rate else "rate_distortion",
        "val_loss": max(pca, rate),
        "pca_bound": pca,
        "rate_distortion_bound": rate,
        "eigenvalues": list(eigenvalues),
        "latent_dim": latent_dim,
        "bits_per_sample": bits_per_sample,
    }
    if population_eigenvalues is not None:
        optimum["expected_val_loss"] = max(
            pca_bound(population_eigenvalues, latent_dim),
            float(distortion_rate(population_eigenvalues, bits_per_sample)[0]),
        )
    return optimum


def compression(bits_per_sample: float, n_features: int) -> Mapping[str, float]:
    """Bits of the code per sample and their ratio to the bits of the float32 input."""
    input_bits = n_features * FLOAT_BITS
    return {
        "bits_per_sample": bits_per_sample,
        "input_bits": input_bits,
        "ratio": bits_per_sample / input_bits,
    }
