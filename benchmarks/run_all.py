"""Run every benchmark in benchmarks/ and write one table of figures, targets and verdicts.

    python benchmarks/run_all.py [--quick] [--only NAME ... [--merge]]     # or: make bench

Each benchmark runs in its own process (as ``python benchmarks/NAME.py [--quick] [--json F]``);
its figures are read from its JSON output, or from its printed lines where it has no ``--json``.
Writes ``benchmarks/RESULTS.md`` (markdown) and ``benchmarks/results.json``: per figure the
value, the target, and met / MISSED / info (no target) / skipped / error, plus the machine it
ran on. Benchmarks whose full run is too slow for the 10-minute budget run with ``--quick``
(see :data:`ALWAYS_QUICK`); the table says which. ``--only NAME --merge`` reruns those
benchmarks into the existing table, keeping the others' figures; each rerun's rows say when it
ran. Exit status 1 when a benchmark failed to run.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from thesis_ml.utils.io import atomic_write_text

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

# The SLURM benchmark's full run waits for the profile's real 40 s polling three times.
ALWAYS_QUICK = {"slurm_overhead": "full run polls SLURM at the profile's 40 s (minutes)"}
TIMEOUT_S = 300  # per benchmark, but for those that train whole sweeps:
# two grids of 24 runs and two searches; three 48-run sweeps and 200 runs through SLURM twice
LONG_TIMEOUT_S = {"bench_search": 2400, "bench_packing": 3600}
Row = dict[str, object]


def row(figure: str, value: str, target: str = "", met: bool | None = None, note: str = "") -> Row:
    status = "info" if met is None else ("met" if met else "MISSED")
    return {"figure": figure, "value": value, "target": target, "status": status, "note": note}


def module_constant(name: str, constant: str):
    """A literal constant of a benchmark module, read without importing it."""
    tree = ast.parse((BENCH_DIR / f"{name}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets[0]
            names = targets.elts if isinstance(targets, ast.Tuple) else [targets]
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for target, value in zip(names, values, strict=False):
                if isinstance(target, ast.Name) and target.id == constant:
                    return ast.literal_eval(value)
    raise KeyError(f"{name}.py has no constant {constant}")


# One reader per benchmark: (its JSON or None, its stdout, quick) -> rows.
def read_train_loop(data, _out, _quick) -> list[Row]:
    target = data["target"]
    rows = []
    for result in data["results"]:
        ratio, batch = result["ratio_library_to_bare"], result["batch_size"]
        rates = result["samples_per_s"]
        rows.append(
            row(
                f"training loop / bare PyTorch loop, batch {batch}",
                f"{ratio:.2f}x",
                f">= {target}x",
                ratio >= target,
                f"library {rates['library']:,.0f} samples/s, "
                f"DataLoader reference {result['ratio_dataloader_to_bare']:.2f}x",
            )
        )
    return rows


def read_vq(data, _out, _quick) -> list[Row]:
    vs_ae, vs_vqp = (module_constant("bench_vq", c) for c in ("TARGET_VS_AE", "TARGET_VS_VQP"))
    step_ms = {name: 1e3 * seconds for name, seconds in data["step_s"].items()}
    return [
        row(
            "VQ-AE step / plain AE step",
            f"{data['vq_over_ae']:.2f}x",
            f"<= {vs_ae}x",
            data["vq_over_ae"] <= vs_ae,
            f"{step_ms['vq']:.2f} ms vs {step_ms['ae']:.2f} ms",
        ),
        row(
            "VQ-AE step / vector-quantize-pytorch step",
            f"{data['vq_over_vqp']:.2f}x",
            f"<= {vs_vqp}x",
            data["vq_over_vqp"] <= vs_vqp,
            f"batch {data['batch']}",
        ),
        row(
            "plainest VQ-AE step (argmin, no EMA or restart) / plain AE step",
            f"{data['textbook_over_ae']:.2f}x",
            note="reference: what any VQ bottleneck costs here",
        ),
        row(
            "codes equal to vector-quantize-pytorch's",
            f"{100 * data['code_agreement']:.2f}%",
            "100%",
            data["code_agreement"] == 1.0,
        ),
    ]


def read_tokenizers(data, _out, _quick) -> list[Row]:
    rows = [
        row(
            f"{r['name']} step / vector-quantize-pytorch step",
            f"{r['ratio']:.2f}x",
            f"<= {r['target']}x",
            r["ratio"] <= r["target"],
            f"{1e3 * r['step_s']['ours']:.2f} ms vs {1e3 * r['step_s']['peer']:.2f} ms "
            f"({r['peer']}), batch {data['batch']}",
        )
        for r in data["rows"]
    ]
    if data["skipped"]:  # rows whose option our config does not have yet
        rows.append(
            row(
                "tokenizer rows not run",
                ", ".join(s["name"] for s in data["skipped"]),
                note="; ".join(s["reason"] for s in data["skipped"]),
            )
        )
    return rows


def read_plots(_data, out: str, quick: bool) -> list[Row]:
    overhead = re.search(
        r"plots_minimal / make_plots=false = ([\d.]+)\s+\(target <= ([\d.]+)\)", out
    )
    render = re.search(
        r"re-render plots_full of a (\d+)-epoch run: ([\d.]+) s wall.*target < ([\d.]+) s", out
    )
    final_draw = re.search(r"final plots_minimal figure: ([\d.]+) s .* = ([\d.]+)% of", out)
    if not overhead or not render or not final_draw:
        raise ValueError("bench_plots printed no figures in the expected form")
    ratio, target = float(overhead[1]), float(overhead[2])
    seconds, limit = float(render[2]), float(render[3])
    return [
        row(
            "training time, logging=plots_minimal / make_plots=false",
            f"{ratio:.2f}x",
            f"<= {target}x",
            ratio <= target,
            "20-epoch default run, fresh processes",
        ),
        row(
            "drawing the final plots_minimal figure / training without figures",
            f"{float(final_draw[2]):.1f}%",
            note=f"{float(final_draw[1]):.3f} s with matplotlib loaded: the training's wait",
        ),
        row(
            f"re-render plots_full of a {render[1]}-epoch run",
            f"{seconds:.2f} s",
            f"< {limit:g} s",
            seconds < limit,
            "fresh process, imports included",
        ),
    ]


def read_reports(data, _out, quick) -> list[Row]:
    size = f"{data['runs']} runs x {data['epochs']} epochs"
    comparable = not quick
    return [
        row(
            f"cross-run report of {size}",
            f"{data['total_s']:.2f} s",
            f"< {data['target_s']:g} s",
            data["total_s"] < data["target_s"] if comparable else None,
            "" if comparable else "quick size; the target is for 1000 runs x 50 epochs",
        ),
    ]


def read_pipeline(data, _out, _quick) -> list[Row]:
    return [
        row(
            f"{r['name']} (N={r['n']}), "
            + ("ours / reference" if r["met"] is not None else "/ one-step bare Snakefile"),
            f"{r['ratio']:.2f}x",
            r["target"],
            r["met"],
            f"{r['ours_s']:.2f} s vs {r['reference_s']:.2f} s",
        )
        for r in data
    ]


def read_references(data, _out, _quick) -> list[Row]:
    rows = [
        row(
            "default sweep, data to report",
            f"{data['sweep_s']:.0f} s",
            f"<= {data['target_sweep_s']:g} s",
            data["sweep_s"] <= data["target_sweep_s"],
        )
    ]
    for c in data["configurations"]:
        rows.append(
            row(
                f"{c['configuration']}: mean test MSE / max(linear, quantizer reference)",
                f"{c['ratio']:.3f}x",
                f"<= {data['target_ratio']}x",
                c["met"],
                f"subspace quantizer (linear encoder's best) {c['subspace_quantizer']:.4f} "
                f"vs reference {c['target_mse']:.4f}",
            )
        )
    return rows


def read_search(data, _out, _quick) -> list[Row]:
    targets, rows = data["targets"], []
    for task, result in data["tasks"].items():
        rows += [
            row(
                f"{task} search: best value / grid's best",
                f"{result['value_ratio']:.3f}x",
                f"<= {targets['value_ratio']}x",
                result["value_ratio"] <= targets["value_ratio"],
                f"search {result['search_best']:.4f} ({result['search_trials']} trials), grid "
                f"{result['grid_best']:.4f} ({result['grid_runs']} runs)",
            ),
            row(
                f"{task} search: training epochs / grid's",
                f"{result['epoch_share']:.1%}",
                f"<= {targets['epoch_share']:.0%}",
                result["epoch_share"] <= targets["epoch_share"],
                f"{result['search_epochs']} vs {result['grid_epochs']} epochs; wall "
                f"{result['search_wall_s']:.0f} s vs {result['grid_wall_s']:.0f} s",
            ),
            row(
                f"{task} search: round overhead (propose, promote, tell)",
                f"{result['round_overhead_s']:.2f} s",
                f"< {targets['round_overhead_s']:g} s",
                result["round_overhead_s"] < targets["round_overhead_s"],
            ),
        ]
    return rows


def read_slurm(_data, out: str, _quick) -> list[Row]:
    figures = {
        "one trivial job, local snakemake": r"local run \(snakemake --cores 1\)\s+([\d.]+) s",
        "one trivial job via SLURM, whole snakemake call": (
            r"whole snakemake call \(1 s poll\)\s+([\d.]+) s"
        ),
        "one trivial job via SLURM, submit to end": r"submit-to-end in SLURM\s+([\d.]+) s",
        "scheduling, --scheduler greedy": r"--scheduler greedy\s+([\d.]+) s",
        "scheduling, --scheduler ilp": r"--scheduler ilp\s+([\d.]+) s",
    }
    ratios = {
        "one trivial job, SLURM (1 s poll) / local": (
            r"ratio slurm \(1 s poll\) / local\s+([\d.]+)x"
        ),
        "scheduling, ilp / greedy": r"ratio ilp / greedy\s+([\d.]+)x",
    }
    rows = []
    for figure, pattern in figures.items():
        match = re.search(pattern, out)
        if match:
            rows.append(row(figure, f"{float(match[1]):.1f} s"))
    for figure, pattern in ratios.items():
        if match := re.search(pattern, out):
            rows.append(row(figure, f"{float(match[1]):.1f}x"))
    if not rows:
        raise ValueError("slurm_overhead printed no figures in the expected form")
    return rows


def read_gpu(data, _out, _quick) -> list[Row]:
    if not data["rows"]:
        return [{**row("GPU throughput", "-", note=data["note"]), "status": "skipped"}]
    return [
        row(
            f"GPU / CPU training samples/s, {r['case']}",
            f"{r['cuda_over_cpu']:.2f}x",
            note=f"bf16 {r['bf16_over_cpu']:.2f}x; cpu {r['samples_per_s']['cpu']:,.0f}/s, "
            f"cuda {r['samples_per_s']['cuda']:,.0f}/s; {data['note']}",
        )
        for r in data["rows"]
    ]


def read_packing(data, _out, _quick) -> list[Row]:
    return [
        row(
            f"{r['name']} (N={r['n']})",
            str(r["value"]),
            r["target"],
            r["met"],
            "" if r["ours_s"] is None else f"{r['ours_s']:.1f} s",
        )
        for r in data
    ]


def read_stacked(data, _out, _quick) -> list[Row]:
    rows = []
    for r in data:
        solo, stacked = (3600 * r["seeds"] / r[key] for key in ("solo_s", "stacked_s"))
        rows.append(
            row(
                f"stacked seeds / one at a time, runs per hour ({r['device']})",
                f"{stacked / solo:.2f}x",
                note=f"{r['seeds']} seeds of the default run: {stacked:,.0f} against "
                f"{solo:,.0f} runs/h",
            )
        )
    return rows


READERS: dict[str, tuple[bool, Callable[..., list[Row]]]] = {
    # name: (has --json, reader)
    "bench_train_loop": (True, read_train_loop),
    "bench_vq": (True, read_vq),
    "bench_tokenizers": (True, read_tokenizers),
    "bench_plots": (False, read_plots),
    "bench_reports": (True, read_reports),
    "bench_pipeline": (True, read_pipeline),
    "bench_references": (True, read_references),
    "bench_search": (True, read_search),
    "bench_packing": (True, read_packing),
    "bench_stacked": (True, read_stacked),
    "bench_gpu": (True, read_gpu),
    "slurm_overhead": (False, read_slurm),
}


def benchmark_names() -> list[str]:
    """Every benchmark script in benchmarks/; one without a reader is an error, not a gap."""
    names = sorted(p.stem for p in BENCH_DIR.glob("*.py") if p.stem != Path(__file__).stem)
    missing = [name for name in names if name not in READERS]
    if missing:
        sys.exit(f"error: benchmarks/run_all.py has no reader for {', '.join(missing)}")
    return names


def skip_reason(name: str) -> str | None:
    if name != "slurm_overhead":
        return None
    start = "start one: sudo bash scripts/local_slurm.sh"
    if shutil.which("sbatch") is None:
        return f"no sbatch on PATH ({start})"
    if subprocess.run(["sinfo", "-h"], capture_output=True, timeout=30).returncode != 0:
        return f"the SLURM controller does not answer ({start})"
    return None


def run_benchmark(name: str, quick: bool, workdir: Path) -> dict:
    has_json, reader = READERS[name]
    quick = quick or name in ALWAYS_QUICK
    entry = {"benchmark": name, "quick": quick, "seconds": 0.0, "rows": []}
    if reason := skip_reason(name):
        entry["rows"] = [{**row("(not run)", "-", note=reason), "status": "skipped"}]
        return entry
    json_path = workdir / f"{name}.json"
    command = [sys.executable, str(BENCH_DIR / f"{name}.py"), *(["--quick"] if quick else [])]
    command += ["--json", str(json_path)] if has_json else []
    print(f"run_all: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=LONG_TIMEOUT_S.get(name, TIMEOUT_S),
            env=_env(),
        )
        entry["seconds"] = time.perf_counter() - start
        print(done.stdout, end="", flush=True)
        data = json.loads(json_path.read_text()) if has_json and json_path.exists() else None
        if done.returncode != 0 and not (data or not has_json and done.stdout):
            raise RuntimeError(f"exit {done.returncode}: {_tail(done.stderr)}")
        entry["rows"] = reader(data, done.stdout, quick)
        if done.returncode != 0:  # figures were written, but the script reports a failure
            entry["note"] = f"exit {done.returncode}: {_tail(done.stderr)}"
    except subprocess.TimeoutExpired as error:
        entry["seconds"] = time.perf_counter() - start
        partial = json.loads(json_path.read_text()) if has_json and json_path.exists() else None
        failed = {**row("(timed out)", "-", note=f"after {error.timeout:.0f} s"), "status": "error"}
        # a benchmark that publishes its rows as it goes keeps the phases that finished
        entry["rows"] = [*(reader(partial, "", quick) if partial else []), failed]
    except (RuntimeError, ValueError, KeyError) as error:
        entry["seconds"] = time.perf_counter() - start
        entry["rows"] = [{**row("(failed)", "-", note=str(error)), "status": "error"}]
    return entry


def _env() -> dict[str, str]:
    """Scripts find the project (they run from the repository) and its tools (the venv)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def machine() -> dict[str, object]:
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = models[0] if models else cpu
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": gpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def to_markdown(results: dict) -> str:
    info = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run_all.py` (`make bench`); do not edit by hand.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, GPU: {info['gpu']}; {info['os']}; "
        f"Python {info['python']}, torch {info['torch']}; {info['date']}. "
        f"Total {results['total_s']:.0f} s.",
        "",
        "| benchmark | figure | value | target | status | run | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in results["benchmarks"]:
        mode = "quick" if entry["quick"] else "full"
        if entry["benchmark"] in ALWAYS_QUICK:
            mode += f" ({ALWAYS_QUICK[entry['benchmark']]})"
        if "rerun" in entry:
            mode += f", rerun {entry['rerun']}"
        for r in entry["rows"]:
            note = "; ".join(filter(None, [str(r["note"]), entry.get("note", "")]))
            cells = [
                entry["benchmark"],
                r["figure"],
                r["value"],
                r["target"] or "-",
                r["status"],
                mode,
                note.replace("|", "\\|"),
            ]
            lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def merged(previous: dict, fresh: dict) -> dict:
    """``previous`` with the benchmarks of ``fresh`` in place of its own, each marked with the
    date it ran; the machine line stays ``previous``'s (a rerun belongs on the same machine)."""
    entries = {entry["benchmark"]: entry for entry in previous["benchmarks"]}
    for entry in fresh["benchmarks"]:
        entries[entry["benchmark"]] = {**entry, "rerun": fresh["machine"]["date"]}
    order = {name: index for index, name in enumerate(benchmark_names())}
    return {
        **previous,
        "total_s": previous["total_s"] + fresh["total_s"],
        "benchmarks": sorted(entries.values(), key=lambda e: order.get(e["benchmark"], len(order))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument(
        "--merge", action="store_true", help="with --only: keep the other benchmarks' figures"
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="where the table goes")
    args = parser.parse_args(argv)
    results_path = args.out / "results.json"
    if args.merge and not (args.only and results_path.is_file()):
        parser.error(f"--merge needs --only and an earlier {results_path} to merge into")
    names = benchmark_names()
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
        names = [name for name in names if name in args.only]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="run_all-") as tmp:
        entries = [run_benchmark(name, args.quick, Path(tmp)) for name in names]
    results = {"machine": machine(), "total_s": time.perf_counter() - start, "benchmarks": entries}
    if args.merge:
        results = merged(json.loads(results_path.read_text(encoding="utf-8")), results)
    atomic_write_text(results_path, json.dumps(results, indent=2) + "\n")
    table = to_markdown(results)
    atomic_write_text(args.out / "RESULTS.md", table)
    print(table)
    failed = [e["benchmark"] for e in entries if any(r["status"] == "error" for r in e["rows"])]
    if failed:
        print(f"error: benchmark(s) failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
