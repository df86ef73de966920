"""Every shell command of README.md and docs/*.md runs as written, in a copy of the repository.

The convention the documents follow (stated in the README's first command block): a fenced
block marked ``bash``, ``sh`` or ``shell`` holds commands, one a line (``#`` lines are comments,
a line ending in ``\\`` continues on the next); in a ``console`` block the commands are the
lines starting with ``$ `` and the lines under one are what it prints. Blocks with any other
info string (``text``, ``yaml``, ``python``, none) are not commands.

A command with printed lines under it is a failing example: it runs in a copy of its own and
must exit with the status docs/troubleshooting.md states (2 for this project's ``error:``
messages, 1 for Snakemake's own), print those lines (``...`` stands for any text) and write
nothing. A ``yaml`` block whose first line is ``# workflow_configs/NAME.yaml`` is that file,
written into the copy first. Every other command must exit 0; they run in document order in one
shared copy, so that the commands reading a sweep's results find the sweep the README ran
before them, and must leave the files the README names (LEAVES). A command that cannot run here
is in NOT_RUN, with the reason.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.workflow_helpers import REPO, copy_workflow, env_with_this_python

DOCUMENTS = ("README.md", *sorted(p.relative_to(REPO).as_posix() for p in REPO.glob("docs/*.md")))
COMMAND_LANGUAGES = {"bash", "sh", "shell", "console"}
SWEEP_FILE_HEADER = re.compile(r"^# (workflow_configs/[\w.-]+\.yaml)\n")

NOT_RUN = {
    "bash scripts/test.sh": "the test suite, this test included: it would run itself again",
    "snakemake --profile profiles/slurm": "submits to SLURM; tests/test_readme.py runs the "
    "README's cluster block on the local cluster of scripts/local_slurm.sh",
    "sudo bash scripts/local_slurm.sh": "installs and starts a SLURM cluster as root (the CI's "
    "first step, before the tests)",
    "sudo bash scripts/local_slurm.sh stop": "stops that cluster, which the SLURM tests use",
    "snakemake --cores 2 --configfile workflow_configs/tokenizers.yaml": "93 runs (about 15 "
    "minutes); tests/test_tokenizer_sweep.py runs every tokenizer of it at reduced size",
    "tensorboard --logdir results/default/tensorboard": "a server that runs until stopped; "
    "tests/test_export_tensorboard.py::test_tensorboard_serves_the_exported_runs starts it on a "
    "free port and checks that it lists the exported runs",
    "mlflow ui --backend-store-uri sqlite:///results/default/mlflow.db": "a server that runs "
    "until stopped; tests/test_export_mlflow.py::test_mlflow_ui_lists_the_exported_runs starts "
    "it on a free port and checks that its REST API lists the exported runs",
    "snakemake --cores 2 --configfile workflow_configs/search.yaml": "24 trials in 3 rounds; "
    "tests/test_search_pipeline.py runs searches of the same kind at reduced size, and "
    "benchmarks/bench_search.py runs it against its grid",
}

# Snakemake's --config hands seeds=[0,1,2] over as strings; the sweep takes what the schema says.
TRIAL_SWEEP = "snakemake --cores 2 --config sweep=trial seeds=[0,1,2]"
# Sweeps whose full run another test makes at reduced size: here they are planned as written
# (a dry run parses, validates and composes every run), for the 15 minutes their full runs take.
PLANNED_ONLY = {
    TRIAL_SWEEP: "the default sweep (scripts/sweep.sh, run here) three times over",
    "snakemake --cores 2 --configfile workflow_configs/digits.yaml": "tests/test_real_data.py",
    "snakemake --cores 2 --configfile workflow_configs/digits_classify.yaml": (
        "tests/test_real_data.py"
    ),
}


@dataclass(frozen=True)
class DocCommand:
    document: str
    line: int
    command: str
    output: tuple[str, ...] = ()  # what a console block shows under it

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def fenced_blocks(text: str) -> list[tuple[str, int, str]]:
    """(language, line of the block's first body line, body) of each fenced block."""
    blocks = []
    for match in re.finditer(r"^```([^\n]*)\n(.*?)^```[ \t]*$", text, re.MULTILINE | re.DOTALL):
        language = (match.group(1).split() or [""])[0]
        blocks.append((language, text.count("\n", 0, match.start()) + 2, match.group(2)))
    return blocks


def _script_commands(document: str, first_line: int, body: str) -> list[DocCommand]:
    commands, pending, start = [], "", 0
    for number, line in enumerate(body.splitlines(), first_line):
        start = start if pending else number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = _without_comment(pending + line)
        pending = ""
        if command:
            commands.append(DocCommand(document, start, command))
    return commands


def _without_comment(line: str) -> str:
    """The command of a line, without a trailing ``  # note`` or a whole-line comment."""
    command = re.sub(r"\s{2,}#.*$", "", line).strip()
    return "" if command.startswith("#") else command


def _console_commands(document: str, first_line: int, body: str) -> list[DocCommand]:
    commands: list[DocCommand] = []
    for number, line in enumerate(body.splitlines(), first_line):
        if line.startswith("$ "):
            commands.append(DocCommand(document, number, line[2:].strip()))
        elif commands:
            last = commands[-1]
            commands[-1] = DocCommand(last.document, last.line, last.command, (*last.output, line))
    return commands


def doc_commands(document: str) -> list[DocCommand]:
    commands = []
    for language, line, body in fenced_blocks((REPO / document).read_text(encoding="utf-8")):
        if language == "console":
            commands += _console_commands(document, line, body)
        elif language in COMMAND_LANGUAGES:
            commands += _script_commands(document, line, body)
    return commands


def sweep_files(document: str) -> dict[str, str]:
    """The files a document shows as ``yaml`` blocks headed ``# workflow_configs/NAME.yaml``."""
    files = {}
    for language, _, body in fenced_blocks((REPO / document).read_text(encoding="utf-8")):
        header = SWEEP_FILE_HEADER.match(body)
        if language == "yaml" and header:
            files[header.group(1)] = body
    return files


COMMANDS = [command for document in DOCUMENTS for command in doc_commands(document)]
EXAMPLES = [command for command in COMMANDS if command.output]
CHAIN = [command for command in COMMANDS if not command.output]


def repository_copy(destination: Path) -> Path:
    """The workflow, the scripts and pyproject.toml, with this environment as its .venv."""
    copy_workflow(destination)
    shutil.copytree(REPO / "scripts", destination / "scripts")
    shutil.copy2(REPO / "pyproject.toml", destination / "pyproject.toml")
    link_this_environment(destination)
    return destination


def link_this_environment(destination: Path) -> None:
    """``destination/.venv`` is this environment, which scripts/bootstrap.sh must find current:
    else the copy's bootstrap reinstalls the project into it, pointing it at the copy."""
    venv = Path(sys.prefix)
    stamp = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]
    if not (venv / f".installed-{stamp}").is_file():
        pytest.fail(f"{venv} is not installed for this pyproject.toml: run scripts/bootstrap.sh")
    (destination / ".venv").symlink_to(venv)


def run(workdir: Path, command: str) -> subprocess.CompletedProcess:
    """``command`` as a user with the venv active types it, importing the copy's sources."""
    env = env_with_this_python()
    env["PYTHONPATH"] = str(workdir / "src")
    return subprocess.run(
        ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=900
    )


def shows(expected: tuple[str, ...], printed: str) -> bool:
    """Whether ``printed`` holds the ``expected`` lines one after another; ``...`` in a line is
    any text, and a line of only ``...`` any number of lines."""
    parts = [
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line).replace(r"\.\.\.", "[^\n]*") + "\n"
        for line in expected
    ]
    return re.search("(?m)^" + "".join(parts), printed + "\n") is not None


def expected_status(output: tuple[str, ...]) -> int:
    """This project's messages start with ``error:`` and exit 2, Snakemake's own errors exit 1
    (docs/troubleshooting.md, at the top)."""
    return 2 if output[0].startswith("error:") else 1


def _break_trainer_config(workdir: Path) -> None:
    config = workdir / "src/thesis_ml/configs/trainer/default.yaml"
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[6].startswith("lr_schedule: cosine"), "docs/troubleshooting.md names line 7"
    lines[6] = lines[6].replace("lr_schedule: cosine", "lr_schedule: cosine: warm", 1)
    config.write_text("".join(lines), encoding="utf-8")


# What a failing example needs besides its sweep files: the edit the document describes.
SETUP = {"python -m thesis_ml.train": _break_trainer_config}


def _files(workdir: Path) -> set[Path]:
    return {
        p
        for p in workdir.rglob("*")
        if ".snakemake" not in p.parts and "__pycache__" not in p.parts
    }


def test_the_documents_have_commands_and_every_exclusion_is_one_of_them():
    assert len(CHAIN) >= 10 and len(EXAMPLES) >= 10
    assert CHAIN[0].command == "bash scripts/sweep.sh", "the README's main command comes first"
    assert sorted(set(NOT_RUN) - {c.command for c in COMMANDS}) == []
    assert sorted(set(PLANNED_ONLY) - {c.command for c in COMMANDS}) == []
    assert [c for c in CHAIN if c.command == TRIAL_SWEEP], "the README's --config example"


@pytest.mark.parametrize("doc", EXAMPLES, ids=str)
def test_failing_example_prints_what_the_docs_show(doc, tmp_path):
    if "trainer.device=cuda" in doc.command and _has_cuda():
        pytest.skip("this machine has a CUDA device: the command trains instead of failing")
    workdir = copy_workflow(tmp_path / "copy")  # no scripts/bootstrap.sh: no .venv needed
    for name, text in sweep_files(doc.document).items():
        (workdir / name).write_text(text, encoding="utf-8")
    if doc.command in SETUP:
        SETUP[doc.command](workdir)
    before = _files(workdir)
    done = run(workdir, doc.command)
    printed = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert done.returncode == expected_status(doc.output), printed
    assert shows(doc.output, done.stderr) or shows(doc.output, done.stdout), printed
    assert _files(workdir) == before, "nothing half-written"


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


# What a command leaves behind, as the README says: (a piece of the command, the directory,
# the files there). A directory "{run_dir}" is the one the run prints.
LEAVES = [
    (
        "logging=plots_minimal ",
        "{run_dir}",
        ["loss.png", "figures/losses-train_end-20.png"],
    ),
    (
        "logging=plots_standard ",
        "{run_dir}",
        [
            "loss.png",
            *(
                f"figures/{f}-train_end-20.png"
                for f in ("losses", "metrics", "recon", "codebook", "latency")
            ),
        ],
    ),
    (
        "data.path=diabetes.csv",
        "results/own_data/diabetes",
        ["model.pt", "model_selected.pt", "facts/events.jsonl"],
    ),
    (
        "export --to tensorboard results/default",
        "results/default/tensorboard",
        [
            "events.out.tfevents.thesis_ml-hparams",
            "tokenizer-vq__latent_dim-4__codebook_size-256__seed-1/events.out.tfevents.thesis_ml",
        ],
    ),
    ("export --to mlflow results/default", "results/default", ["mlflow.db"]),
    (
        "inputs.run_dirs=",
        "results/compare_runs",
        ["summary.csv", "figures/val_mse_vs_time.png", "figures/throughput_vs_best_val.png"],
    ),
    (
        "inputs.sweep_dir=results/default",
        "results/default/compare",
        [
            "summary.csv",
            "figures/val_mse_vs_time.png",
            "figures/pareto_error_vs_compression.png",
            "figures/vq_perplexity_boxplot.png",
        ],
    ),
]


def missing_files(command: str, stdout: str, workdir: Path) -> list[str]:
    missing = []
    for piece, directory, names in LEAVES:
        if piece in command:
            run_dir = re.search(r"^run_dir: (.+)$", stdout, re.MULTILINE)
            base = workdir / directory.format(run_dir=run_dir.group(1) if run_dir else "?")
            missing += [str(base / name) for name in names if not (base / name).is_file()]
    return missing


@pytest.mark.slow
@pytest.mark.parametrize(
    "doc", [c for c in CHAIN if c.command not in {**NOT_RUN, **PLANNED_ONLY}], ids=str
)
def test_command_runs_as_written(doc, docs_copy):
    done = run(docs_copy, doc.command)
    assert done.returncode == 0, (
        f"{doc.command}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )
    assert missing_files(doc.command, done.stdout, docs_copy) == []


@pytest.mark.slow
@pytest.mark.parametrize("doc", [c for c in CHAIN if c.command in PLANNED_ONLY], ids=str)
def test_sweep_command_plans_as_written(doc, docs_copy):
    done = run(docs_copy, f"{doc.command} --dry-run")
    printed = f"{doc.command}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, printed
    assert re.search(r"^train\s+\d+$", done.stdout + done.stderr, re.MULTILINE), printed
