"""Figure families, rendering, presets, re-rendering from disk and the deprecated shims."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from thesis_ml.config import compose, to_plain_dict
from thesis_ml.facts import FactsWriter
from thesis_ml.plots import render
from thesis_ml.plots.__main__ import main as plots_main
from thesis_ml.plots.families import FAMILIES, PlotFamily
from thesis_ml.plots.render import render_run
from thesis_ml.train.train_test import train

K = 16  # codebook size of the synthetic autoencoder runs
AE_EPOCHS = 5

# docs/plots.md: the files each preset gives an autoencoder run with a VQ tokenizer, whose last
# finished epoch is E (the supervised MLP run gives the same without recon and codebook).
PRESET_FILES = {
    "default": [
        f"figures/{f}-{m}-E.png"
        for f in ("losses", "metrics", "codebook", "latency")
        for m in ("epoch_end", "train_end")
    ]
    + ["loss.png"],
    "plots_minimal": ["figures/losses-train_end-E.png", "loss.png"],
    "plots_standard": [
        f"figures/{f}-train_end-E.png"
        for f in ("losses", "metrics", "recon", "codebook", "latency")
    ]
    + ["loss.png"],
    "plots_full": [
        f"figures/{f}-{m}-E.png"
        for f in ("losses", "metrics", "recon", "codebook", "latency")
        for m in ("epoch_end", "train_end")
    ]
    + ["loss.png"],
}


# What the synthetic VQ runs are compared against (docs/facts.md, "yardsticks").
AE_COMPARISON = {
    "yardsticks": {
        "linear_reference": {"role": "reference", "kind": "pca", "latent_dim": 4, "val_loss": 0.2},
        "lower_bound": {
            "role": "bound",
            "kind": "gaussian_rate_distortion",
            "bits_per_sample": 4.0,
            "val_loss": 0.04,
        },
        "quantizer_reference": {
            "role": "reference",
            "kind": "kmeans",
            "levels": K,
            "val_loss": 0.1,
        },
    },
    "reference_kind": "quantizer_reference",
    "omitted_yardsticks": {},
}


def write_config(run_dir: Path, overrides=()) -> dict:
    cfg = to_plain_dict(compose([f"run_dir={run_dir}", *overrides]))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "cfg.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfg["logging"]


def write_ae_facts(
    run_dir: Path, epochs: int = AE_EPOCHS, examples=None, data: dict | None = None
) -> None:
    """Facts shaped like the autoencoder loop's: recon, codebook and timing columns, and the
    loop's recon examples after the last epoch's validation when ``examples`` is given;
    ``data``: the dataset metadata of ``on_train_start``."""
    writer = FactsWriter(run_dir)
    start = {"data": data} if data is not None else {}
    writer.emit(
        "on_train_start", epochs=epochs, n_params=1000, tokenizer="vq", **AE_COMPARISON, **start
    )
    wall = 0.0
    for epoch in range(1, epochs + 1):
        recon = 0.05 + 2.0 * math.exp(-epoch)
        used = min(K, 4 + 2 * epoch)
        counts = [100 + 10 * i if i < used else 0 for i in range(K)]
        metrics = {
            "loss": recon + 0.01,
            "val_loss": recon,
            "recon_mse": recon,
            "aux_loss": 0.01,
            "perplexity": float(used - 1),
            "code_usage": used / K,
            "dead_codes": K - used,
        }
        wall += 0.3
        timing = {"epoch_time_s": 0.3, "wall_time_s": wall, "lr": 1e-3}
        writer.scalars(
            [
                {
                    "epoch": epoch,
                    "split": "train",
                    **metrics,
                    "phase_time_s": 0.2,
                    "samples_per_s": 5e4,
                    **timing,
                },
                {"epoch": epoch, "split": "val", **metrics, "phase_time_s": 0.1, **timing},
            ]
        )
        if examples is not None and epoch == epochs:
            writer.recon_examples(epoch, *examples())
        writer.emit("on_validation_end", epoch=epoch, metrics={**metrics, "code_counts": counts})
        writer.emit("on_epoch_end", epoch=epoch, train=metrics, val=metrics, **timing)
    writer.emit("on_train_end", status="completed", epochs=epochs, **AE_COMPARISON)
    writer.close()


def ae_examples():
    inputs = [[math.sin(i + j) for j in range(8)] for i in range(3)]
    return inputs, [[0.9 * v for v in row] for row in inputs]


def files_of(run_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(run_dir).as_posix()
        for p in run_dir.rglob("*")
        if p.is_file() and p.suffix in (".png", ".pdf", ".svg")
    )


def expected(preset: str, epoch: int, fmt: str = "png", drop=()) -> list[str]:
    names = [
        n.replace("-E.", f"-{epoch}.").replace(".png", f".{fmt}") for n in PRESET_FILES[preset]
    ]
    return sorted(n for n in names if not any(f"/{family}-" in n for family in drop))


@pytest.mark.parametrize("preset", sorted(PRESET_FILES))
def test_each_preset_writes_exactly_its_table_row(tmp_path, preset):
    logging_cfg = write_config(tmp_path, [f"logging={preset}"])
    write_ae_facts(tmp_path)
    report = render_run(tmp_path, logging_cfg)
    assert files_of(tmp_path) == expected(preset, AE_EPOCHS)
    assert report.files() == files_of(tmp_path)
    assert report.skipped == {}


def test_fig_format_and_file_naming_are_followed(tmp_path):
    logging_cfg = write_config(
        tmp_path,
        [
            "logging=plots_minimal",
            "logging.fig_format=svg",
            "logging.file_naming='{moment}_{family}'",
        ],
    )
    write_ae_facts(tmp_path)
    render_run(tmp_path, logging_cfg)
    assert files_of(tmp_path) == ["figures/train_end_losses.svg", "loss.svg"]
    assert (tmp_path / "loss.svg").read_text().lstrip().startswith("<?xml")


def test_disabled_families_produce_nothing_and_rerender_removes_them(tmp_path):
    write_config(tmp_path, ["logging=plots_full"])
    write_ae_facts(tmp_path)
    assert plots_main([str(tmp_path)]) == 0
    assert files_of(tmp_path) == expected("plots_full", AE_EPOCHS)
    off = ["logging.families.codebook=false", "logging.families.latency.enabled=false"]
    assert plots_main([str(tmp_path), "logging=plots_full", *off]) == 0
    assert files_of(tmp_path) == expected("plots_full", AE_EPOCHS, drop=("codebook", "latency"))
    assert plots_main([str(tmp_path), "logging.make_plots=false"]) == 0  # touches nothing
    assert files_of(tmp_path) == expected("plots_full", AE_EPOCHS, drop=("codebook", "latency"))


def test_missing_inputs_skip_the_family_with_one_log_line(tmp_path, caplog):
    train(compose([f"run_dir={tmp_path}", "logging=plots_standard", *TINY]))
    for figure in files_of(tmp_path):
        (tmp_path / figure).unlink()
    with caplog.at_level(logging.INFO, logger="thesis_ml.plots"):
        assert plots_main([str(tmp_path)]) == 0
    lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert lines == [
        "plots: recon skipped: no recon_mse in facts/scalars.csv (not an autoencoder run)",
        "plots: codebook skipped: run has no tokenizer (no perplexity in facts/scalars.csv)",
    ]
    assert files_of(tmp_path) == expected("plots_standard", 3, drop=("recon", "codebook"))


TINY = ["data.n_samples=512", "trainer.epochs=3", "logging.quiet=true", "data.task=binary"]


@pytest.mark.parametrize("preset", ["default", "plots_full"])
def test_rerender_from_disk_gives_the_files_training_gave(tmp_path, preset):
    result = train(compose([f"run_dir={tmp_path}", f"logging={preset}", *TINY]))
    during = files_of(tmp_path)
    assert during == expected(preset, 3, drop=("recon", "codebook"))
    assert result["run_dir"] == str(tmp_path)
    for figure in during:
        (tmp_path / figure).unlink()
    (tmp_path / "model.pt").unlink()  # no model needed
    assert plots_main([str(tmp_path)]) == 0
    assert files_of(tmp_path) == during


def test_no_live_plots_draws_nothing_and_the_pipeline_render_draws_all(tmp_path):
    from thesis_ml.train.train_test import train as train_loop

    train_loop(compose([f"run_dir={tmp_path}", *TINY]), live_plots=False)
    assert files_of(tmp_path) == []
    assert plots_main([str(tmp_path)]) == 0
    assert files_of(tmp_path) == expected("default", 3, drop=("codebook",))


def test_interrupted_figure_write_never_leaves_a_truncated_file(tmp_path, monkeypatch):
    logging_cfg = write_config(tmp_path, ["logging=plots_minimal"])
    write_ae_facts(tmp_path)
    target = tmp_path / "figures" / f"losses-train_end-{AE_EPOCHS}.png"
    target.parent.mkdir()
    target.write_bytes(b"previous figure")
    real = render.atomic_write

    class Interrupted(BaseException):
        pass

    def dying_write(path, mode):
        class Handle:
            def __init__(self, handle):
                self.handle = handle

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                raise Interrupted

        context = real(path, mode)
        handle = context.__enter__()
        try:
            yield Handle(handle)
        except BaseException as error:
            context.__exit__(type(error), error, error.__traceback__)
            raise

    import contextlib

    monkeypatch.setattr(render, "atomic_write", contextlib.contextmanager(dying_write))
    with pytest.raises(Interrupted):
        render_run(tmp_path, logging_cfg)
    assert target.read_bytes() == b"previous figure"
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left over


def test_recon_visuals_use_the_loops_examples(tmp_path):
    logging_cfg = write_config(tmp_path, ["logging=plots_full"])
    write_ae_facts(tmp_path, examples=ae_examples)
    stored = json.loads((tmp_path / "facts" / "recon_examples.json").read_text())
    assert stored["epoch"] == AE_EPOCHS
    assert stored["inputs"] == ae_examples()[0]
    report = render_run(tmp_path, logging_cfg)
    recon_full = [f for f in report.figures if f.family == "recon" and f.moment == "train_end"]
    assert len(recon_full) == 1
    without = tmp_path / "without"
    write_config(without, ["logging=plots_full"])
    write_ae_facts(without)
    render_run(without, logging_cfg)
    bigger = (tmp_path / recon_full[0].files[0]).stat().st_size
    assert bigger > (without / recon_full[0].files[0]).stat().st_size  # the example panels


def test_cli_json_report_and_bad_input(tmp_path, capsys):
    write_config(tmp_path)
    write_ae_facts(tmp_path)
    report_path = tmp_path / "report.json"
    assert plots_main([str(tmp_path), "--json", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["epoch"] == AE_EPOCHS
    assert all(figure["seconds"] > 0 for figure in report["figures"])
    assert plots_main([str(tmp_path), "trainer.epochs=3"]) == 2
    assert "trainer.epochs: re-rendering may change only logging" in capsys.readouterr().err
    assert plots_main([str(tmp_path), "logging.fig_format=gif"]) == 2
    assert "logging.fig_format" in capsys.readouterr().err
    assert plots_main([str(tmp_path / "nowhere")]) == 2
    assert "cfg.yaml: missing" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--json", "{run}/../elsewhere"], "{run}/../elsewhere: a directory, where a file is"),
        (["--json", "{run}/cfg.yaml"], "--json {run}/cfg.yaml: a file of the run's record"),
        (["--json", "{run}/facts/r.json"], "--json {run}/facts/r.json: a file of the run's"),
        (["--json", "{run}/figures"], "--json {run}/figures: a file of the run's record"),
        (["logging.bogus=1"], "logging.bogus: unknown key; allowed keys of logging: "),
        (["logging.dpi.x=1"], "logging.dpi.x: logging.dpi is a value"),
        (["logging.fig_format=["], "override 'logging.fig_format=[': no viable alternative"),
    ],
)
def test_cli_bad_input_is_one_line_and_leaves_the_figures(tmp_path, capsys, argv, expected):
    run = tmp_path / "run"
    write_config(run)
    write_ae_facts(run)
    (tmp_path / "elsewhere").mkdir()
    assert plots_main([str(run)]) == 0
    figures = {p.relative_to(run): p.stat().st_mtime_ns for p in run.rglob("*")}
    capsys.readouterr()
    assert plots_main([str(run), *(a.format(run=run) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected.format(run=run)}") and err.count("\n") == 1, err
    assert "hydra.cc" not in err
    # refused before drawing: not a file of the run rewritten
    assert {p.relative_to(run): p.stat().st_mtime_ns for p in run.rglob("*")} == figures


def test_a_file_where_the_figures_directory_goes_is_named(tmp_path, capsys):
    write_config(tmp_path)
    write_ae_facts(tmp_path)
    (tmp_path / "figures").write_text("not a directory")
    assert plots_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'figures'}: a file, where the directory " + (
        f"{tmp_path / 'figures'} is to be made; move it or choose another path\n"
    )
    assert (tmp_path / "figures").read_text() == "not a directory"


def test_training_never_imports_matplotlib(tmp_path):
    code = (
        "import sys\n"
        "from thesis_ml.config import compose\n"
        "from thesis_ml.train.train_test import train\n"
        f"train(compose(['run_dir={tmp_path}', {', '.join(repr(o) for o in TINY)}]))\n"
        "assert 'matplotlib' not in sys.modules, 'training imported matplotlib'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "loss.png").is_file()  # drawn by the helper process


def test_deprecated_shim_warns_and_forwards():
    sys.modules.pop("thesis_ml.utils.plotting", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from thesis_ml.utils import plotting
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert plotting.render_run is render_run


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_each_registered_family_satisfies_the_protocol(name):
    assert isinstance(FAMILIES[name], PlotFamily)


def test_orchestrator_re_exports_the_public_names():
    from thesis_ml.plots import live, policy
    from thesis_ml.plots.orchestrator import Orchestrator, attach, enabled_families
    from thesis_ml.plots.orchestrator import render_run as re_exported

    assert re_exported is render_run
    assert (Orchestrator, attach) == (live.Orchestrator, live.attach)
    assert enabled_families is policy.enabled_families
