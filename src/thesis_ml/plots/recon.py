"""Family ``recon``: reconstruction error per epoch against the run's yardsticks (those that
apply to its code: lower bound D(R), linear and quantizer references), and (mode ``visuals``)
inputs next to their reconstructions for a few validation samples.

The examples come from ``facts/recon_examples.json``, which ``train.fit.fit`` writes after the
last epoch's validation from the ``examples=`` the autoencoder loop passes it.
"""

from __future__ import annotations

import logging

from thesis_ml.facts import RunFacts
from thesis_ml.plots.drawing import finish, plot_splits, yardstick_lines

log = logging.getLogger(__name__)

MAX_EXAMPLES = 4


def missing(facts: RunFacts, options) -> str | None:
    if not facts.has("recon_mse"):
        return "no recon_mse in facts/scalars.csv (not an autoencoder run)"
    return None


def panel_count(facts: RunFacts, options, full: bool) -> int:
    if full and options["mode"] == "visuals" and facts.examples:
        return 1 + min(MAX_EXAMPLES, len(facts.examples["inputs"]))
    return 1


def draw(axes: list, facts: RunFacts, options, full: bool) -> None:
    ax = axes[0]
    values = plot_splits(ax, facts, "recon_mse")
    values += yardstick_lines(ax, facts, values)
    finish(ax, "Reconstruction error per epoch", "MSE per element (data units squared)", values)
    if full and options["mode"] == "visuals":
        if facts.examples:
            _draw_examples(axes[1:], facts.examples)
        else:
            log.info("recon: no %s yet, drawing curves only", "facts/recon_examples.json")


def _draw_examples(axes: list, examples: dict) -> None:
    pairs = zip(examples["inputs"], examples["reconstructions"], strict=True)
    for index, (ax, (original, reconstruction)) in enumerate(zip(axes, pairs, strict=False)):
        title = f"Validation sample {index} (epoch {examples['epoch']})"
        if _is_image(original):
            import numpy as np

            ax.imshow(np.hstack([np.asarray(original), np.asarray(reconstruction)]), cmap="gray")
            ax.set_title(f"{title}\nleft: input, right: reconstruction")
            ax.set_axis_off()
            continue
        features = range(len(original))
        ax.plot(features, original, marker="o", color="tab:blue", label="input")
        ax.plot(features, reconstruction, marker="x", color="tab:orange", label="reconstruction")
        finish(ax, title, "value (data units)", [], xlabel="feature index")


def _is_image(sample) -> bool:
    return bool(sample) and isinstance(sample[0], list)
