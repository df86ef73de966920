"""What an autoencoder run is compared against, each named for what it is (docs/facts.md).

- ``lower_bound``: a true bound. Any code of R bits per sample of a Gaussian source has an
  expected MSE of at least D(R) (:func:`thesis_ml.data.bounds.distortion_rate` on the population
  covariance); stated for discrete codes on data whose source is known to be Gaussian. A
  continuous float latent has none worth stating (32 bits per number make D(R) negligible).
- ``linear_reference``: the best *linear* code of the latent size: PCA fitted on the training
  split, measured on each evaluation split. A nonlinear autoencoder may beat it; for a discrete
  code it is not a limit either (a decoder maps K codes to K arbitrary points, on no plane).
- ``quantizer_reference``: an achievable L-level quantizer of the inputs themselves: Lloyd's
  k-means (scikit-learn's ``KMeans``, k-means++ and :data:`KMEANS_OPTIONS` restarts, seeded by
  ``data.seed``) with L = the code's number of levels, fitted on the training split. Omitted when
  L > n_train / :data:`SAMPLES_PER_LEVEL`: with fewer samples per centroid it memorises the
  training split instead of quantizing the source.

Linear references are cheap and computed for every latent size with the dataset
(:func:`linear_references`); a k-means is computed once per dataset and level count, by the
pipeline's reference step or, outside the pipeline, by the run that needs it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from thesis_ml.data.bounds import distortion_rate

# scikit-learn KMeans options of the quantizer reference; with random_state = data.seed.
KMEANS_OPTIONS = {"init": "k-means++", "n_init": 4, "max_iter": 300, "tol": 1e-6}
SAMPLES_PER_LEVEL = 8  # fewest training samples per centroid for a quantizer reference
EVAL_SPLITS = ("val", "test")


def linear_references(splits: Mapping[str, np.ndarray]) -> list[dict]:
    """PCA of ``splits["train"]`` with m = 0..n_features components: MSE per element on each
    evaluation split, indexed by m."""
    from sklearn.decomposition import PCA

    train = _float64(splits["train"])
    n_features = train.shape[1]
    pca = PCA(svd_solver="full").fit(train)
    references = []
    for m in range(n_features + 1):
        components = pca.components_[:m]
        entry = {"role": "reference", "kind": "pca", "latent_dim": m}
        for split in EVAL_SPLITS:
            centered = _float64(splits[split]) - pca.mean_
            residual = centered - centered @ components.T @ components
            entry[f"{split}_loss"] = float(np.mean(residual**2))
        references.append(entry)
    return references


def quantizer_reference(splits: Mapping[str, np.ndarray], levels: int, seed: int) -> dict:
    """The k-means reference of ``levels`` centroids, or ``{"levels", "omitted"}`` with why."""
    from sklearn.cluster import KMeans

    train = _float64(splits["train"])
    if levels * SAMPLES_PER_LEVEL > len(train):
        return {
            "levels": levels,
            "omitted": f"{levels} levels need at least {SAMPLES_PER_LEVEL} training samples "
            f"each ({levels * SAMPLES_PER_LEVEL}); the training split has {len(train)}",
        }
    kmeans = KMeans(n_clusters=levels, random_state=seed, **KMEANS_OPTIONS).fit(train)
    entry = {
        "role": "reference",
        "kind": "kmeans",
        "levels": levels,
        "n_init": KMEANS_OPTIONS["n_init"],
        "seed": seed,
    }
    for split in EVAL_SPLITS:
        points = _float64(splits[split])
        entry[f"{split}_loss"] = float(-kmeans.score(points) / points.size)
    return entry


def stored_or_computed_linear_references(dataset) -> list[dict]:
    """:func:`linear_references` of a dataset: those stored with reconstruction data, or, for an
    autoencoder on other data, computed now."""
    if "linear_references" not in dataset.meta:
        dataset.meta["linear_references"] = linear_references(dataset.input_splits())
    return dataset.meta["linear_references"]


def stored_or_computed_quantizer_reference(dataset, levels: int, threads: int) -> dict:
    """The k-means reference of ``levels`` for a :class:`~thesis_ml.data.dataset.Dataset`: the
    one stored with it (the pipeline's reference step) or, outside the pipeline, computed now
    on ``threads`` threads (the run's share of the cores, as its training has)."""
    from threadpoolctl import threadpool_limits

    stored = dataset.meta.get("quantizer_references", {}).get(str(levels))
    if stored is not None:
        return stored
    with threadpool_limits(threads):
        return quantizer_reference(dataset.input_splits(), levels, int(dataset.meta["seed"]))


def lower_bound(eigenvalues, bits_per_sample: float) -> dict:
    """D(R) of a Gaussian source with these population eigenvalues (the same on every split)."""
    value = float(distortion_rate(eigenvalues, bits_per_sample)[0])
    return {
        "role": "bound",
        "kind": "gaussian_rate_distortion",
        "bits_per_sample": bits_per_sample,
        "eigenvalues": list(eigenvalues),
        "expected_loss": value,
        **{f"{split}_loss": value for split in EVAL_SPLITS},
    }


def supervised_yardsticks(meta: Mapping) -> dict:
    """The comparison of a supervised run: the data's known optimum, where it has one, else
    the linear model fitted on its training split."""
    if "optimum" in meta:
        return _comparison({"optimum": dict(meta["optimum"])}, "optimum", {})
    omitted = {"optimum": "no optimum is known for this data"}
    if "linear_reference" not in meta:
        return _comparison({}, None, omitted)
    return _comparison(
        {"linear_reference": dict(meta["linear_reference"])}, "linear_reference", omitted
    )


def supervised_linear_reference(dataset) -> dict:
    """The linear model of the task, fitted on the training split and scored on each evaluation
    split: logistic regression (multinomial for several classes) with its log loss and accuracy,
    or ridge regression with its MSE. scikit-learn, seeded by ``data.seed``."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import log_loss, mean_squared_error

    task = dataset.meta["task"]
    x = {split: _float64(dataset.inputs(split)) for split in ("train", *EVAL_SPLITS)}
    y = {split: dataset.targets(split).numpy() for split in ("train", *EVAL_SPLITS)}
    if task == "regression":
        model = Ridge(alpha=1.0).fit(x["train"], y["train"].ravel())
        entry = {"role": "reference", "kind": "ridge"}
        for split in EVAL_SPLITS:
            entry[f"{split}_loss"] = float(mean_squared_error(y[split], model.predict(x[split])))
        return entry
    labels = {split: y[split].ravel().astype(int) for split in y}
    model = LogisticRegression(max_iter=5000, random_state=int(dataset.meta["seed"]))
    model.fit(x["train"], labels["train"])
    entry = {"role": "reference", "kind": "logistic_regression"}
    for split in EVAL_SPLITS:
        probabilities = model.predict_proba(x[split])
        entry[f"{split}_loss"] = float(
            log_loss(labels[split], probabilities, labels=model.classes_)
        )
        entry[f"{split}_accuracy"] = float(model.score(x[split], labels[split]))
    return entry


def reconstruction_yardsticks(
    dataset, latent_dim: int, levels: int | None, quantizer: dict | None
) -> dict:
    """The comparison of an autoencoder run (docs/facts.md): ``yardsticks``, the
    ``reference_kind`` it is judged by and the ``omitted_yardsticks`` with why.

    ``dataset`` gives the linear references and, when its source is Gaussian, the population
    ``eigenvalues`` in its meta; ``levels`` is the code's level count (None: continuous latent);
    ``quantizer`` the :func:`quantizer_reference` of those levels.
    """
    meta = dataset.meta
    linear = stored_or_computed_linear_references(dataset)
    yardsticks = {"linear_reference": dict(linear[min(latent_dim, len(linear) - 1)])}
    omitted = {}
    if levels is None:
        omitted["lower_bound"] = "a continuous float latent: no code rate to bound"
        omitted["quantizer_reference"] = "a continuous float latent has no levels"
    else:
        if meta.get("eigenvalues"):
            yardsticks["lower_bound"] = lower_bound(meta["eigenvalues"], math.log2(levels))
        else:
            omitted["lower_bound"] = "the source distribution is not known: D(R) is no bound"
        if "omitted" in quantizer:
            omitted["quantizer_reference"] = quantizer["omitted"]
        else:
            yardsticks["quantizer_reference"] = quantizer
    judged_by = "quantizer_reference" if "quantizer_reference" in yardsticks else "linear_reference"
    return _comparison(yardsticks, judged_by, omitted)


def _comparison(yardsticks: dict, reference_kind: str | None, omitted: dict) -> dict:
    return {
        "yardsticks": yardsticks,
        "reference_kind": reference_kind,
        "omitted_yardsticks": omitted,
    }


def _float64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)
