"""Samples per second of the library's supervised training loop against a bare PyTorch loop.

All variants train the same MLP (same initial weights) on the same default regression data with
the same batch size and thread count, in this one process, interleaved repeat by repeat so that
machine noise hits them alike:

- ``library``: ``train_test.train_one_epoch`` over a ``TensorLoader`` with the library's
  optimizer (fused Adam).
- ``bare``: the loop one writes by hand: batches drawn by indexing the tensors with a
  ``randperm``, ``torch.optim.Adam`` with its defaults.
- ``dataloader`` (reference): the bare loop fed by ``DataLoader(TensorDataset(...))``.

Target: ``library / bare >= 1.0`` at batch sizes 128 and 1024.

    python benchmarks/bench_train_loop.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from thesis_ml.config import compose
from thesis_ml.data.loaders import TensorLoader
from thesis_ml.data.registry import generate_dataset
from thesis_ml.models.mlp import build_mlp
from thesis_ml.train.train_test import make_optimizer, train_one_epoch
from thesis_ml.utils.io import atomic_write_text

BATCH_SIZES = (128, 1024)
TARGET = 1.0


def make_variants(cfg, batch_size: int) -> dict[str, Callable[[], None]]:
    """One epoch of each variant, as a callable; each owns a copy of the same initial model."""
    data = generate_dataset(cfg.data)
    x, y = data.x_train, data.y_train
    torch.manual_seed(0)
    initial = build_mlp(cfg.model, data.meta["input_dim"], data.meta["output_dim"])

    library_model = copy.deepcopy(initial)
    library_optimizer = make_optimizer(library_model, cfg.trainer, torch.device("cpu"))
    loader = TensorLoader(
        x, y, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)
    )

    def library() -> None:
        train_one_epoch(library_model, loader, library_optimizer, F.mse_loss)

    bare_model = copy.deepcopy(initial)
    bare_optimizer = torch.optim.Adam(bare_model.parameters(), lr=float(cfg.trainer.lr))
    bare_generator = torch.Generator().manual_seed(0)

    def bare() -> None:
        bare_model.train()
        order = torch.randperm(len(x), generator=bare_generator)
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            loss = F.mse_loss(bare_model(x[index]), y[index])
            bare_optimizer.zero_grad()
            loss.backward()
            bare_optimizer.step()

    reference_model = copy.deepcopy(initial)
    reference_optimizer = torch.optim.Adam(reference_model.parameters(), lr=float(cfg.trainer.lr))
    reference_loader = DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )

    def dataloader() -> None:
        reference_model.train()
        for inputs, targets in reference_loader:
            loss = F.mse_loss(reference_model(inputs), targets)
            reference_optimizer.zero_grad()
            loss.backward()
            reference_optimizer.step()

    return {"library": library, "bare": bare, "dataloader": dataloader}


def measure(cfg, batch_size: int, repeats: int) -> dict[str, float]:
    """Median samples/s of each variant over ``repeats`` interleaved epochs (after a warm-up)."""
    variants = make_variants(cfg, batch_size)
    n_train = round(int(cfg.data.n_samples) * float(cfg.data.train_frac))
    for epoch in variants.values():
        epoch()
    rates: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for repeat in range(repeats):
        # Rotate the order so that no variant always runs right after the same one.
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            start = time.perf_counter()
            variants[name]()
            rates[name].append(n_train / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    cfg = compose()
    parser.add_argument(
        "--threads",
        type=int,
        default=cfg.trainer.num_threads or torch.get_num_threads(),
        help="torch intra-op threads (default: trainer.num_threads of the default config)",
    )
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    repeats = 5 if args.quick else 15
    results = []
    print(
        f"train samples: {round(cfg.data.n_samples * cfg.data.train_frac)}, model "
        f"{list(cfg.model.hidden_sizes)}, threads: {args.threads}, repeats: {repeats} (median)"
    )
    for batch_size in BATCH_SIZES:
        rates = measure(cfg, batch_size, repeats)
        ratio = rates["library"] / rates["bare"]
        reference = rates["dataloader"] / rates["bare"]
        results.append(
            {
                "batch_size": batch_size,
                "samples_per_s": rates,
                "ratio_library_to_bare": ratio,
                "ratio_dataloader_to_bare": reference,
            }
        )
        print(
            f"batch {batch_size:>5}: library {rates['library']:>10,.0f}/s  "
            f"bare {rates['bare']:>10,.0f}/s  dataloader {rates['dataloader']:>10,.0f}/s  "
            f"library/bare {ratio:.2f}x  dataloader/bare {reference:.2f}x"
        )
    met = all(row["ratio_library_to_bare"] >= TARGET for row in results)
    print(f"target library/bare >= {TARGET:.1f}x: {'met' if met else 'MISSED'}")
    if args.json:
        summary = {
            "benchmark": "train_loop",
            "threads": args.threads,
            "repeats": repeats,
            "target": TARGET,
            "met": met,
            "results": results,
        }
        atomic_write_text(args.json, json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
