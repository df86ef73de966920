"""Recon visuals of image data: each validation sample's input beside its reconstruction, as
height x width images; data without an image shape keeps its curves and says why once."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.test_plots import AE_EPOCHS, write_ae_facts, write_config
from thesis_ml.facts import load_run_facts
from thesis_ml.plots.render import draw_figure, render_run

SHAPE = (8, 8)
FEATURES = SHAPE[0] * SHAPE[1]
SAMPLES = 3
RECON_LOG = "thesis_ml.plots.recon"


def digit_examples():
    """Three 8x8 "digits" in 0..16, as the loop stores them: flat (n, features) lists."""
    pixels = np.arange(FEATURES, dtype=float)
    inputs = [((pixels * (i + 1)) % 17).tolist() for i in range(SAMPLES)]
    return inputs, [[0.5 * v + 1.0 for v in row] for row in inputs]


def write_run(run_dir: Path, image_shape=SHAPE) -> dict:
    logging_cfg = write_config(run_dir, ["logging=plots_full"])
    data = {"task": "reconstruction", "input_dim": FEATURES, "output_dim": FEATURES}
    if image_shape is not None:
        data["image_shape"] = list(image_shape)
    write_ae_facts(run_dir, examples=digit_examples, data=data)
    return logging_cfg


def recon_figure(run_dir: Path, logging_cfg: dict):
    return draw_figure("recon", load_run_facts(run_dir), logging_cfg["families"]["recon"], True)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def images_of(fig) -> list:
    """Every image of the figure, in drawing order, in panels or in axes placed inside them."""
    from matplotlib.image import AxesImage

    return fig.findobj(AxesImage)


def test_image_data_is_drawn_as_images_of_its_shape(tmp_path, caplog):
    logging_cfg = write_run(tmp_path)
    with caplog.at_level(logging.INFO, logger=RECON_LOG):
        report = render_run(tmp_path, logging_cfg)
    assert [r.getMessage() for r in caplog.records if r.name == RECON_LOG] == []
    png = tmp_path / f"figures/recon-train_end-{AE_EPOCHS}.png"
    assert f"figures/{png.name}" in report.files()

    fig = recon_figure(tmp_path, logging_cfg)
    width, height = fig.get_size_inches()
    dpi = logging_cfg["dpi"]
    # Agg draws on a canvas of whole pixels, dropping the fraction (9.45 in at 150 dpi: 1417).
    assert png_size(png) == (int(width * dpi), int(height * dpi))

    images = images_of(fig)
    assert len(images) == 2 * SAMPLES  # an input and its reconstruction per sample
    assert all(image.get_array().shape == SHAPE for image in images)
    inputs, reconstructions = digit_examples()
    for index in range(SAMPLES):
        shown, rebuilt = images[2 * index : 2 * index + 2]
        for image, sample in ((shown, inputs[index]), (rebuilt, reconstructions[index])):
            assert np.asarray(image.get_array()) == pytest.approx(np.reshape(sample, SHAPE))
        both = inputs[index] + reconstructions[index]
        assert shown.get_clim() == rebuilt.get_clim() == (min(both), max(both))
        for ax in (shown.axes, rebuilt.axes):
            assert (list(ax.get_xticks()), list(ax.get_yticks())) == ([], [])
    titles = [image.axes.get_title() for image in images[:2]]
    assert titles == ["input", "reconstruction"]


@pytest.mark.parametrize(
    ("image_shape", "why"),
    [
        (
            None,
            f"recon: data has no image_shape: drawing the {FEATURES} features of each "
            "sample as curves, not as images",
        ),
        (
            (8, 9),
            f"recon: data.image_shape 8x9 has 72 pixels, not the {FEATURES} features of "
            "a sample: drawing them as curves, not as images",
        ),
    ],
)
def test_data_without_a_matching_image_shape_keeps_curves_and_says_why_once(
    tmp_path, caplog, image_shape, why
):
    logging_cfg = write_run(tmp_path, image_shape)
    with caplog.at_level(logging.INFO, logger=RECON_LOG):
        render_run(tmp_path, logging_cfg)
    assert [r.getMessage() for r in caplog.records if r.name == RECON_LOG] == [why]
    fig = recon_figure(tmp_path, logging_cfg)
    assert images_of(fig) == []
    curves = [ax for ax in fig.axes if ax.get_title().startswith("Validation sample")]
    assert len(curves) == SAMPLES
    assert all(len(ax.get_lines()[0].get_xdata()) == FEATURES for ax in curves)
