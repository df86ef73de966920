"""``python -m thesis_ml.pipeline train``: train one run of a sweep (rule train) on the dataset
generate-data saved, drawing no figures (rule render_run draws them from the facts).

``python -m thesis_ml.pipeline train-pack``: train a pack's runs one after another in this one
process (rule train_pack, ``pack: N``), each into its own run directory exactly as ``train``
would, each run's output in its own log. A member whose directory holds its finished run from
the same inputs is kept: a pack that reruns because one member changed retrains that member.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from thesis_ml.config import to_struct_config, validate
from thesis_ml.data.dataset import load_dataset
from thesis_ml.pipeline.packs import read_members
from thesis_ml.pipeline.reference_step import attach
from thesis_ml.run_directory import clear_run, finished_run, inputs_digest, write_inputs_digest
from thesis_ml.train import run_loop
from thesis_ml.train.checkpoint import config_digest, seed_checkpoint
from thesis_ml.train.stacked_seeds import train_seeds
from thesis_ml.utils.io import atomic_write_text, file_digest, json_digest, open_log


def run(args: argparse.Namespace) -> None:
    if args.step == "train-pack":
        train_pack(args.members, args.sources, args.threads, args.out, args.stacked)
        return
    config = resolved_config(json.loads(args.config_json), args.run_dir, args.threads)
    inputs = (args.data, args.quantizer_references)
    digest = job_inputs(config, *inputs, args.sources, args.resume_from)
    train_run(config, *inputs, digest, args.resume_from)


def resolved_config(run_config: Mapping, run_dir: Path | str, threads: int) -> dict:
    """The run's config as it trains: validated, in ``run_dir``, on the ``threads`` of its job
    (the sweep's ``threads_per_run``; a sweep cannot set trainer.num_threads itself)."""
    config = validate(run_config)
    config["run_dir"] = str(run_dir)
    config["trainer"]["num_threads"] = threads
    return config


def train_run(
    config: dict,
    data: Path | str,
    quantizer_references: Sequence[str],
    digest: str,
    resume_from: Path | str | None = None,
) -> None:
    """Train one run (a :func:`resolved_config`), then record ``digest`` (its
    :func:`job_inputs`) in its run directory."""
    if resume_from:
        seed_checkpoint(resume_from, config["run_dir"], config_digest(config))
    dataset = dataset_with_references(data, quantizer_references)
    run_loop(to_struct_config(config), dataset=dataset, live_plots=False)
    write_inputs_digest(config["run_dir"], digest)


def dataset_with_references(data: Path | str, quantizer_references: Sequence[str]):
    """The dataset generate-data saved, with the quantizer references fitted to it attached."""
    dataset = load_dataset(data)
    attach(dataset, quantizer_references)
    return dataset


def job_inputs(
    config: Mapping,
    data: Path | str,
    quantizer_references: Sequence[str],
    sources: Path | str | None,
    resume_from: Path | str | None,
) -> str:
    """What a train job's result depends on, as Snakemake sees it: the resolved config (its
    thread count included), the dataset (its id is its path), the references' content, the
    training code (the sources checksum) and the paused run it continues."""
    return json_digest(
        {
            "config": dict(config),
            "data": str(data),
            "quantizer_references": [file_digest(path) for path in quantizer_references],
            "sources": Path(sources).read_text(encoding="utf-8") if sources else None,
            "resume_from": str(resume_from) if resume_from else None,
        }
    )


def train_pack(
    members_file: Path | str, sources: Path | str, threads: int, out: Path, stacked: bool = False
) -> None:
    """Train each member that is not already current, then write ``out`` (member -> digest of
    its inputs), which the pack's render job and the report wait on. A member that fails does
    not stop the others: the job fails at the end, and its retry trains only what is left.
    ``stacked``: the members are one configuration's seeds, and those not current train as
    one stacked model (``stack_seeds: true``), which succeeds or fails as one."""
    members = read_members(members_file)
    trained, failed, stack = {}, [], []
    for index, member in enumerate(members, start=1):
        config = resolved_config(member["config"], member["run_dir"], threads)
        inputs = (member["data"], member["quantizer_references"])
        digest = job_inputs(config, *inputs, sources, None)
        run_dir = Path(config["run_dir"])
        where = f"[{index}/{len(members)}] {member['run']}"
        trained[member["run"]] = digest
        if finished_run(run_dir) and inputs_digest(run_dir) == digest:
            print(f"{where}: current (its inputs are unchanged), kept", flush=True)
            continue
        if finished_run(run_dir):  # of other inputs: replaced, as Snakemake replaces outputs
            clear_run(run_dir, config["logging"]["figures_subdir"])
        if stacked:
            stack.append((member, config, digest))
            continue
        print(f"{where}: training (log: {member['log']})", flush=True)
        try:
            with _output_to(member["log"]):
                train_run(config, *inputs, digest)
        except Exception as error:
            print(f"{where}: failed ({type(error).__name__}; see {member['log']})", flush=True)
            failed.append(error)
    if failed:
        print(f"{len(failed)} of {len(members)} runs of the pack failed", file=sys.stderr)
        raise failed[0]
    if stack:
        train_stack(stack)
    atomic_write_text(out, json.dumps(trained, indent=1) + "\n")


def train_stack(stack: Sequence[tuple[Mapping, dict, str]]) -> None:
    """Train the seeds ``stack`` (member, resolved config, inputs digest) as one stacked model,
    its progress in this job's log (each member's log says so), then record each digest."""
    names = [member["run"] for member, _, _ in stack]
    print(f"training {len(stack)} seeds as one stack: {', '.join(names)}", flush=True)
    for member, _, _ in stack:
        with open_log(member["log"]) as log:
            print(
                f"trained as one stacked model with {', '.join(names)}: see the pack's log",
                file=log,
            )
    first = stack[0][0]  # one configuration: one dataset, one set of references
    dataset = dataset_with_references(first["data"], first["quantizer_references"])
    train_seeds([to_struct_config(config) for _, config, _ in stack], dataset, live_plots=False)
    for _, config, digest in stack:
        write_inputs_digest(config["run_dir"], digest)


@contextlib.contextmanager
def _output_to(log: Path | str):
    """This block's prints (the run's progress, warnings, an error's message) go to ``log``, as
    an unpacked train job's do; an exception still reaches the pack's own log after it."""
    with (
        open_log(log) as handle,
        contextlib.redirect_stdout(handle),
        contextlib.redirect_stderr(handle),
    ):
        try:
            yield
        except BaseException as error:
            print(f"stopped by {type(error).__name__}: {error}", file=sys.stderr)
            raise
