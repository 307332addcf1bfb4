"""Two views of an `Explanation`: a terminal table (`table`) and a heatmap PNG (`plot`)."""

from pathlib import Path

import numpy as np

from ksent.explain.explanation import Explanation
from ksent.text.vocab import OOV_TOKEN


def table(ex: Explanation, layer: int = -1):
    """A rich Table: one row per token the analyser produced (or per unit the shown member reads:
    characters, pieces), in text order."""
    from rich.table import Table

    n_layers = ex.cell.shape[0]
    lyr = layer % n_layers
    tab = Table(
        title=f"P(positive) = {ex.p_positive:.4f} → {ex.sentiment} ({ex.label})",
        caption=_caption(ex, lyr),
        caption_justify="left",
    )
    tab.add_column(ex.unit)
    tab.add_column("text")
    tab.add_column("evidence", justify="right")
    tab.add_column("P(pos) after", justify="right")
    for name in ("i", "f", "o", "|c|"):
        tab.add_column(name, justify="right")
    # a bidirectional LSTM: each direction's gates on a line of their own (→ then ←), so that the table
    # keeps the width of a one-direction one and fits an 80-column terminal
    bi = len(ex.directions) > 1
    summary = dict(zip([t.step for t in ex.fed], ex.summary(layer), strict=True))
    for t in ex.tokens:
        surface = ex.text[t.start : t.end] if t.start is not None else ""  # e.g. the "▁" before the first word
        shown = t.text + (f" ({OOV_TOKEN})" if t.status == "oov" else "")
        if t.step is None:
            tab.add_row(shown, surface, f"[dim]{t.status}[/dim]", *[""] * 5, style="dim")
            continue
        colour = "green" if t.evidence > 0 else "red"
        for d in ex.directions:
            s = summary[t.step][d]
            gates = [f"{s[k]:.2f}" for k in ("input_gate_mean", "forget_gate_mean", "output_gate_mean", "cell_norm")]
            if d == "forward":
                evidence = f"[{colour}]{t.evidence:+.3f}[/{colour}]"
                tab.add_row(shown, surface, evidence, f"{t.p_positive_after:.3f}{' →' if bi else ''}", *gates)
            else:
                tab.add_row("", "", "", "←", *gates)
    return tab


def _whose(ex: Explanation) -> str:
    """Which member's LSTM is shown, for an ensemble; '' for a single model."""
    if ex.n_members == 1:
        return ""
    reads = "" if ex.reads == "tokens" else f", which reads {ex.unit}s"
    weight = "" if abs(ex.member_weight * ex.n_members - 1) < 1e-6 else f", weight {ex.member_weight:.3f}"
    return f"; ensemble member {ex.member} of {ex.n_members} (counted from 0){reads}{weight}"


def _caption(ex: Explanation, layer: int) -> str:
    n_layers = ex.cell.shape[0]
    pre = ex.config.padding == "pre"
    lines = [
        f"evidence: P({ex.sentiment}) minus P({ex.sentiment}) with the {ex.unit} deleted; > 0 supports the prediction",
        "i, f, o: mean input, forget, output gate over the hidden units; |c|: cell-state norm"
        + (f" (layer {layer + 1} of {n_layers})" if n_layers > 1 else "")
        + _whose(ex),
    ]
    if len(ex.directions) > 1:
        lines.append(f"→: the left-to-right LSTM; ←: the right-to-left one, on the second line of each {ex.unit}")
    if ex.padding_steps:
        state = ex.padding_state(layer)
        pad = f"{ex.padding_steps} padding steps {'before the first' if pre else 'after the last'} {ex.unit}, not shown"
        if "forward" in state and pre:
            pad += f"; the forward direction enters the first {ex.unit} with |c| = {state['forward']:.2f}"
        if "backward" in state and pre and ex.readout == "last":  # pooled readouts skip padding steps
            pad += f"; the backward direction reads the padding last and hands the head |c| = {state['backward']:.2f}"
        lines.append(pad)
    return "\n".join(lines)


PER_ROW = 40  # columns of a heatmap row: a longer review wraps onto more rows


def plot(ex: Explanation, path: str | Path, layer: int = -1, units: int = 8) -> Path:
    """Write a heatmap PNG: the fed tokens (or the shown member's units) as columns, against evidence,
    P(positive) so far, the mean gates, the cell-state norm, and the cell values of the `units` units
    the head weighs most. Past `PER_ROW` columns the panels wrap onto further rows."""
    from ksent import plots

    fed = ex.fed
    n, steps, dirs = len(fed), [t.step for t in fed], ex.directions
    n_layers = ex.cell.shape[0]
    lyr = layer % n_layers
    tag = (lambda d: f" ({d})") if len(dirs) > 1 else (lambda d: "")
    labels = []
    for t in fed:
        surface = ex.text[t.start : t.end] if t.start is not None else None
        extra = [f"({surface})"] if surface and not surface.isspace() and surface != t.text else []
        shown = t.text.replace("▁", "_")  # subword pieces' word-start mark (U+2581): not in NanumGothic
        labels.append("\n".join([shown, *extra, *(["OOV"] if t.status == "oov" else [])]))

    evidence = np.array([[t.evidence for t in fed]])
    after = np.array([[t.p_positive_after for t in fed]])
    gate_names = ("input_gate", "forget_gate", "output_gate")
    gates = np.array([getattr(ex, g)[lyr, d, steps].mean(-1) for d in range(len(dirs)) for g in gate_names])
    gate_rows = [f"{g.replace('_', ' ')}{tag(d)}" for d in dirs for g in gate_names]
    norms = np.array([np.linalg.norm(ex.cell[lyr, d, steps], axis=-1) for d in range(len(dirs))])
    # the head's features, strongest first, each traced back to the top-layer unit it reads
    top = np.argsort(-np.abs(ex.contributions))[:units]
    memory = np.array([ex.cell[-1, ex.feature_units[f][1], steps, ex.feature_units[f][2]] for f in top])
    memory_rows = []
    for f in top:
        part, d, u = ex.feature_units[f]
        read = "" if part == "last" else f"{part} of "  # pooled: several features can read one unit
        memory_rows.append(f"{read}unit {u}{tag(dirs[d])}: {ex.contributions[f]:+.2f}")

    lim = max(float(np.abs(evidence).max()), 1e-6)
    mlim = max(float(np.abs(memory).max()), 1e-6)
    H = ex.cell.shape[-1]
    of_layer = f", layer {lyr + 1} of {n_layers}" if n_layers > 1 else ""
    whose = _whose(ex)
    panels = [  # (values, row labels, colour map, range, number format, title)
        (evidence, ["evidence"], "PiYG", (-lim, lim), ".2f", f"evidence for {ex.sentiment!r}: P drop when deleted"),
        (after, ["P(positive)"], "RdBu", (0.0, 1.0), ".2f", f"P(positive) if the review ended after this {ex.unit}"),
        (gates, gate_rows, "viridis", (0.0, 1.0), ".2f", f"gates, mean over the {H} hidden units{of_layer}{whose}"),
        (
            norms,
            [f"|c|{tag(d)}" for d in dirs],
            "magma",
            (0.0, max(float(norms.max()), 1e-6)),
            ".1f",
            f"cell state (long-term memory): norm{of_layer}{whose}",
        ),
        (
            memory,
            memory_rows,
            "PuOr",
            (-mlim, mlim),
            ".2f",
            "cell value of the units the head weighs most (row: "
            + ("unit" if ex.readout == "last" else f"{ex.readout} readout of a unit")
            + f", its share of the logit){whose}",
        ),
    ]
    # a long review (a syllable member reads up to 150 characters) wraps: the panels again for each
    # PER_ROW columns, under one another, instead of one picture hundreds of columns wide
    blocks = [(a, min(a + PER_ROW, n)) for a in range(0, n, PER_ROW)] or [(0, 0)]
    heights = [len(p[1]) + 0.6 for p in panels] * len(blocks)
    where = "before" if ex.config.padding == "pre" else "after"
    shown = ex.text if len(ex.text) <= 70 else ex.text[:67] + "..."
    with plots.korean_fonts():  # text takes its font when created: build and save inside
        fig, axes = plots.subplots(
            len(heights),
            1,
            figsize=(max(8.0, 0.9 * min(n, PER_ROW) + 4.0), 2.0 + 0.45 * sum(heights)),
            height_ratios=heights,
            layout="constrained",
        )
        for b, (a, z) in enumerate(blocks):
            part = f" — {ex.unit}s {a + 1}–{z} of {n}" if len(blocks) > 1 else ""
            for k, (data, rows, cmap, (lo, hi), fmt, title) in enumerate(panels):
                ax, cols = axes[b * len(panels) + k], data[:, a:z]
                im = ax.imshow(cols, aspect="auto", cmap=cmap, vmin=lo, vmax=hi)
                ax.set_yticks(range(len(rows)), rows, fontsize=9)
                last = k == len(panels) - 1  # the units' labels under each block's last panel
                ax.set_xticks(range(z - a), labels[a:z] if last else [""] * (z - a), fontsize=11)
                ax.set_title(title + part, fontsize=10, loc="left")
                if len(blocks) > 1:  # the last row's columns as wide as the others', not stretched
                    ax.set_xlim(-0.5, PER_ROW - 0.5)
                for (r, c), v in np.ndenumerate(cols):
                    red, green, blue, _ = im.cmap(im.norm(v))
                    light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.55
                    color = "black" if light else "white"
                    ax.text(c, r, format(v, fmt), ha="center", va="center", fontsize=8, color=color)
                fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01)
        fig.suptitle(
            f"{shown}\nP(positive) = {ex.p_positive:.3f}: {ex.sentiment}. "
            f"Columns: the {n} {ex.unit}s the model reads; {ex.padding_steps} padding steps {where} them not shown",
            fontsize=11,
        )
        return plots.save_png(fig, path, dpi=110)
