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
    best, gap = result["best"], result["gap"]["best"]
    where = result["run_dir"] or "(ephemeral: logging.save_artifacts=false)"
    print(
        f"status={result['status']} best_epoch={best['epoch']} best_val_loss={best['val_loss']:.4g}"
    )
    print(f"gap to optimum: {gap}")
    print(f"run_dir: {where}")


if __name__ == "__main__":
    sys.exit(main())
