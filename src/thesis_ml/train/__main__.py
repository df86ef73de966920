"""``python -m thesis_ml.train [--config-name NAME] [overrides...]``: one training run."""

from __future__ import annotations

import sys

from thesis_ml.cli import run_cli


def main(argv: list[str] | None = None) -> int:
    from thesis_ml.train import run_loop

    return run_cli(
        prog="python -m thesis_ml.train",
        description="Train one model. Overrides use Hydra's grammar: key=value, group=option.",
        argv=argv,
        action=lambda cfg, _: _summarise(run_loop(cfg)),
    )


def _summarise(result: dict) -> None:
    best, judged_by = result["best"], result["reference_kind"]
    where = result["run_dir"] or "(ephemeral: logging.save_artifacts=false)"
    print(
        f"status={result['status']} best_epoch={best['epoch']} "
        f"test_loss={best['test_loss']:.4g} (val_loss={best['val_loss']:.4g})"
    )
    if judged_by:
        yardstick = result["yardsticks"][judged_by]
        gap = result["gap"]["best"][judged_by]
        shown = ", ".join(f"{k}={v:+.4g}" for k, v in gap.items() if k.startswith("test_"))
        print(
            f"vs {judged_by} ({yardstick['role']}, {yardstick['kind']}) "
            f"{yardstick['test_loss']:.4g}: {shown or 'no test value'}"
        )
    for name, reason in result["omitted_yardsticks"].items():
        print(f"no {name}: {reason}")
    print(f"run_dir: {where}")


if __name__ == "__main__":
    sys.exit(main())
