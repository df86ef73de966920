"""Real datasets that ship inside scikit-learn's wheel (no download): ``data=digits`` (1797 8x8
images of handwritten digits, 10 classes; classification or reconstruction), ``data=diabetes``
(442 patients x 10 measurements; regression) and ``data=breast_cancer`` (569 x 30; binary).

No optimum is known for real data: each run is compared against references instead
(:mod:`thesis_ml.data.references`).
"""

from __future__ import annotations

from collections.abc import Mapping

from thesis_ml.config import ConfigError
from thesis_ml.data import tabular
from thesis_ml.data.dataset import Dataset

# data.kind -> (scikit-learn loader, the tasks it serves)
BUNDLED = {
    "digits": ("load_digits", ("multiclass", "reconstruction")),
    "diabetes": ("load_diabetes", ("regression",)),
    "breast_cancer": ("load_breast_cancer", ("binary",)),
}


def generate(data_cfg: Mapping) -> Dataset:
    """Load ``data.kind`` and split and scale it as ``data_cfg`` says."""
    import sklearn.datasets

    kind = data_cfg["kind"]
    loader, tasks = BUNDLED[kind]
    if data_cfg["task"] not in tasks:
        raise ConfigError(f"data.task: {data_cfg['task']!r}; data={kind} serves {', '.join(tasks)}")
    bunch = getattr(sklearn.datasets, loader)()
    meta = {"source": f"sklearn.datasets.{loader}"}
    if data_cfg["task"] in ("binary", "multiclass"):
        meta["class_names"] = [str(name) for name in bunch.target_names]
    target = None if data_cfg["task"] == "reconstruction" else bunch.target
    return tabular.prepare(data_cfg, bunch.data, target, meta)
