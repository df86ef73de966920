"""The default sweep against its references: how close each VQ configuration gets, and how long.

Runs ``snakemake --cores 2`` on the default sweep (workflow_configs/default.yaml) in a copy of
the workflow and reads every run's facts. Targets (honest-numbers issue):
- every VQ configuration's mean test MSE over seeds within 10% of max(linear reference of its
  latent size, quantizer reference of its K);
- the whole sweep, data to report, within 120 s on 2 cores.
Printed beside each VQ configuration, for information: the *subspace quantizer*, k-means with K
centroids on the training split's top-m principal components and the cell means as outputs:
the best a VQ whose encoder is linear can do. Where it is above the target, reaching the target
needs an encoder that learns a non-linear partition of the inputs.

    python benchmarks/bench_references.py [--quick] [--json PATH]

``--quick`` runs the default sweep at 3 epochs and one seed: the figures' rows, whose values are
then no test of the targets.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.workflow_helpers import copy_workflow, snakemake  # noqa: E402
from thesis_ml.data.dataset import load_dataset  # noqa: E402
from thesis_ml.facts import final_event, read_events  # noqa: E402

TARGET_RATIO = 1.10
TARGET_SWEEP_S = 120.0


def subspace_quantizer(dataset, latent_dim: int, levels: int, seed: int) -> float:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    train, test = (dataset.inputs(s).numpy().astype(np.float64) for s in ("train", "test"))
    pca = PCA(latent_dim).fit(train)
    kmeans = KMeans(levels, n_init=4, random_state=seed).fit(pca.transform(train))
    cells = kmeans.labels_
    means = np.stack([train[cells == k].mean(axis=0) for k in range(levels)])
    return float(np.mean((test - means[kmeans.predict(pca.transform(test))]) ** 2))


def shrink_default_sweep(workdir: Path) -> None:
    """For --quick (tests/test_benchmarks.py: the figures reach the table, values aside): the
    default sweep at 3 epochs and one seed, in the copy of the workflow."""
    path = workdir / "workflow_configs" / "default.yaml"
    sweep = yaml.safe_load(path.read_text(encoding="utf-8"))
    sweep["overrides"] = [
        "trainer.epochs=3" if override.startswith("trainer.epochs=") else override
        for override in sweep["overrides"]
    ]
    sweep["seeds"] = [0]
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")


def measure(workdir: Path) -> dict:
    start = time.perf_counter()
    snakemake(workdir, "--cores", "2", timeout=900)
    sweep_s = time.perf_counter() - start
    groups = collections.defaultdict(list)
    for run_dir in sorted((workdir / "results/default/runs").iterdir()):
        end = final_event(read_events(run_dir))
        if end["yardsticks"].get("quantizer_reference") is None:
            continue  # continuous latents: judged by the linear reference, no VQ target
        groups[run_dir.name.rsplit("__seed-", 1)[0]].append(end)
    dataset = load_dataset(next((workdir / "results/data").glob("*.pt")))
    configurations = []
    for name, ends in groups.items():
        yardsticks = ends[0]["yardsticks"]
        target = max(
            yardsticks[k]["test_loss"] for k in ("linear_reference", "quantizer_reference")
        )
        mean = statistics.fmean(end["best"]["test_loss"] for end in ends)
        latent_dim = yardsticks["linear_reference"]["latent_dim"]
        levels = yardsticks["quantizer_reference"]["levels"]
        configurations.append(
            {
                "configuration": name,
                "n_seeds": len(ends),
                "mean_test_mse": mean,
                "target_mse": target,
                "ratio": mean / target,
                "met": mean / target <= TARGET_RATIO,
                "lower_bound": yardsticks["lower_bound"]["test_loss"],
                "subspace_quantizer": subspace_quantizer(dataset, latent_dim, levels, 0),
            }
        )
    return {
        "sweep_s": sweep_s,
        "target_sweep_s": TARGET_SWEEP_S,
        "target_ratio": TARGET_RATIO,
        "configurations": configurations,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 epochs, one seed: the figures, not the targets"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_references-") as tmp:
        workdir = copy_workflow(Path(tmp) / "workflow")
        if args.quick:
            shrink_default_sweep(workdir)
        results = measure(workdir)
    print(f"default sweep, data to report: {results['sweep_s']:.1f} s (target <= 120 s)")
    for c in results["configurations"]:
        print(
            f"{c['configuration']:45s} test MSE {c['mean_test_mse']:.4f} / reference "
            f"{c['target_mse']:.4f} = {c['ratio']:.3f}x (target <= {TARGET_RATIO}x: "
            f"{'met' if c['met'] else 'MISSED'}); D(R) {c['lower_bound']:.4f}; "
            f"subspace quantizer {c['subspace_quantizer']:.4f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
