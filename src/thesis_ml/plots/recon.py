"""Family ``recon``: reconstruction error per epoch against the run's yardsticks (those that
apply to its code: lower bound D(R), linear and quantizer references), and (mode ``visuals``)
inputs next to their reconstructions for a few validation samples: as images where the data
has an ``image_shape`` that the samples fill, else as curves over the feature index.

The examples come from ``facts/recon_examples.json``, which ``train.fit.fit`` writes after the
last epoch's validation from the ``examples=`` the autoencoder loop passes it, as flat
(n, features) lists; ``on_train_start`` ``data.image_shape`` says whether they form images.
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
            _draw_examples(axes[1:], facts.examples, facts.start.get("data", {}))
        else:
            log.info("recon: no %s yet, drawing curves only", "facts/recon_examples.json")


def _draw_examples(axes: list, examples: dict, data: dict) -> None:
    pairs = list(zip(examples["inputs"], examples["reconstructions"], strict=True))
    shape = _image_shape(data, len(pairs[0][0]))
    for index, (ax, (original, reconstruction)) in enumerate(zip(axes, pairs, strict=False)):
        title = f"Validation sample {index} (epoch {examples['epoch']})"
        if shape:
            _draw_images(ax, title, shape, original, reconstruction)
            continue
        features = range(len(original))
        ax.plot(features, original, marker="o", color="tab:blue", label="input")
        ax.plot(features, reconstruction, marker="x", color="tab:orange", label="reconstruction")
        finish(ax, title, "value (data units)", [], xlabel="feature index")


def _image_shape(data: dict, features: int) -> tuple[int, int] | None:
    """The (height, width) that the stored flat samples form, or None (said once, in the log:
    a reader expecting images learns why there are curves)."""
    shape = data.get("image_shape")
    if not shape:
        log.info(
            "recon: data has no image_shape: drawing the %d features of each sample as curves, "
            "not as images",
            features,
        )
        return None
    height, width = shape
    if height * width != features:
        log.info(
            "recon: data.image_shape %dx%d has %d pixels, not the %d features of a sample: "
            "drawing them as curves, not as images",
            height,
            width,
            height * width,
            features,
        )
        return None
    return height, width


def _draw_images(ax, title: str, shape, original, reconstruction) -> None:
    """The panel split in two images on one colour scale, so that a reconstruction too dark or
    too bright shows as such."""
    import numpy as np

    images = [np.reshape(original, shape), np.reshape(reconstruction, shape)]
    low = min(float(image.min()) for image in images)
    high = max(float(image.max()) for image in images)
    ax.set_title(title)
    ax.set_axis_off()
    for image, name, left in zip(images, ("input", "reconstruction"), (0.0, 0.52), strict=True):
        half = ax.inset_axes((left, 0.0, 0.48, 0.88))
        half.imshow(image, cmap="gray", vmin=low, vmax=high)
        half.set_title(name, fontsize="small")
        half.set_xticks([])
        half.set_yticks([])
