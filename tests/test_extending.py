"""README "Extending", followed for real: one test per recipe.

Each test copies the package to a temporary ``src/thesis_ml``, makes there exactly the edits the
README lists (a toy module, its registry line, its config file, its schema branch), and runs the
copy in a subprocess (``PYTHONPATH`` first; the subprocess checks that it imported the copy):
it selects the toy from a config, trains it briefly and checks what the run wrote. Before the
schema branch (or the registration) is added, the same selection must be rejected, so that a
recipe missing that step would fail its test.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.workflow_helpers import copy_workflow, snakemake, write_sweep
from thesis_ml.facts import RunFacts, load_run_facts

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "thesis_ml"
# A run of a couple of seconds: the toys are tiny, and figures are drawn only where tested.
QUICK = ("data.n_samples=256", "trainer.epochs=2", "logging.quiet=true", "logging.make_plots=false")

# Every subprocess starts here: it must have imported the copy, not the repository's package.
PRELUDE = """\
import sys
from pathlib import Path

import thesis_ml

imported = Path(thesis_ml.__file__).resolve().parent
assert imported == Path(sys.argv[1]).resolve(), f"imported {imported}, not the copy"
args = sys.argv[2:]
"""
COMPOSE_ERROR = """\
from thesis_ml.config import ConfigError, compose

try:
    compose(args)
except ConfigError as error:
    print(error)
else:
    sys.exit(f"composed {args} without an error")
"""
# Train with `python -m thesis_ml.train`'s own entry point; `then` checks the run in-process.
TRAIN = """\
from thesis_ml.train.__main__ import main

run_dir = Path(args[0])
assert main(args[1:]) == 0, "training failed"
"""


@dataclass
class PackageCopy:
    """A copy of ``src/thesis_ml`` to extend as a user would: text and YAML edits of its files."""

    root: Path  # <tmp>/src/thesis_ml

    def add_file(self, path: str, text: str) -> Path:
        """A new module or config file (``path`` relative to the package)."""
        target = self.root / path
        assert not target.exists(), f"{path} exists already"
        target.write_text(textwrap.dedent(text), encoding="utf-8")
        return target

    def insert(self, path: str, after: str, text: str) -> None:
        """Insert ``text`` right after the one match of the regex ``after`` in ``path``."""
        file = self.root / path
        source = file.read_text(encoding="utf-8")
        matches = list(re.finditer(after, source, flags=re.MULTILINE))
        assert len(matches) == 1, f"{path}: {len(matches)} matches of {after!r}, expected one"
        end = matches[0].end()
        file.write_text(source[:end] + text + source[end:], encoding="utf-8")

    def register(self, path: str, registry: str, entry: str, import_line: str = "") -> None:
        """Add ``entry`` (``"toy": thing,``) first in the dict ``registry`` of ``path``, and
        ``import_line`` among the module's imports."""
        if import_line:
            self.insert(path, r"^from __future__ import annotations\n", f"\n{import_line}\n")
        self.insert(path, rf"^{registry}\b[^=\n]*=\s*\{{", f"\n    {entry}\n")

    def edit_yaml(self, path: str, edit: Callable[[dict], object]) -> None:
        """Load a YAML file of the copy, ``edit`` it in place and write it back."""
        file = self.root / path
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        edit(document)
        file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    def add_schema_branch(self, path: str, at: tuple[str, ...], kind: str, then: dict) -> None:
        """Append the ``allOf`` branch of ``kind`` to the object at ``at`` in a schema file."""
        branch = {"if": {"properties": {"kind": {"const": kind}}}, "then": then}
        self.edit_yaml(path, lambda schema: _at(schema, at)["allOf"].append(branch))

    def python(self, script: str, *args: str) -> subprocess.CompletedProcess:
        """``python -c PRELUDE+script ARGS`` importing the copy; fails the test if it fails."""
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(self.root.parent), os.environ.get("PYTHONPATH")])
            ),
            "TMPDIR": str(self.root.parents[1]),
        }
        result = subprocess.run(
            [sys.executable, "-c", PRELUDE + textwrap.dedent(script), str(self.root), *args],
            cwd=self.root.parents[1],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        return result

    def compose_error(self, *overrides: str) -> str:
        """The ConfigError that composing ``overrides`` gives (the test fails if none)."""
        return self.python(COMPOSE_ERROR, *overrides).stdout

    def train(self, run_dir: Path, *overrides: str, then: str = "") -> RunFacts:
        """Train the config of ``overrides`` into ``run_dir``, run ``then`` after it (with
        ``run_dir`` bound), and return the run's facts once checked that it completed."""
        self.python(
            TRAIN + textwrap.dedent(then), str(run_dir), *QUICK, f"run_dir={run_dir}", *overrides
        )
        return completed_run(run_dir)


def _at(document: dict, keys: tuple[str, ...]) -> dict:
    for key in keys:
        document = document[key]
    return document


@pytest.fixture
def package(tmp_path: Path) -> PackageCopy:
    root = tmp_path / "src" / "thesis_ml"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return PackageCopy(root)


def completed_run(run_dir: Path, epochs: int = 2) -> RunFacts:
    """The facts of a run that completed ``epochs`` epochs and saved its weights."""
    facts = load_run_facts(run_dir)
    assert facts.end is not None and facts.end["status"] == "completed", facts.end
    assert facts.epoch == epochs and len(facts.val_rows) == epochs
    assert (run_dir / "model.pt").is_file() and (run_dir / "cfg.yaml").is_file()
    assert (run_dir / "model_selected.pt").is_file()
    return facts


def run_config(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "cfg.yaml").read_text(encoding="utf-8"))


# -- model: model.kind -> models/registry.py MODELS ---------------------------------------------

TOY_MODEL = '''\
    """A toy supervised model: one linear layer."""

    from torch import nn


    class ToyModel(nn.Module):
        def __init__(self, input_dim: int, output_dim: int, bias: bool) -> None:
            super().__init__()
            self.linear = nn.Linear(input_dim, output_dim, bias=bias)

        def forward(self, x):
            return self.linear(x)


    def build_toy(model_cfg, input_dim: int, output_dim: int) -> nn.Module:
        return ToyModel(input_dim, output_dim, bool(model_cfg["bias"]))
    '''


def test_a_new_model(package, tmp_path):
    package.add_file("models/toy.py", TOY_MODEL)
    package.register(
        "models/registry.py",
        "MODELS",
        '"toy": build_toy,',
        "from thesis_ml.models.toy import build_toy",
    )
    package.add_file("configs/model/toy.yaml", "kind: toy\nbias: false\n")
    error = package.compose_error("model=toy")
    assert "model.kind" in error and '"toy"' in error  # the schema knows no toy yet

    package.add_schema_branch(
        "schemas/model.yaml",
        (),
        "toy",
        {
            "additionalProperties": False,
            "required": ["kind", "bias"],
            "properties": {"kind": {"const": "toy"}, "bias": {"type": "boolean"}},
        },
    )
    run_dir = tmp_path / "run"
    package.train(
        run_dir,
        "model=toy",
        then="""
        from thesis_ml.models.toy import ToyModel
        from thesis_ml.run_directory import load_model

        model = load_model(run_dir)
        assert type(model) is ToyModel and model.linear.bias is None, model
        """,
    )
    assert run_config(run_dir)["model"] == {"kind": "toy", "bias": False}


# -- encoder and decoder: phase1.{encoder,decoder}.kind -> models/autoencoder.py ----------------

TOY_PARTS = '''\
    """A toy encoder and decoder: one linear layer each."""

    from torch import nn


    def toy_encoder(cfg, n_features: int) -> nn.Module:
        return nn.Linear(n_features, int(cfg["latent_dim"]))


    def toy_decoder(cfg, latent_dim: int, n_features: int) -> nn.Module:
        return nn.Linear(latent_dim, n_features)
    '''
AE = ("phase1/trainer=ae", "phase1/encoder=toy", "phase1/decoder=toy")


def test_a_new_encoder_and_decoder(package, tmp_path):
    package.add_file("models/toy_parts.py", TOY_PARTS)
    imports = "from thesis_ml.models.toy_parts import toy_decoder, toy_encoder"
    package.register("models/autoencoder.py", "ENCODERS", '"toy": toy_encoder,', imports)
    package.register("models/autoencoder.py", "DECODERS", '"toy": toy_decoder,')
    package.add_file("configs/phase1/encoder/toy.yaml", "kind: toy\nlatent_dim: 3\n")
    package.add_file("configs/phase1/decoder/toy.yaml", "kind: toy\n")
    error = package.compose_error(*AE)
    assert "phase1.encoder.kind" in error and "phase1.decoder.kind" in error

    latent_dim = {"type": "integer", "minimum": 1}
    package.add_schema_branch(
        "schemas/phase1.yaml",
        ("properties", "encoder"),
        "toy",
        {
            "additionalProperties": False,
            "properties": {"kind": {"const": "toy"}, "latent_dim": latent_dim},
        },
    )
    package.add_schema_branch(
        "schemas/phase1.yaml",
        ("properties", "decoder"),
        "toy",
        {"additionalProperties": False, "properties": {"kind": {"const": "toy"}}},
    )
    package.train(
        tmp_path / "run",
        *AE,
        then="""
        from torch import nn

        from thesis_ml.run_directory import load_model

        model = load_model(run_dir)
        assert type(model.encoder) is nn.Linear and model.encoder.out_features == 3, model
        assert type(model.decoder) is nn.Linear and model.decoder.in_features == 3, model
        """,
    )


# -- tokenizer: phase1.tokenizer.kind -> tokenizers/__init__.py TOKENIZERS ----------------------

TOY_TOKENIZER = '''\
    """A toy tokenizer: rounds every latent number to an integer in [-levels, levels]."""

    import math

    import torch

    from thesis_ml.tokenizers.base import Quantized, Tokenizer


    class RoundingTokenizer(Tokenizer):
        def __init__(self, latent_dim: int, levels: int) -> None:
            super().__init__()
            self.latent_dim, self.levels = latent_dim, levels
            self.codebook_size = 2 * levels + 1
            self.register_buffer("zero", torch.zeros(()), persistent=False)

        @classmethod
        def from_config(cls, cfg, latent_dim: int) -> "RoundingTokenizer":
            return cls(latent_dim, int(cfg["levels"]))

        @property
        def bits_per_sample(self) -> float:
            return self.latent_dim * math.log2(self.codebook_size)

        def forward(self, latent: torch.Tensor) -> Quantized:
            rounded = latent.round().clamp(-self.levels, self.levels)
            straight_through = latent + (rounded - latent).detach()
            return Quantized(straight_through, self.zero, (rounded + self.levels).long())
    '''


def test_a_new_tokenizer(package, tmp_path):
    package.add_file("tokenizers/toy.py", TOY_TOKENIZER)
    package.register(
        "tokenizers/registry.py",
        "TOKENIZERS",
        '"toy": RoundingTokenizer,',
        "from thesis_ml.tokenizers.toy import RoundingTokenizer",
    )
    package.register(
        "tokenizers/codes.py",
        "CODE_LEVELS",
        '"toy": lambda cfg, latent_dim: (2 * int(cfg["levels"]) + 1) ** latent_dim,',
    )
    package.add_file("configs/phase1/tokenizer/toy.yaml", "kind: toy\nlevels: 2\n")
    selection = ("phase1/trainer=ae", "phase1/tokenizer=toy")
    assert "phase1.tokenizer.kind" in package.compose_error(*selection)

    package.add_schema_branch(
        "schemas/phase1.yaml",
        ("properties", "tokenizer"),
        "toy",
        {
            "additionalProperties": False,
            "required": ["levels"],
            "properties": {"kind": {"const": "toy"}, "levels": {"type": "integer", "minimum": 1}},
        },
    )
    facts = package.train(
        tmp_path / "run",
        *selection,
        then="""
        from thesis_ml.run_directory import load_model
        from thesis_ml.tokenizers.toy import RoundingTokenizer

        tokenizer = load_model(run_dir).tokenizer
        assert type(tokenizer) is RoundingTokenizer and tokenizer.codebook_size == 5, tokenizer
        """,
    )
    assert facts.start["tokenizer"] == "toy"
    assert facts.start["compression"]["bits_per_sample"] == pytest.approx(4 * 2.321928, rel=1e-5)
    assert all(0 < row["perplexity"] <= 5 for row in facts.val_rows)  # its codes were counted


# -- dataset: data.kind -> data/registry.py DATASETS --------------------------------------------

TOY_DATASET = '''\
    """A toy dataset: uniform noise in [low, high], to be reconstructed."""

    import torch

    from thesis_ml.data.dataset import Dataset, split_dataset


    def generate(data_cfg) -> Dataset:
        generator = torch.Generator().manual_seed(int(data_cfg["seed"]))
        n, d = int(data_cfg["n_samples"]), int(data_cfg["n_features"])
        low, high = float(data_cfg["low"]), float(data_cfg["high"])
        x = low + (high - low) * torch.rand(n, d, generator=generator)
        meta = {"task": "reconstruction", "input_dim": d, "output_dim": d}
        return split_dataset(data_cfg, x, x, meta)
    '''
TOY_DATA_CONFIG = """\
    kind: toy
    task: reconstruction
    n_samples: 1024
    n_features: 6
    train_frac: 0.75
    val_frac: 0.125
    seed: 0
    low: -1.0
    high: 1.0
    """


def test_a_new_dataset(package, tmp_path):
    package.add_file("data/toy.py", TOY_DATASET)
    package.register(
        "data/registry.py", "DATASETS", '"toy": toy.generate,', "from thesis_ml.data import toy"
    )
    package.add_file("configs/data/toy.yaml", TOY_DATA_CONFIG)
    selection = ("phase1/trainer=ae", "data=toy")
    assert "data.kind" in package.compose_error(*selection)

    same = dict.fromkeys(["n_samples", "n_features", "train_frac", "val_frac", "seed"], True)
    package.add_schema_branch(
        "schemas/data.yaml",
        (),
        "toy",
        {
            "additionalProperties": False,
            "required": ["low", "high"],
            "properties": {
                "kind": {"const": "toy"},
                "task": {"enum": ["reconstruction"]},
                **same,
                "low": {"type": "number"},
                "high": {"type": "number"},
            },
        },
    )
    run_dir = tmp_path / "run"
    facts = package.train(run_dir, *selection)
    assert run_config(run_dir)["data"]["kind"] == "toy"
    data = facts.start["data"]
    assert data["input_dim"] == 6 and (data["n_train"], data["n_val"], data["n_test"]) == (
        192,
        32,
        32,
    )
    # uniform data: compared with PCA, and no Gaussian D(R) is claimed as its bound
    assert facts.start["yardsticks"]["linear_reference"]["kind"] == "pca"
    assert "eigenvalues" not in data and "lower_bound" not in facts.start["yardsticks"]
    # the copy of the package is no git checkout: its runs say so instead of failing
    provenance = facts.start["provenance"]
    assert provenance["git_commit"] is None and "not a git checkout" in provenance["git"]


# -- training loop: trainer.loop -> train/__init__.py DISPATCH ----------------------------------

TOY_LOOP = '''\
    """A toy loop: the supervised loop's pieces, with plain SGD at a constant rate."""

    import torch
    import torch.nn.functional as F

    from thesis_ml.data.references import supervised_yardsticks
    from thesis_ml.models.registry import build_model
    from thesis_ml.train.fit import fit
    from thesis_ml.train.runtime import training_session
    from thesis_ml.train.train_test import evaluate, train_one_epoch


    def main(cfg, dataset=None, live_plots=True) -> dict:
        with training_session(cfg, dataset, live_plots) as session:
            meta, task = session.meta, session.meta["task"]
            model = build_model(cfg.model, meta["input_dim"], meta["output_dim"])
            model = model.to(session.device)
            optimizer = torch.optim.SGD(model.parameters(), lr=float(cfg.trainer.lr))
            loss_fn = F.binary_cross_entropy_with_logits if task == "binary" else F.mse_loss
            loaders = session.loaders
            return fit(
                session.run,
                model,
                train_epoch=lambda: train_one_epoch(model, loaders["train"], optimizer, loss_fn),
                evaluate=lambda split: evaluate(model, loaders[split], task),
                n_train=meta["n_train"],
                comparison=supervised_yardsticks(meta),
                lr=float(cfg.trainer.lr),
                start_payload={"task": task, "loop": "toy"},
                resumables={"optimizer": optimizer, "shuffle": session.generator},
            )
    '''


def test_a_new_training_loop(package, tmp_path):
    package.add_file("train/toy_loop.py", TOY_LOOP)
    package.register(
        "train/__init__.py",
        "DISPATCH",
        '"toy": toy_loop.main,',
        "from thesis_ml.train import toy_loop",
    )
    assert "trainer.loop" in package.compose_error("trainer.loop=toy")  # not in the schema yet
    package.edit_yaml(
        "schemas/trainer.yaml", lambda schema: schema["properties"]["loop"]["enum"].append("toy")
    )
    facts = package.train(tmp_path / "run", "trainer.loop=toy", "trainer.lr=0.01")
    assert facts.start["loop"] == "toy"  # the toy ran, not the supervised loop
    assert [row["lr"] for row in facts.rows if row["split"] == "train"] == [0.01, 0.01]


# -- report figure: outputs.which_figures -> reports/figures/__init__.py FIGURES ----------------

TOY_FIGURE = '''\
    """A toy report figure: the number of runs of each status."""

    from thesis_ml.reports.figures.common import ReportData, new_figure


    def draw(data: ReportData):
        fig, ax = new_figure("Runs per status")
        counts = data.summary["status"].value_counts()
        ax.bar(counts.index.astype(str), counts.to_numpy())
        ax.set(ylabel="runs")
        return fig
    '''
# `python -m thesis_ml.reports`'s own entry point; prints its exit status.
REPORT = """\
from thesis_ml.reports.__main__ import main

print("exit status", main(args))
"""


def test_a_new_report_figure(package, tmp_path):
    run_dir, out_dir = tmp_path / "run", tmp_path / "report"
    package.train(run_dir)
    package.add_file("reports/figures/toy.py", TOY_FIGURE)
    report = (
        "--config-name",
        "compare_tokenizers",
        f"inputs.run_dirs=[{run_dir}]",
        f"outputs.out_dir={out_dir}",
        "outputs.which_figures=[toy]",
    )
    rejected = package.python(REPORT, *report)
    assert "exit status 2" in rejected.stdout and "which_figures" in rejected.stderr

    package.register("reports/figures/__init__.py", "FIGURES", '"toy": "toy",')
    package.insert(
        "reports/figures/__init__.py",
        r"from thesis_ml.reports.figures import \(.*\n",
        "        toy,\n",
    )
    assert "exit status 0" in package.python(REPORT, *report).stdout
    assert sorted(p.name for p in (out_dir / "figures").iterdir()) == ["toy.png"]
    with (out_dir / "summary.csv").open(encoding="utf-8") as handle:
        assert [row["status"] for row in csv.DictReader(handle)] == ["completed"]


# -- plot family: logging.families.<name> -> plots/families.py FAMILIES ------------------------

TOY_FAMILY = '''\
    """Family ``toy``: the validation loss of the last finished epoch, as one bar."""


    def missing(facts, options):
        return None if facts.val_rows else "no validation rows in facts/scalars.csv"


    def panel_count(facts, options, full: bool) -> int:
        return 1


    def draw(axes: list, facts, options, full: bool) -> None:
        axes[0].bar([f"epoch {facts.epoch}"], [facts.val_rows[-1]["val_loss"]])
        axes[0].set_title("Toy: last validation loss")
    '''
# `python -m thesis_ml.plots RUN_DIR OVERRIDES`'s own entry point (its __main__ ends the process
# without teardown, so main() is called).
PLOTS = """\
from thesis_ml.plots.__main__ import main

assert main(args) == 0, "rendering failed"
"""


def test_a_new_plot_family(package, tmp_path):
    package.add_file("plots/toy.py", TOY_FAMILY)
    package.register(
        "plots/families.py", "FAMILIES", '"toy": toy,', "from thesis_ml.plots import toy"
    )
    package.insert("configs/logging/default.yaml", r"^families:.*\n", "  toy: true\n")
    assert "logging.families.toy" in package.compose_error()  # the schema knows no toy yet

    package.edit_yaml(
        "schemas/logging.yaml",
        lambda schema: (
            schema["properties"]["families"]["properties"].update(toy={"type": "boolean"}),
            schema["properties"]["families"]["required"].append("toy"),
        ),
    )
    run_dir = tmp_path / "run"
    package.train(run_dir)
    only_toy = ("logging=plots_minimal", "logging.families.losses=false")
    package.python(PLOTS, str(run_dir), *only_toy)
    assert sorted(p.name for p in (run_dir / "figures").iterdir()) == ["toy-train_end-2.png"]


# -- search sampler: search.sampler -> search/samplers.py SAMPLERS ------------------------------

TOY_SAMPLER = '''\
    """Optuna's quasi-Monte Carlo sampler, seeded by the round."""

    import optuna


    def build_qmc(search, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.QMCSampler(seed=seed)
    '''
# Check the section as the sweep schema does, then as parse_search does, and propose one round.
SEARCH = """\
import jsonschema
import yaml

from thesis_ml.search import SearchError
from thesis_ml.search.samplers import make_sampler
from thesis_ml.search.section import parse_search
from thesis_ml.search.study import propose_round

space = {"trainer.lr": {"type": "float", "low": 1.0e-4, "high": 0.1, "log": True}}
section = {"sampler": "qmc", "n_trials": 4, "batch": 4, "space": space}
schema = yaml.safe_load((Path(sys.argv[1]) / "search" / "schema.yaml").read_text())
try:
    jsonschema.validate(section, schema)
    search = parse_search(section)
except (jsonschema.ValidationError, SearchError) as error:
    sys.exit(f"rejected: {error.message if hasattr(error, 'message') else error}")
assert type(make_sampler(search, 0)).__name__ == "QMCSampler"
trials = propose_round(search, Path(args[0]), 0)
assert len({trial.params["trainer.lr"] for trial in trials}) == 4, trials
"""


def test_a_new_search_sampler(package, tmp_path):
    package.add_file("search/qmc.py", TOY_SAMPLER)
    package.register(
        "search/samplers.py",
        "SAMPLERS",
        '"qmc": build_qmc,',
        "from thesis_ml.search.qmc import build_qmc",
    )
    with pytest.raises(AssertionError, match="rejected: 'qmc' is not one of"):
        package.python(SEARCH, str(tmp_path / "search"))  # the schema knows no qmc yet

    package.edit_yaml(
        "search/schema.yaml", lambda schema: schema["properties"]["sampler"]["enum"].append("qmc")
    )
    package.python(SEARCH, str(tmp_path / "search"))


# -- sweep: a file in workflow_configs/, run by Snakemake --------------------------------------

TOY_SWEEP = {
    "sweep": "toy",
    "overrides": [
        "trainer.epochs=1",
        "data.n_samples=256",
        "model.hidden_sizes=[8]",
        "logging=plots_minimal",
    ],
    "grid": {"model.activation": ["relu", "tanh"]},
    "seeds": [0],
}


@pytest.mark.slow
def test_a_new_sweep(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    write_sweep(workdir, TOY_SWEEP, name="toy.yaml")
    snakemake(workdir, "--cores", "2", "--configfile", "workflow_configs/toy.yaml")
    results = workdir / "results"
    assert not (results / "default").exists()  # the file replaced the default sweep
    with (results / "toy" / "report" / "summary.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["status"] for row in rows] == ["completed", "completed"]
    runs = sorted(p.name for p in (results / "toy" / "runs").iterdir() if p.name != "report")
    assert runs == ["activation-relu__seed-0", "activation-tanh__seed-0"], runs
