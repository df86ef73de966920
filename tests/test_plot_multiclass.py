"""The metrics family of a multi-class run: the accuracy curve and, beside it, the confusion
matrix of the last finished epoch's validation split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.test_plots import write_config
from thesis_ml.facts import FactsWriter, load_run_facts
from thesis_ml.plots.render import draw_figure, render_run

EPOCHS = 3
# Confusion matrix per epoch (row = true class, column = predicted), on a 30-sample split.
MATRICES = {
    1: [[6, 3, 1], [2, 5, 3], [4, 4, 2]],
    2: [[8, 1, 1], [1, 8, 1], [2, 2, 6]],
    3: [[9, 1, 0], [0, 10, 0], [1, 2, 4]],  # class 2 has 7 samples: rows are normalised
    4: [[10, 0, 0], [0, 10, 0], [0, 0, 10]],  # validated, but the epoch never finished
}


def write_multiclass_facts(run_dir: Path, class_names=None) -> None:
    writer = FactsWriter(run_dir)
    data = {"task": "multiclass", "n_classes": 3, "input_dim": 4, "output_dim": 3}
    if class_names is not None:
        data["class_names"] = class_names
    writer.emit("on_train_start", epochs=EPOCHS + 1, task="multiclass", data=data)
    for epoch, matrix in MATRICES.items():
        accuracy = float(np.trace(matrix) / np.sum(matrix))
        metrics = {"loss": 1.0 / epoch, "val_loss": 1.0 / epoch, "accuracy": accuracy}
        common = {"epoch": epoch, "loss": 1.0 / epoch, "accuracy": accuracy}
        writer.scalars(
            [
                {**common, "split": "train", "lr": 1e-3},
                {**common, "split": "val", "val_loss": 1.0 / epoch},
            ]
        )
        val = {**metrics, "confusion_matrix": matrix}
        writer.emit("on_validation_end", epoch=epoch, metrics=val)
        if epoch <= EPOCHS:
            writer.emit("on_epoch_end", epoch=epoch, train={"loss": 1.0, "lr": 1e-3}, val=val)
    writer.close()


def metrics_figure(run_dir: Path, full: bool = True):
    return draw_figure("metrics", load_run_facts(run_dir), True, full)


def tick_texts(labels) -> list[str]:
    return [label.get_text() for label in labels]


def test_multiclass_metrics_draw_the_last_finished_epochs_confusion_matrix(tmp_path):
    write_multiclass_facts(tmp_path, class_names=["zero", "one", "two"])
    fig = metrics_figure(tmp_path)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == [
        "Accuracy per epoch",
        f"Confusion matrix, validation, epoch {EPOCHS}",
        "Learning rate per epoch",
    ]
    matrix_ax = fig.axes[1]
    (image,) = matrix_ax.get_images()
    counts = np.array(MATRICES[EPOCHS], dtype=float)
    per_true_class = counts / counts.sum(axis=1, keepdims=True)
    assert np.asarray(image.get_array()) == pytest.approx(per_true_class)
    assert image.get_clim() == (0.0, 1.0)
    assert tick_texts(matrix_ax.get_xticklabels()) == ["zero", "one", "two"]
    assert tick_texts(matrix_ax.get_yticklabels()) == ["zero", "one", "two"]
    assert list(matrix_ax.get_xticks()) == [0, 1, 2]
    assert (matrix_ax.get_xlabel(), matrix_ax.get_ylabel()) == ("predicted class", "true class")
    cells = [text.get_text() for text in matrix_ax.texts]
    assert cells == [str(count) for row in MATRICES[EPOCHS] for count in row]
    assert not any(ax.get_images() for ax in fig.axes if ax is not matrix_ax)


def test_class_indices_label_the_matrix_without_class_names(tmp_path):
    write_multiclass_facts(tmp_path)
    matrix_ax = metrics_figure(tmp_path).axes[1]
    assert tick_texts(matrix_ax.get_xticklabels()) == ["0", "1", "2"]
    assert tick_texts(matrix_ax.get_yticklabels()) == ["0", "1", "2"]


def test_names_too_wide_for_a_column_label_rows_and_columns_show_indices(tmp_path):
    write_multiclass_facts(tmp_path, class_names=["passenger airplane", "automobile", "bird"])
    matrix_ax = metrics_figure(tmp_path).axes[1]
    assert tick_texts(matrix_ax.get_xticklabels()) == ["0", "1", "2"]
    assert tick_texts(matrix_ax.get_yticklabels()) == [
        "0: passenger airplane",
        "1: automobile",
        "2: bird",
    ]
    assert matrix_ax.get_xlabel() == "predicted class (index)"


def test_the_epoch_end_figure_keeps_the_accuracy_panel_only(tmp_path):
    write_multiclass_facts(tmp_path)
    fig = metrics_figure(tmp_path, full=False)
    assert [ax.get_title() for ax in fig.axes] == ["Accuracy per epoch"]


def test_rendering_a_multiclass_run_writes_the_metrics_figure(tmp_path):
    logging_cfg = write_config(tmp_path, ["logging=plots_standard"])
    write_multiclass_facts(tmp_path)
    report = render_run(tmp_path, logging_cfg)
    assert f"figures/metrics-train_end-{EPOCHS}.png" in report.files()
    assert "metrics" not in report.skipped


def test_binary_metrics_have_no_confusion_matrix(tmp_path):
    writer = FactsWriter(tmp_path)
    writer.emit("on_train_start", epochs=1, task="binary")
    common = {"epoch": 1, "loss": 0.5, "accuracy": 0.8}
    writer.scalars(
        [{**common, "split": "train", "lr": 1e-3}, {**common, "split": "val", "val_loss": 0.5}]
    )
    writer.emit("on_validation_end", epoch=1, metrics={"loss": 0.5, "accuracy": 0.8})
    writer.emit("on_epoch_end", epoch=1)
    writer.close()
    fig = metrics_figure(tmp_path)
    assert [ax.get_title() for ax in fig.axes] == ["Accuracy per epoch", "Learning rate per epoch"]
    assert not any(ax.get_images() for ax in fig.axes)
