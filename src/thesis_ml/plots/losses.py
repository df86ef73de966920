"""Train and validation loss curves (``loss.png`` of a run)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from thesis_ml.utils.io import atomic_write


def save_loss_figure(
    history: Mapping[str, list], run_dir: Path, logging_cfg: Mapping, optimum: Mapping
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_format = logging_cfg["fig_format"]
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.plot(history["epoch"], history["train_loss"], label="train")
    ax.plot(history["epoch"], history["val_loss"], label="validation")
    if optimum.get("val_loss"):
        ax.axhline(optimum["val_loss"], color="grey", linestyle="--", label="known optimum")
    ax.set(title="Loss per epoch", xlabel="epoch", ylabel="loss")
    ax.set_yscale("log")
    ax.legend()
    path = Path(run_dir) / f"loss.{fig_format}"
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format=fig_format, dpi=int(logging_cfg["dpi"]))
    plt.close(fig)
    return path
