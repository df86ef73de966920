"""Family ``codebook``: how a VQ tokenizer uses its codes (perplexity, usage, dead codes, aux
loss per epoch, and the final per-code usage histogram)."""

from __future__ import annotations

from thesis_ml.facts import RunFacts
from thesis_ml.plots.drawing import finish, plot_splits, reference_line


def missing(facts: RunFacts, options) -> str | None:
    if not facts.has("perplexity"):
        return "run has no tokenizer (no perplexity in facts/scalars.csv)"
    return None


def panel_count(facts: RunFacts, options, full: bool) -> int:
    return len(_panels(facts)) if full else 1


def draw(axes: list, facts: RunFacts, options, full: bool) -> None:
    for ax, panel in zip(axes, _panels(facts), strict=False):
        panel(ax, facts)


def _panels(facts: RunFacts) -> list:
    panels = [_draw_perplexity, _draw_usage]
    if facts.has("dead_codes"):
        panels.append(_draw_dead_codes)
    if facts.has("aux_loss"):
        panels.append(_draw_aux_loss)
    if facts.last_validation().get("code_counts"):
        panels.append(_draw_histogram)
    return panels


def codebook_size(facts: RunFacts) -> int | None:
    counts = facts.last_validation().get("code_counts")
    if counts:
        return len(counts)
    tokenizer = facts.start.get("tokenizer") or {}
    if isinstance(tokenizer, dict) and tokenizer.get("codebook_size"):
        return int(tokenizer["codebook_size"])
    return None


def _draw_perplexity(ax, facts: RunFacts) -> None:
    values = plot_splits(ax, facts, "perplexity")
    size = codebook_size(facts)
    values += reference_line(ax, size, f"codebook size K={size} (uniform use)")
    finish(ax, "Codebook perplexity per epoch", "perplexity (effective codes)", values)


def _draw_usage(ax, facts: RunFacts) -> None:
    values = plot_splits(ax, facts, "code_usage", scale=100)
    values += reference_line(ax, 100.0, "all codes used")
    finish(ax, "Codes used per epoch", "codes used at least once (%)", values)


def _draw_dead_codes(ax, facts: RunFacts) -> None:
    values = plot_splits(ax, facts, "dead_codes")
    finish(ax, "Dead codes per epoch", "dead codes (count)", values, counts=True)


def _draw_aux_loss(ax, facts: RunFacts) -> None:
    values = plot_splits(ax, facts, "aux_loss")
    finish(ax, "Tokenizer loss per epoch", "codebook + commitment loss", values)


def _draw_histogram(ax, facts: RunFacts) -> None:
    counts = facts.last_validation()["code_counts"]
    ranked = sorted(counts, reverse=True)
    ax.bar(range(len(ranked)), ranked, width=1.0, color="tab:blue", label="validation")
    total = sum(counts)
    if total:
        ax.axhline(total / len(counts), color="black", label="uniform use", linestyle="--")
    epoch = facts.validations[-1].get("epoch")
    finish(
        ax,
        f"Code usage at epoch {epoch}",
        "assignments (count)",
        [c for c in counts if c > 0],
        xlabel="code rank (most used first)",
        counts=True,
    )
