"""``data=file``: the user's own .csv or .npz, the same numbers either way, every bad file one
message naming the culprit, and a pipeline that reruns exactly the runs of an edited file."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.workflow_helpers import CONFIGFILE, copy_workflow, planned_jobs, snakemake, write_sweep
from thesis_ml.config import compose
from thesis_ml.train import run_loop

COLUMNS = ("a", "b", "c", "label")


def _arrays(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)


def write_csv(path, x, y, header=COLUMNS, rows=None) -> None:
    lines = [",".join(header)]
    lines += rows or [
        ",".join(str(float(v)) for v in (*features, target))
        for features, target in zip(x, y, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _train(*overrides: str) -> dict:
    return run_loop(compose(["data=file", "trainer.epochs=3", "logging.quiet=true", *overrides]))


def test_csv_and_npz_of_the_same_arrays_give_the_same_numbers(tmp_path):
    x, y = _arrays()
    write_csv(tmp_path / "d.csv", x, y)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    task = "data.task=binary"
    from_csv = _train(task, f"data.path={tmp_path / 'd.csv'}", "data.target=label")
    from_npz = _train(task, f"data.path={tmp_path / 'd.npz'}")
    assert from_csv["best"] == from_npz["best"] and from_csv["history"] == from_npz["history"]
    assert from_csv["yardsticks"] == from_npz["yardsticks"]
    assert from_csv["yardsticks"]["linear_reference"]["kind"] == "logistic_regression"


def test_a_csv_with_a_byte_order_mark_reads_as_without(tmp_path):
    x, y = _arrays()
    write_csv(tmp_path / "plain.csv", x, y)
    text = (tmp_path / "plain.csv").read_text(encoding="utf-8")
    (tmp_path / "bom.csv").write_text("\ufeff" + text, encoding="utf-8")  # as Excel saves it
    common = ["data.task=regression", "data.target=a", "trainer.epochs=1"]
    with_bom = _train(*common, f"data.path={tmp_path / 'bom.csv'}")
    plain = _train(*common, f"data.path={tmp_path / 'plain.csv'}")
    assert with_bom["best"] == plain["best"]


def _bad_files(tmp_path) -> dict:
    """name -> (overrides, texts the one message must hold)."""
    x, y = _arrays()
    cases = {}

    def csv_case(name, rows=None, header=COLUMNS, n=240):
        path = tmp_path / f"{name}.csv"
        write_csv(path, x[:n], y[:n], header=header, rows=rows)
        return f"data.path={path}"

    good = [",".join(str(float(v)) for v in (*f, t)) for f, t in zip(x, y, strict=True)]
    cases["missing"] = ([f"data.path={tmp_path / 'nope.csv'}"], ["nope.csv", "no such file"])
    cases["not numeric"] = (
        [csv_case("text", rows=[*good[:4], "1.0,abc,2.0,1", *good[5:]])],
        ["text.csv:6", "column 'b'", "'abc' is not a number"],
    )
    cases["nan"] = (
        [csv_case("nan", rows=[*good[:2], "nan,1.0,2.0,0", *good[3:]])],
        ["nan.csv:4", "column 'a'", "not a finite number"],
    )
    cases["ragged"] = (
        [csv_case("ragged", rows=[*good[:7], "1.0,2.0", *good[8:]])],
        ["ragged.csv:9", "2 values, the header has 4"],
    )
    cases["too few"] = ([csv_case("few", n=4)], ["few.csv", "4 samples", "at least one"])
    cases["no such target"] = (
        [csv_case("target"), "data.target=y"],
        ["target.csv", "data.target='y'", "columns: a, b, c, label"],
    )
    rare = [*good[:100], ",".join(["0.1", "0.2", "0.3", "7"]), *good[100:]]
    cases["rare class"] = (
        [csv_case("rare", rows=rare), "data.task=multiclass"],
        ["rare.csv", "class 7 has 1 sample(s)", "needs at least 3"],
    )
    np.savez(tmp_path / "nox.npz", features=x)
    cases["npz without x"] = ([f"data.path={tmp_path / 'nox.npz'}"], ["nox.npz", "no array 'x'"])
    np.savez(tmp_path / "cut.npz", x=x, y=y)
    whole = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    cases["truncated npz"] = ([f"data.path={tmp_path / 'cut.npz'}"], ["cut.npz", "not a readable"])
    np.save(tmp_path / "bare.npy", x)
    (tmp_path / "bare.npy").rename(tmp_path / "bare.npz")
    cases["npy as npz"] = ([f"data.path={tmp_path / 'bare.npz'}"], ["bare.npz", "one bare array"])
    np.savez(tmp_path / "objects.npz", x=x.astype(object), y=y)
    cases["object array"] = (
        [f"data.path={tmp_path / 'objects.npz'}"],
        ["objects.npz", "Python objects, which is not read"],
    )
    np.savez(tmp_path / "norows.npz", x=x[:0], y=y[:0])
    cases["no rows"] = ([f"data.path={tmp_path / 'norows.npz'}"], ["norows.npz", "no rows"])
    np.savez(tmp_path / "oneclass.npz", x=x, y=np.zeros(len(x)))
    cases["one class"] = (
        [f"data.path={tmp_path / 'oneclass.npz'}", "data.task=multiclass"],
        ["oneclass.npz", "multiclass needs at least 2 classes"],
    )
    np.savez(tmp_path / "complex.npz", x=x + 1j, y=y)
    cases["complex x"] = ([f"data.path={tmp_path / 'complex.npz'}"], ["complex.npz", "real"])
    np.savez(tmp_path / "nofeatures.npz", x=x[:, :0], y=y)
    cases["no features"] = (
        [f"data.path={tmp_path / 'nofeatures.npz'}"],
        ["nofeatures.npz", "no feature columns"],
    )
    cases["only the target column"] = (
        [csv_case("onlytarget", rows=[str(float(t)) for t in y], header=["label"])],
        ["onlytarget.csv", "no feature columns"],
    )
    cases["a directory"] = ([f"data.path={tmp_path}"], [str(tmp_path), "a directory"])
    huge = [*good[:3], "1e200,1.0,2.0,0", "-1.5e200,1.0,2.0,1", *good[5:]]
    cases["variance past float64"] = (
        [csv_case("huge", rows=huge)],
        ["huge.csv", "a: its variance overflows float64", "rescale"],
    )
    cases["values past float32"] = (
        [csv_case("past32", rows=[*good[:3], "1.0,1.0,1e39,0", *good[4:]]), "data.scaling=none"],
        ["past32.csv", "c: values beyond float32's range", "data.scaling=standardize"],
    )
    np.savez(tmp_path / "hugey.npz", x=x, y=np.where(np.arange(len(y)) % 3 == 0, 1e300, y))
    cases["regression target past float64"] = (
        [f"data.path={tmp_path / 'hugey.npz'}", "data.task=regression"],
        ["hugey.npz", "the target: its variance overflows float64"],
    )
    return cases


BAD = [
    "missing",
    "not numeric",
    "nan",
    "ragged",
    "too few",
    "no such target",
    "rare class",
    "npz without x",
    "truncated npz",
    "npy as npz",
    "complex x",
    "object array",
    "no rows",
    "one class",
    "no features",
    "only the target column",
    "a directory",
    "variance past float64",
    "values past float32",
    "regression target past float64",
]


@pytest.mark.parametrize("case", BAD)
def test_a_bad_data_file_is_one_message_naming_it_and_nothing_is_written(run_train, tmp_path, case):
    overrides, named = _bad_files(tmp_path)[case]
    if not any(o.startswith("data.target=") for o in overrides):
        overrides = [*overrides, "data.target=label"]
    if not any(o.startswith("data.task=") for o in overrides):
        overrides = [*overrides, "data.task=binary"]
    run_dir = tmp_path / "run"
    done = run_train("data=file", *overrides, f"run_dir={run_dir}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    for text in named:
        assert text in line, (text, line)
    assert not run_dir.exists()


@pytest.mark.slow
def test_editing_a_data_file_reruns_exactly_its_runs_and_touching_it_nothing(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    x, y = _arrays()
    for name, seed in (("mine.csv", 0), ("other.csv", 1)):
        write_csv(workdir / name, *_arrays(seed=seed))
    sweep = {
        "sweep": "files",
        "overrides": [
            "data=file",
            "data.task=binary",
            "data.target=label",
            "trainer.epochs=2",
            "logging=plots_minimal",
        ],
        "grid": {"data.path": ["mine.csv", "other.csv"]},
        "seeds": [0, 1],
    }
    write_sweep(workdir, sweep)
    snakemake(workdir, "--cores", "2", *CONFIGFILE)
    assert planned_jobs(workdir, *CONFIGFILE) == {}
    mine = workdir / "mine.csv"
    os.utime(mine)  # touched, not changed
    assert planned_jobs(workdir, *CONFIGFILE) == {}
    write_csv(mine, x[:200], y[:200])
    jobs = planned_jobs(workdir, *CONFIGFILE)
    assert (jobs["generate_data"], jobs["train"], jobs["build_report"]) == (1, 2, 1), jobs


def test_a_sweep_over_a_bad_data_file_fails_before_any_job_naming_its_line(tmp_path):
    # found by its data job, the mistake would sit in a log file while other jobs ran
    workdir = copy_workflow(tmp_path / "workflow")
    x, y = _arrays()
    write_csv(workdir / "good.csv", x, y)
    rows = [",".join(str(float(v)) for v in (*f, t)) for f, t in zip(x, y, strict=True)]
    write_csv(workdir / "bad.csv", x, y, rows=[*rows[:6], "1.0,oops,2.0,1", *rows[7:]])
    sweep = {
        "sweep": "files",
        "overrides": ["data=file", "data.task=binary", "data.target=label", "trainer.epochs=1"],
        "grid": {"data.path": ["good.csv", "bad.csv"]},
    }
    write_sweep(workdir, sweep)
    result = snakemake(workdir, "--cores", "1", *CONFIGFILE, check=False)
    assert result.returncode == 2, result.stderr
    assert "bad.csv:8: column 'b': 'oops' is not a number" in result.stderr
    assert "good.csv" not in result.stderr and "Traceback" not in result.stderr
    assert not (workdir / "results").exists()
    write_csv(workdir / "bad.csv", x, y)  # fixed: the sweep plans, reading each file once more
    assert planned_jobs(workdir, *CONFIGFILE)["generate_data"] == 2
    checked = sorted((workdir / ".snakemake" / "thesis_ml" / "checked-data").iterdir())
    assert len(checked) == 2
