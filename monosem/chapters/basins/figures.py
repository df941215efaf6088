"""Chapter 1's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from monosem.figures import LABELS, MONO_LABEL, color_scale
from monosem.metrics import MONO_THRESHOLD, is_monosemantic
from monosem.results import SETTLE_LOSS, SETTLE_MONO, SweepResult


def bias_vs_monosemanticity(result: SweepResult, indices: Sequence[int] | None = None, by: str = "lr") -> Figure:
    """Final bias of every neuron against its monosemanticity r_i, one panel per instance (paper Fig. 5)."""
    indices = list(range(len(result.configs))) if indices is None else list(indices)
    cols = min(3, len(indices))
    rows = math.ceil(len(indices) / cols)
    fig = Figure(figsize=(3.8 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    for ax, i in zip(axes.flat, indices, strict=False):
        r, b = result.r[i].numpy(), result.b_in[i].numpy()
        mono = is_monosemantic(result.r[i]).numpy()
        ax.scatter(r[~mono], b[~mono], s=6, alpha=0.5, color="tab:blue", label="polysemantic")
        ax.scatter(r[mono], b[mono], s=6, alpha=0.5, color="tab:orange", label=f"$r_i > {MONO_THRESHOLD}$")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"{LABELS.get(by, by)} = {result.values(by)[i]:g}")
        ax.set_xlabel(r"monosemanticity $r_i$")
        ax.set_ylabel("bias $b_i$")
    for ax in axes.flat[len(indices) :]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper left", fontsize="small", markerscale=2)
    return fig


def r_distribution(result: SweepResult, index: int) -> Figure:
    """The cumulative fraction of neurons with r_i < r_t against the threshold r_t, at every snapshot of one
    model, coloured by log2(step) (paper Fig. 2): the jump at r_t = 1 is the monosemantic population."""
    if result.snap_r is None:
        raise ValueError(
            f"the result of sweep {result.sweep.name!r} has no r_i snapshots (cached before they were kept)"
        )
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    ax = fig.subplots()
    steps = np.log2(result.snap_steps.numpy())
    cmap, norm = color_scale(list(steps), log=False)
    for j, step in enumerate(steps):
        r = np.sort(result.snap_r[index, j].numpy())
        ax.plot(r, np.arange(1, len(r) + 1) / len(r), color=cmap(norm(step)), lw=1)
    ax.axvline(MONO_THRESHOLD, color="black", ls="--", lw=0.8)
    ax.set_xlabel(r"threshold monosemanticity $r_t$")
    ax.set_ylabel(r"fraction of neurons with $r_i < r_t$")
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=r"$\log_2$ step")
    return fig


def bias_by_rank(result: SweepResult, indices: Sequence[int], by: str = "lr") -> Figure:
    """Final bias of every neuron with neurons sorted by decreasing monosemanticity r_i, one line per chosen
    instance (the paper's Fig. 5)."""
    fig = Figure(figsize=(6, 3.4), layout="constrained")
    ax = fig.subplots()
    values = result.values(by)
    cmap, norm = color_scale([values[i] for i in indices], log=by == "lr")
    for i in indices:
        order = np.argsort(-result.r[i].numpy(), kind="stable")
        ax.plot(
            result.b_in[i].numpy()[order],
            color=cmap(norm(values[i])),
            lw=1,
            label=f"{LABELS.get(by, by)} {values[i]:g}",
        )
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel(r"neuron (sorted by decreasing $r_i$)")
    ax.set_ylabel("final bias")
    ax.legend(fontsize="small")
    return fig


def settling_changes(table: pd.DataFrame) -> Figure:
    """The settledness rule at work (chapter 1): per model, the change of the held-out loss (relative, symlog) and
    of # mono / # features over a continuation at the model's own lr (circles: the models that had settled at the
    end of their run, the only ones continued, which should still be called settled) and over the
    doubling T/4 -> T/2 (crosses: red where the model was still learning then, and should be called unsettled;
    grey where not), with the box in which the rule calls a model settled (SETTLE_LOSS, SETTLE_MONO). `table`:
    `monosem.settling.table`'s columns."""
    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.add_patch(
        Rectangle(
            (-SETTLE_LOSS, -SETTLE_MONO),
            2 * SETTLE_LOSS,
            2 * SETTLE_MONO,
            color="tab:green",
            alpha=0.15,
            lw=0,
            label="settled (if learned)",
        )
    )
    continued = table["continued: loss change"].notna().to_numpy(bool)
    if continued.any():
        ax.scatter(
            table["continued: loss change"][continued],
            table["continued: mono change"][continued],
            marker="o",
            color="tab:blue",
            label="continued (settled at T)",
        )
    learning = table["still learning at T/2"].to_numpy(bool)
    for mask, label, color in ((learning, "T/4 -> T/2, still learning", "tab:red"), (~learning, "T/4 -> T/2", "0.5")):
        if not mask.any():
            continue
        ax.scatter(
            table["T/4 -> T/2: loss change"][mask],
            table["T/4 -> T/2: mono change"][mask],
            marker="x",
            color=color,
            label=label,
        )
    ax.set_xscale("symlog", linthresh=SETTLE_LOSS / 10)
    ax.set_xlabel("held-out loss change (relative)")
    ax.set_ylabel(f"change of {MONO_LABEL}")
    ax.legend(fontsize="small")
    return fig
