"""The import graph of a Python package, read from its source: nothing is imported.

The workflow derives the library files each pipeline step depends on from it (rules/sources.smk):
the files of the step's entry modules and of everything they import, transitively. It is
computed when Snakemake parses the workflow, so this module uses the standard library only.

Edges of a module are what its ``import`` and ``from ... import`` statements name, wherever they
stand (module level, or inside a function, class, ``if`` or ``try``), absolute or relative:

- ``from pkg import name`` names the submodule ``pkg.name`` when that file exists, else ``pkg``;
- importing a module first runs its parent packages' ``__init__.py`` (``import a.b.c`` runs
  ``a/__init__.py`` and ``a/b/__init__.py``): :meth:`ImportGraph.closure` adds them, while the
  graph's edges stay the statements' own (so that a package importing its submodules is no
  cycle);
- ``importlib.import_module(name)`` is no edge, literal name or not: a dispatcher loads one of
  several modules by name, and depends on the one chosen only. A module that needs another one
  imports it with a statement (inside the function that needs it, to defer the cost).

Modules outside the package (the standard library, torch) are no nodes. The statements found in
each file are cached in a JSON file by the file's SHA-256, so a parse of the workflow reads and
hashes the files but parses only those that changed.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

CACHE_VERSION = 2

# A file's import statements, unresolved (as JSON lists): ["import", 0, "a.b", []] for
# ``import a.b``, ["from", level, module, names] for ``from ..module import names``.
Statement = list


class ImportGraph:
    """Modules of one package, their files and the modules each one's statements import."""

    def __init__(self, files: dict[str, Path], imports: dict[str, frozenset[str]]) -> None:
        self.files = files  # module name -> file
        self.imports = imports  # module name -> modules of this package it imports

    def parents(self, module: str) -> list[str]:
        """The packages (with an ``__init__.py``) whose code importing ``module`` runs first."""
        parts = module.split(".")
        prefixes = (".".join(parts[:i]) for i in range(1, len(parts)))
        return [name for name in prefixes if name in self.files]

    def closure(self, entries: Iterable[str]) -> set[str]:
        """Every module that importing (or running) the ``entries`` may import."""
        entries = list(entries)
        unknown = [name for name in entries if name not in self.files]
        if unknown:
            raise KeyError(f"no module {', '.join(unknown)} in the package")
        seen: set[str] = set()
        todo = list(entries)
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            todo += [*self.imports[module], *self.parents(module)]
        return seen

    def closure_files(self, entries: Iterable[str]) -> list[Path]:
        """The files of :meth:`closure`, sorted."""
        return sorted(self.files[module] for module in self.closure(entries))

    def cycles(self) -> list[list[str]]:
        """One import cycle per strongly connected set of modules, as ``[a, b, ..., a]``.

        Edges are the import statements (module level and function level), not the implicit
        imports of parent packages. Empty when the graph is acyclic.
        """
        return [_cycle_in(self.imports, component) for component in _components(self.imports)]


def import_graph(package_dir: Path | str, cache: Path | str | None = None) -> ImportGraph:
    """The import graph of the package in ``package_dir`` (its name is the directory's).

    ``cache`` is a JSON file holding each file's statements by checksum; it is rewritten when a
    file was parsed anew or is gone, and ignored when absent, torn or of another version.
    """
    package_dir = Path(package_dir)
    files = _module_files(package_dir)
    entries = _read_cache(cache)
    statements: dict[str, list[Statement]] = {}
    fresh: dict[str, dict] = {}
    for module, path in files.items():
        key = path.relative_to(package_dir).as_posix()
        source = path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        entry = entries.get(key)
        if not isinstance(entry, dict) or entry.get("sha256") != digest:
            entry = {"sha256": digest, "statements": _statements(source, str(path))}
        fresh[key] = entry
        statements[module] = entry["statements"]
    if cache is not None and fresh != entries:
        _atomic_write_text(Path(cache), json.dumps({"version": CACHE_VERSION, "files": fresh}))
    imports = {
        module: frozenset(_resolve(module, files, statements[module])) - {module}
        for module in files
    }
    return ImportGraph(files, imports)


def _module_files(package_dir: Path) -> dict[str, Path]:
    files = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if any(not part.isidentifier() for part in parts[:-1]) or "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join((package_dir.name, *parts))] = path
    return files


def _statements(source: bytes, filename: str) -> list[Statement]:
    """The import statements of one file, wherever they stand in it."""
    tree = ast.parse(source, filename=filename)
    statements: list[Statement] = []
    # Imports are statements: walking the statements alone (into every body, not into
    # expressions) finds them all at a fraction of the cost of a walk over every node.
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            statements += [["import", 0, alias.name, []] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            statements.append(["from", node.level, node.module or "", names])
        else:
            for field in _BODIES:
                todo += reversed(getattr(node, field, ()))
    return statements


# The fields of statement nodes that hold statements (or handlers and match cases holding them).
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _resolve(module: str, files: dict[str, Path], statements: list[Statement]) -> set[str]:
    """The package's modules that ``statements`` of ``module`` import."""
    is_package = files[module].name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for kind, level, name, names in statements:
        if kind == "import":
            found.add(name)
        else:
            if level:
                parts = package.split(".")
                if level - 1 >= len(parts):
                    continue  # beyond the top-level package: fails when run
                base = ".".join(parts[: len(parts) - (level - 1)] + ([name] if name else []))
            else:
                base = name
            submodules = {f"{base}.{item}" for item in names} & files.keys()
            found |= submodules  # their package is imported too: a parent (see closure)
            if len(submodules) < len(names):
                found.add(base)  # names defined by base itself (or *)
    return found & files.keys()


def _components(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected sets of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def _cycle_in(graph: dict[str, frozenset[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the first module of ``component``, as ``[a, ..., a]``."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & members):
                if successor == start:  # back: the path start -> ... -> node closes the cycle
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if successor not in previous:
                    previous[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{component} is not strongly connected")


def _read_cache(cache: Path | str | None) -> dict:
    if cache is None:
        return {}
    try:
        content = json.loads(Path(cache).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(content, dict) or content.get("version") != CACHE_VERSION:
        return {}
    files = content.get("files")
    return files if isinstance(files, dict) else {}


def _atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` in one step: a concurrent parse reads the old file or the new one.
    (thesis_ml.utils.io has the library's writer; this module imports no library module.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
