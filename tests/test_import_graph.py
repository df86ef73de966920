"""The import graph the workflow derives each step's library sources from (rules/sources.smk).

A walker on small packages written here, the library's own graph (acyclic), and a soundness
check: each pipeline step, run for real on tiny inputs, imports no library module outside its
step's static closure.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import thesis_ml
from thesis_ml.pipeline import import_graph as import_graph_module
from thesis_ml.pipeline.import_graph import import_graph
from thesis_ml.pipeline.run_configs import compose_run

PACKAGE = Path(thesis_ml.__file__).resolve().parent  # the library the subprocesses import

# The entry modules of each step: what its rule's command runs (rules/*.smk), as in
# STEP_ENTRIES of rules/common.smk.
STEP_ENTRIES = {
    "data": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.generate_data"],
    "train": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.train_step"],
    "render": ["thesis_ml.plots.__main__"],
    "report": ["thesis_ml.pipeline.__main__", "thesis_ml.pipeline.report_step"],
}


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root / next(iter(files)).split("/")[0]


@pytest.fixture
def pkg(tmp_path) -> Path:
    """A package exercising every kind of edge (and of non-edge) the walker knows."""
    return _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": """
                import os
                from . import b
                from .sub import c, helper
                """,
            "pkg/b.py": """
                def later():
                    from .sub.d import value
                    return value
                """,
            "pkg/sub/__init__.py": "from pkg.sub.c import helper\n",
            "pkg/sub/c.py": "helper = 1\n",
            "pkg/sub/d.py": """
                import json
                try:
                    from ..e import thing
                except ImportError:
                    thing = None

                class Holder:
                    def method(self):
                        import pkg.f.g
                """,
            "pkg/e.py": "thing = 2\n",
            "pkg/f/__init__.py": "",
            "pkg/f/g.py": "",
            "pkg/lazy.py": """
                import importlib

                def load(name):
                    return importlib.import_module("pkg.unused"), importlib.import_module(name)
                """,
            "pkg/unused.py": "",
            "pkg/plugins/__init__.py": """
                import importlib

                def load(name):
                    return importlib.import_module(f"{__name__}.{name}")

                def load_one():
                    from pkg.plugins import one
                    return one
                """,
            "pkg/plugins/one.py": "",
            "pkg/plugins/two.py": "from . import one\n",
            "pkg/doc.py": '''
                """Usage:

                    from pkg import unused
                """
                ''',
        },
    )


def test_relative_imports_resolve_against_the_package(pkg):
    graph = import_graph(pkg)
    assert "pkg.b" in graph.imports["pkg.a"]  # from . import b
    assert "pkg.e" in graph.imports["pkg.sub.d"]  # from ..e import thing (an attribute)
    assert graph.imports["pkg.plugins.two"] == {"pkg.plugins.one"}


def test_from_import_names_the_submodule_when_it_exists(pkg):
    graph = import_graph(pkg)
    # `from .sub import c, helper`: c is a module, helper an attribute of pkg.sub
    assert graph.imports["pkg.a"] == {"pkg.b", "pkg.sub.c", "pkg.sub"}
    assert graph.imports["pkg.sub"] == {"pkg.sub.c"}


def test_imports_inside_functions_classes_and_try_blocks_are_edges(pkg):
    graph = import_graph(pkg)
    assert graph.imports["pkg.b"] == {"pkg.sub.d"}
    assert graph.imports["pkg.sub.d"] == {"pkg.e", "pkg.f.g"}  # json and os are no nodes


def test_import_module_by_name_is_no_edge_nor_an_import_in_a_docstring(pkg):
    graph = import_graph(pkg)
    assert graph.imports["pkg.lazy"] == set()  # literal or computed name
    assert graph.imports["pkg.plugins"] == {"pkg.plugins.one"}  # the statement only
    assert graph.imports["pkg.doc"] == set()


def test_closure_runs_every_imported_module_s_parent_packages(pkg):
    graph = import_graph(pkg)
    assert graph.closure(["pkg.b"]) == {
        "pkg",
        "pkg.b",
        "pkg.sub",
        "pkg.sub.c",  # pkg/sub/__init__.py imports it
        "pkg.sub.d",
        "pkg.e",
        "pkg.f",  # pkg.f.g imports its package first
        "pkg.f.g",
    }
    files = graph.closure_files(["pkg.b"])
    assert files == sorted(files)
    assert pkg / "f" / "__init__.py" in files and pkg / "__init__.py" in files
    assert graph.closure(["pkg.unused"]) == {"pkg", "pkg.unused"}
    with pytest.raises(KeyError, match="pkg.missing"):
        graph.closure(["pkg.missing"])


def test_cycles_are_reported_as_paths_and_a_package_importing_its_submodules_is_none(tmp_path):
    acyclic = _package(
        tmp_path / "one",
        {
            "pkg/__init__.py": "from pkg import a\n",
            "pkg/a.py": "from pkg.b import x\n",  # runs pkg/__init__.py first: no cycle
            "pkg/b.py": "x = 1\n",
        },
    )
    assert import_graph(acyclic).cycles() == []
    cyclic = _package(
        tmp_path / "two",
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import x\n",
            "pkg/b.py": "def f():\n    from pkg.c import y\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "import pkg.a\n",
        },
    )
    assert import_graph(cyclic).cycles() == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_cache_reparses_only_changed_files_and_survives_a_torn_file(pkg, tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "graph.json"
    parsed = []
    parse = import_graph_module._statements
    monkeypatch.setattr(
        import_graph_module, "_statements", lambda *args: parsed.append(args[1]) or parse(*args)
    )
    first = import_graph(pkg, cache=cache)
    assert len(parsed) == len(first.files) and cache.is_file()
    parsed.clear()
    assert import_graph(pkg, cache=cache).imports == first.imports
    assert parsed == []
    (pkg / "e.py").write_text("from pkg.f import g\n")
    changed = import_graph(pkg, cache=cache)
    assert parsed == [str(pkg / "e.py")]
    assert changed.imports["pkg.e"] == {"pkg.f.g"}
    cache.write_text('{"version": 1, "files": {"e.py": ')
    assert import_graph(pkg, cache=cache).imports == changed.imports
    assert json.loads(cache.read_text())["version"] == import_graph_module.CACHE_VERSION


def test_import_graph_module_imports_the_standard_library_only():
    """The Snakefile imports it at parse time: no torch, snakemake or other library module."""
    probe = (
        "import json, sys; before = set(sys.modules); import thesis_ml.pipeline.import_graph; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    library = {"thesis_ml", "thesis_ml.pipeline", "thesis_ml.pipeline.import_graph"}
    assert {name for name in loaded if name.startswith("thesis_ml")} == library
    heavy = ("torch", "snakemake", "omegaconf", "hydra", "numpy", "yaml")
    assert not [name for name in loaded if name.split(".")[0] in heavy]


def test_the_library_import_graph_has_no_cycle():
    cycles = import_graph(PACKAGE).cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_step_entry_is_a_module_of_the_library():
    graph = import_graph(PACKAGE)
    for step, entries in STEP_ENTRIES.items():
        closure = graph.closure(entries)
        assert {"thesis_ml", *entries} <= closure, step
    # `train` runs through the dispatcher and what it imports (the hand-made lists missed them)
    dispatcher = graph.closure(["thesis_ml.pipeline.__main__"])
    assert dispatcher <= graph.closure(STEP_ENTRIES["train"])


# `python -X importtime` lists every module a process imports, on stderr, one line each.
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.MULTILINE)


def _imported(tmp_path: Path, *args: str) -> set[str]:
    """The library modules that ``python -m ARGS`` imports, run in ``tmp_path``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"python -m {' '.join(args)}:\n{done.stderr[-4000:]}"
    modules = set(IMPORT_LINE.findall(done.stderr))
    assert "json" in modules or "argparse" in modules, "no import times on stderr"
    return {name for name in modules if name == "thesis_ml" or name.startswith("thesis_ml.")}


# Small runs of both loops (the VQ autoencoder also draws the codebook figures).
RUNS = {
    "mlp": ["trainer.epochs=2", "data.n_samples=256", "model.hidden_sizes=[16]"],
    "vq": [
        "phase1/encoder=mlp",
        "phase1/decoder=mlp",
        "phase1/trainer=ae",
        "phase1/tokenizer=vq",
        "phase1.tokenizer.codebook_size=16",
        "trainer.epochs=2",
        "data.n_samples=256",
    ],
}


@pytest.mark.slow
def test_each_step_run_for_real_imports_only_modules_of_its_static_closure(tmp_path):
    graph = import_graph(PACKAGE)
    imported: dict[str, set[str]] = {step: set() for step in STEP_ENTRIES}
    run_dirs = []
    for name, overrides in RUNS.items():
        config = compose_run([*overrides, "logging=plots_minimal"])
        data = tmp_path / f"{name}.pt"
        imported["data"] |= _imported(
            tmp_path,
            "thesis_ml.pipeline",
            "generate-data",
            "--config-json",
            json.dumps(config["data"]),
            "--out",
            str(data),
        )
        run_dir = tmp_path / "runs" / name
        imported["train"] |= _imported(
            tmp_path,
            "thesis_ml.pipeline",
            "train",
            "--config-json",
            json.dumps(config),
            "--data",
            str(data),
            "--run-dir",
            str(run_dir),
        )
        imported["render"] |= _imported(tmp_path, "thesis_ml.plots", str(run_dir))
        run_dirs.append(str(run_dir))
    report = tmp_path / "report"
    imported["report"] |= _imported(
        tmp_path, "thesis_ml.pipeline", "report", "--out", str(report), *run_dirs
    )
    assert (report / "summary.csv").is_file() and any((report / "figures").iterdir())
    for step, entries in STEP_ENTRIES.items():
        missing = imported[step] - graph.closure(entries)
        assert not missing, f"step {step} imports modules outside its static closure: {missing}"
        assert len(imported[step]) > 5, step  # the probe saw the library's imports
