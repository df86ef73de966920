"""Closed-form reconstruction bounds and the reconstruction data they describe."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from thesis_ml.data.bounds import compression, distortion_rate, pca_bound
from thesis_ml.data.reconstruction import generate, population_eigenvalues

DATA = {
    "task": "reconstruction",
    "n_samples": 4096,
    "n_features": 16,
    "train_frac": 0.7,
    "val_frac": 0.15,
    "seed": 0,
    "n_factors": 8,
    "factor_decay": 0.8,
    "noise": 0.1,
}
EIGENVALUES = st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=12)


def _water_filling_by_bisection(eigenvalues: list[float], bits: float) -> float:
    """Independent reference: bisect the water level until the rates add up to ``bits``."""
    low, high = 1e-300, max(eigenvalues)
    for _ in range(3000):
        level = math.sqrt(low * high)
        rate = sum(max(0.0, 0.5 * math.log2(v / level)) for v in eigenvalues)
        low, high = (level, high) if rate > bits else (low, level)
    return sum(min(level, v) for v in eigenvalues) / len(eigenvalues)


def test_pca_bound_sums_the_discarded_eigenvalues_per_element():
    assert pca_bound([1.0, 4.0, 2.0, 1.0], 2) == pytest.approx(0.5)
    assert pca_bound([1.0, 4.0], 2) == 0.0


def test_distortion_rate_closed_forms():
    assert distortion_rate([3.0, 1.0], 0) == pytest.approx(2.0)  # nothing coded: the variance
    assert distortion_rate([2.0], 3) == pytest.approx(2.0 * 2**-6)  # one Gaussian: s^2 2^(-2R)
    assert distortion_rate([1.0] * 4, 8) == pytest.approx(2**-4)  # R spread evenly over 4
    # Water level 1 codes only the first component with 1 bit: D = (1 + 0.01) / 2.
    assert distortion_rate([4.0, 0.01], 1) == pytest.approx((1 + 0.01) / 2)


@settings(max_examples=60, deadline=None)
@given(EIGENVALUES, st.floats(0.01, 40))
def test_distortion_rate_matches_water_filling_by_bisection(eigenvalues, bits):
    assert distortion_rate(eigenvalues, bits) == pytest.approx(
        _water_filling_by_bisection(eigenvalues, bits), rel=1e-6
    )


@settings(max_examples=60, deadline=None)
@given(EIGENVALUES, st.floats(0, 30), st.floats(0.1, 10))
def test_distortion_rate_falls_with_rate_and_stays_in_range(eigenvalues, bits, more):
    low, high = distortion_rate(eigenvalues, bits + more), distortion_rate(eigenvalues, bits)
    assert 0 <= low <= high <= sum(eigenvalues) / len(eigenvalues) * (1 + 1e-12)


def test_compression_counts_float32_bits():
    assert compression(4 * 32, 16) == {"bits_per_sample": 128, "input_bits": 512, "ratio": 0.25}


def test_reconstruction_data_has_the_eigenvalues_it_states():
    eigenvalues = population_eigenvalues(DATA)
    assert len(eigenvalues) == 16 and sum(eigenvalues) / 16 == pytest.approx(1.0)
    assert eigenvalues == sorted(eigenvalues, reverse=True)
    dataset = generate({**DATA, "n_samples": 200_000})
    x = dataset.x_train.double()
    centered = x - x.mean(dim=0)
    sample = torch.linalg.eigvalsh(centered.T @ centered / len(x)).flip(0).tolist()
    assert sample == pytest.approx(eigenvalues, rel=0.05, abs=2e-3)


def test_reconstruction_data_is_reproducible_and_its_target_is_the_input():
    first, second = generate(DATA), generate(DATA)
    for split in ("train", "val", "test"):
        assert torch.equal(first.inputs(split), second.inputs(split))
        assert torch.equal(first.targets(split), first.inputs(split))
    sizes = [first.meta[f"n_{split}"] for split in ("train", "val", "test")]
    assert sizes == [2867, 614, 615] and sum(sizes) == DATA["n_samples"]
    assert not torch.equal(generate({**DATA, "seed": 1}).x_test, first.x_test)
