"""The GPU path: cuda runs, bf16 autocast, and the pipeline's cap on concurrent GPU jobs.

Tests marked ``gpu`` skip without CUDA; scripts/gpu_check.sh runs them on a GPU machine.
The others check on any machine what a GPU run relies on.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re

import pytest
import torch

from tests.workflow_helpers import TINY_SWEEP, copy_workflow, snakemake, write_sweep
from thesis_ml.config import ConfigError, compose
from thesis_ml.facts import read_events
from thesis_ml.train import run_loop
from thesis_ml.train.runtime import forward_precision

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
TINY = ["data.n_samples=1024", "trainer.epochs=3", "logging.quiet=true", "logging.make_plots=false"]
AE = ["phase1/trainer=ae", "trainer.epochs=3"]


def train(*overrides: str, run_dir=None) -> dict:
    extra = [f"run_dir={run_dir}"] if run_dir else []
    return run_loop(compose([*TINY, *overrides, *extra]))


def test_fp32_runs_without_autocast_and_bf16_autocasts():
    assert forward_precision(torch.device("cpu"), "fp32") is contextlib.nullcontext
    with forward_precision(torch.device("cpu"), "bf16")() as context:
        assert isinstance(context, torch.autocast) and context.fast_dtype == torch.bfloat16


def test_bf16_is_refused_on_mps_with_the_key_named():
    with pytest.raises(ConfigError, match=r"trainer\.precision: bf16 needs trainer\.device"):
        forward_precision(torch.device("mps"), "bf16")


def test_cuda_without_a_gpu_is_a_config_error_naming_the_key(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"trainer\.device: cuda, but torch .* sees no CUDA"):
        train("trainer.device=cuda")


def test_precision_must_be_fp32_or_bf16():
    with pytest.raises(ConfigError, match=r"trainer\.precision: got \"fp16\"; allowed: one of"):
        compose(["trainer.precision=fp16"])


@pytest.mark.parametrize("loop", [[], ["data.task=binary"], AE, [*AE, "phase1/tokenizer=vq"]])
def test_bf16_training_on_cpu_learns_like_fp32(loop):
    fp32, bf16 = (
        train(*loop, "trainer.device=cpu", f"trainer.precision={p}") for p in ("fp32", "bf16")
    )
    first_loss = fp32["history"]["train_loss"][0]
    assert math.isfinite(bf16["final"]["val_loss"])
    assert bf16["final"]["val_loss"] < first_loss  # it trained
    assert bf16["final"]["val_loss"] == pytest.approx(fp32["final"]["val_loss"], rel=0.1)


def gpu_of_train_jobs(workdir, device: str) -> set[str]:
    sweep = {**TINY_SWEEP, "overrides": [*TINY_SWEEP["overrides"], f"trainer.device={device}"]}
    write_sweep(workdir, sweep, "gpu.yaml")
    result = snakemake(workdir, "-n", "--configfile", "workflow_configs/gpu.yaml", "--cores", "4")
    jobs = result.stdout.split("rule ")[1:]
    return {re.search(r"gpu=(\d+)", job).group(1) for job in jobs if job.startswith("train:")}


def test_train_jobs_ask_for_one_gpu_exactly_when_the_run_uses_cuda(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    assert gpu_of_train_jobs(workdir, "cuda") == {"1"}
    assert gpu_of_train_jobs(workdir, "cuda:1") == {"1"}
    assert gpu_of_train_jobs(workdir, "cpu") == {"0"}


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("loop", [[], AE, [*AE, "phase1/tokenizer=vq"]])
def test_cuda_run_keeps_model_and_data_on_the_gpu_and_matches_cpu(loop, tmp_path):
    result = train(*loop, "trainer.device=cuda", run_dir=tmp_path / "cuda")
    start = read_events(tmp_path / "cuda")[0]
    assert start["event"] == "on_train_start" and start["device"].startswith("cuda")
    reference = train(*loop, "trainer.device=cpu")
    assert result["final"]["val_loss"] == pytest.approx(reference["final"]["val_loss"], rel=0.05)


@pytest.mark.gpu
@needs_cuda
def test_auto_device_picks_the_gpu(tmp_path):
    train("trainer.device=auto", run_dir=tmp_path)
    assert read_events(tmp_path)[0]["device"].startswith("cuda")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("loop", [[], ["data.task=binary"], AE, [*AE, "phase1/tokenizer=vq"]])
def test_bf16_on_cuda_learns_like_fp32(loop):
    fp32, bf16 = (
        train(*loop, "trainer.device=cuda", f"trainer.precision={p}") for p in ("fp32", "bf16")
    )
    assert bf16["final"]["val_loss"] == pytest.approx(fp32["final"]["val_loss"], rel=0.1)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.slow
def test_pipeline_runs_one_gpu_job_at_a_time_with_resources_gpu_1(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    sweep = {**TINY_SWEEP, "overrides": [*TINY_SWEEP["overrides"], "trainer.device=cuda"]}
    write_sweep(workdir, sweep, "gpu.yaml")
    snakemake(
        workdir, "--configfile", "workflow_configs/gpu.yaml", "--cores", "4", "--resources", "gpu=1"
    )
    spans = []
    for run_dir in sorted((workdir / "results/tiny/runs").iterdir()):
        events = read_events(run_dir)
        spans.append((events[0]["time"], events[-1]["time"]))
    assert len(spans) == 4
    spans.sort()
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
