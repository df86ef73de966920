"""Write docs/config_reference.md from the config files, their comments and their schemas.

    python scripts/gen_config_reference.py           # rewrite the reference
    python scripts/gen_config_reference.py --check   # exit 1 if the committed file is stale

Every group, option and key of the run configs (src/thesis_ml/configs/), the report configs
(src/thesis_ml/reports/configs/) and the sweep configs (workflow_configs/) is listed with its
default, the values its schema allows and its comment, so that the reference cannot drift from
the files: tests/test_docs.py fails when the committed reference differs from a fresh one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from thesis_ml.config import CONFIG_DIR
from thesis_ml.config_schema import allowed_values, run_config_schema
from thesis_ml.pipeline.workflow_config import with_file_refs_inlined
from thesis_ml.utils.io import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "config_reference.md"
REPORT_CONFIGS = CONFIG_DIR.parent / "reports" / "configs"
REPORT_SCHEMA = CONFIG_DIR.parent / "reports" / "schema.yaml"
SWEEP_CONFIGS = REPO / "workflow_configs"
SWEEP_SCHEMA = SWEEP_CONFIGS / "schemas" / "sweep.schema.yaml"
GLOBAL_PACKAGE = "# @package _global_"


@dataclass
class Entry:
    key: str
    default: str
    allowed: str
    comment: str


def entries(path: Path, prefix: str, schema_of) -> list[Entry]:
    """Each key of the YAML file ``path`` (its ``defaults`` list aside), in file order."""
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text)
    if root is None:
        return []
    # Hydra's composition list, at the top of a group's option as of the root: not a config key
    root.value = [(key, value) for key, value in root.value if key.value != "defaults"]
    lines = text.splitlines()
    return list(_mapping_entries(lines, root, prefix, schema_of, _header_end(lines)))


def _mapping_entries(lines, node, base: str, schema_of, header: int) -> Iterator[Entry]:
    for key_node, value_node in node.value:
        key = f"{base}.{key_node.value}" if base else key_node.value
        comment = _comment(lines, key_node, value_node, header)
        if isinstance(value_node, yaml.MappingNode) and value_node.value:
            if comment:  # a section's own comment, then its keys
                yield Entry(key, "", "", comment)
            yield from _mapping_entries(lines, value_node, key, schema_of, header)
            continue
        value = yaml.safe_load(yaml.serialize(value_node))
        schema = schema_of(key)
        comment = comment or schema.get("description", "")  # a key without a comment of its own
        yield Entry(key, _show(value), allowed_values(schema), comment)


def _header_end(lines: list[str]) -> int:
    """Number of comment lines at the top of a file (its description, not a key's)."""
    count = 0
    while count < len(lines) and lines[count].lstrip().startswith("#"):
        count += 1
    return count


def header_text(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return " ".join(
        line.strip().lstrip("#").strip()
        for line in lines[: _header_end(lines)]
        if line.strip() != GLOBAL_PACKAGE
    )


def _comment(lines: list[str], key_node, value_node, header: int) -> str:
    """The comment above a key, on its line, and on indented comment lines below it."""
    row, column = key_node.start_mark.line, key_node.start_mark.column
    above = []
    previous = row - 1
    while previous >= header and _is_comment_at(lines[previous], column, exact=True):
        above.insert(0, lines[previous].strip().lstrip("#").strip())
        previous -= 1
    end = value_node.end_mark
    same_line_end = end.column if end.line == row else key_node.end_mark.column
    rest = lines[row][same_line_end:]
    inline = rest.split("#", 1)[1].strip() if "#" in rest else ""
    below = []
    following = row + 1
    while following < len(lines) and _is_comment_at(lines[following], column + 1, exact=False):
        below.append(lines[following].strip().lstrip("#").strip())
        following += 1
    return " ".join(filter(None, [*above, inline, *below]))


def _is_comment_at(line: str, column: int, exact: bool) -> bool:
    """A comment-only line starting at ``column`` (exact) or further right (not exact)."""
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    return stripped.startswith("#") and (indent == column if exact else indent >= column)


def _show(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if value else '""'
    text = yaml.safe_dump(value, default_flow_style=True, width=1000)
    return text.removesuffix("...\n").strip()  # a bare scalar's document-end marker


def schema_lookup(schema: Mapping, kind: str | None = None):
    """``lookup("a.b.c")``: the schema of that key (``{}`` where the schema does not say); with
    ``kind``, a key of a kind-specific branch is looked up in that kind's branch (fsq and lfq
    both have ``bits``, with other values)."""

    def lookup(key: str) -> Mapping:
        node = schema
        for part in key.split("."):
            node = _property(node, part, kind)
            if node is None:
                return {}
        return node

    return lookup


def _property(schema: Mapping, name: str, kind: str | None = None) -> Mapping | None:
    if name in schema.get("properties", {}):
        return schema["properties"][name]
    for branch in schema.get("allOf", []):  # kind-specific keys (phase1 tokenizers)
        branch_kind = branch.get("if", {}).get("properties", {}).get("kind", {}).get("const")
        if kind is not None and branch_kind not in (None, kind):
            continue
        found = _property(branch.get("then", {}), name, kind)
        if found is not None and found.get("const") is None:
            return found
    return None


def run_config_schema_lookup(kind: str | None = None):
    return schema_lookup(run_config_schema(), kind)  # as validated: shorthands written out


def _load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def table(rows: list[Entry]) -> list[str]:
    out = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for entry in rows:
        cells = [f"`{entry.key}`", f"`{entry.default}`" if entry.default else ""]
        cells += [entry.allowed, entry.comment]
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return out


def run_config_section() -> list[str]:
    lookup = run_config_schema_lookup()
    out = [
        "## Run configs (`python -m thesis_ml.train`, `compose(...)`)",
        "",
        f"Root: `{_rel(CONFIG_DIR / 'config.yaml')}`. {header_text(CONFIG_DIR / 'config.yaml')}",
        "",
        *table(entries(CONFIG_DIR / "config.yaml", "", lookup)),
    ]
    options = sorted(CONFIG_DIR.rglob("*.yaml"))
    groups: dict[str, list[Path]] = {}
    for option in options:
        group = option.parent.relative_to(CONFIG_DIR).as_posix()
        if group != ".":
            groups.setdefault(group, []).append(option)
    for group, files in groups.items():
        names = ", ".join(f"`{f.stem}`" for f in files)
        out += ["", f"### Group `{group}`", "", f"Options: {names}. Choose with `{group}=OPTION`."]
        for option in files:
            is_global = GLOBAL_PACKAGE in option.read_text(encoding="utf-8")
            prefix = "" if is_global else group.replace("/", ".")
            out += ["", f"#### `{group}={option.stem}`", "", header_text(option), ""]
            if is_global:
                out += ["Sets keys anywhere in the config (`@package _global_`).", ""]
            kind = None if is_global else (_load(option) or {}).get("kind")
            option_lookup = run_config_schema_lookup(kind) if kind else lookup
            out += table(entries(option, prefix, option_lookup))
    return out


def single_schema_section(
    title: str, files: list[Path], schema_path: Path, intro: list[str] = ()
) -> list[str]:
    lookup = schema_lookup(_load(schema_path))
    out = ["", f"## {title}", "", f"Schema: `{_rel(schema_path)}`.", *intro]
    for path in files:
        out += ["", f"### `{_rel(path)}`", "", header_text(path), ""]
        out += table(entries(path, "", lookup))
    return out


def schema_entries(schema: Mapping, defs: Mapping, prefix: str = "") -> Iterator[Entry]:
    """Each property of ``schema``, nested ones as ``a.b`` and those of list items as
    ``a[].b``, with its schema default (the keys a file may set, whether or not any file does)."""
    required = set(schema.get("required", []))
    for name, node in schema.get("properties", {}).items():
        node = _resolve(node, defs)
        key = prefix + name
        default = _show(node["default"]) if "default" in node else ""
        allowed = allowed_values(node)
        if name in required:
            allowed = f"required; {allowed}" if allowed else "required"
        items = _resolve(node.get("items", {}), defs)
        meaning = node.get("description") or items.get("description", "")
        yield Entry(key, default, allowed, meaning)
        yield from schema_entries(node, defs, f"{key}.")
        yield from schema_entries(items, defs, f"{key}[].")


def _resolve(node: Mapping, defs: Mapping) -> Mapping:
    """``node`` with a local ``$ref: "#/$defs/NAME"`` merged in (its own keys win)."""
    ref = node.get("$ref", "")
    if not ref.startswith("#/$defs/"):
        return node
    return {**defs[ref.removeprefix("#/$defs/")], **node}


def sweep_section() -> list[str]:
    """Every key the schema allows, then what each sweep file sets."""
    schema = with_file_refs_inlined(_load(SWEEP_SCHEMA), SWEEP_SCHEMA.parent)
    keys = list(schema_entries(schema, schema.get("$defs", {})))
    return single_schema_section(
        "Sweep configs (`snakemake --configfile workflow_configs/NAME.yaml`)",
        sorted(SWEEP_CONFIGS.glob("*.yaml")),
        SWEEP_SCHEMA,
        intro=["", "### Keys", "", " ".join(schema["description"].split()), "", *table(keys)],
    )


def _rel(path: Path) -> str:
    return path.resolve().relative_to(REPO).as_posix()


def render() -> str:
    lines = [
        "# Config reference",
        "",
        "Generated by `python scripts/gen_config_reference.py` from the config files, their",
        "comments and their JSON schemas; do not edit by hand (`make docs` regenerates it, and",
        "tests/test_docs.py fails when it is stale). Override any key on the command line as",
        "`key=value`, pick a group's option as `group=option`.",
        "",
        *run_config_section(),
        *single_schema_section(
            "Report configs (`python -m thesis_ml.reports --config-name NAME`)",
            sorted(REPORT_CONFIGS.glob("*.yaml")),
            REPORT_SCHEMA,
        ),
        *sweep_section(),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that it is current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = REFERENCE.exists() and REFERENCE.read_text(encoding="utf-8") == text
        if not current:
            print(f"{_rel(REFERENCE)} is stale: run python scripts/gen_config_reference.py")
        return 0 if current else 1
    atomic_write_text(REFERENCE, text)
    print(f"wrote {_rel(REFERENCE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
