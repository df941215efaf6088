"""Chapter 3's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.figure import Figure

from monosem.figures import LABELS, MONO_LABEL, heatmaps, log_ticks
from monosem.results import SweepResult

# Fixed colours of the reference models drawn beside a sweep (Fig. 14 draws its negative-bias model in red).
REFERENCE_COLORS = ("tab:red", "dimgray", "black")


def against_strength(
    results: dict[str, SweepResult], references: dict[str, tuple[SweepResult, Sequence[int]]], by: str = "l1"
) -> Figure:
    """Final # mono / # features (left) and final loss (right) against the (positive) swept strength `by` on a log
    axis, one line per labelled result, hollow markers where the model has not settled; each labelled reference
    (a result and its instances, e.g. the seeds of a model without the penalty) as a horizontal line at their median
    with their range as a band."""
    fig = Figure(figsize=(10, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    xs_all: set[float] = set()
    for j, (label, result) in enumerate(results.items()):
        values = np.array(result.values(by), dtype=float)
        idx = np.flatnonzero(values > 0)
        idx = idx[np.argsort(values[idx])]
        x, ok = values[idx], result.converged().numpy()[idx]
        xs_all.update(x.tolist())
        for ax, y in zip(axes, (result.mono_per_feature().numpy()[idx], result.final_loss.numpy()[idx]), strict=True):
            ax.plot(x, y, color=f"C{j}", lw=1.2, label=label)
            ax.scatter(x[ok], y[ok], color=f"C{j}", s=30, zorder=3)
            ax.scatter(x[~ok], y[~ok], facecolors="white", edgecolors=f"C{j}", s=30, zorder=3)
    for color, (label, (result, indices)) in zip(REFERENCE_COLORS, references.items(), strict=False):
        indices = list(indices)
        for ax, y in zip(axes, (result.mono_per_feature().numpy(), result.final_loss.numpy()), strict=True):
            y = y[indices]
            ax.axhline(float(np.median(y)), color=color, ls="--", lw=1, label=label)
            if len(indices) > 1:
                ax.axhspan(float(y.min()), float(y.max()), color=color, alpha=0.12, lw=0)
    for ax, ylabel in zip(axes, (MONO_LABEL, "final loss"), strict=True):
        log_ticks(ax, sorted(xs_all))
        ax.set_xlabel(LABELS.get(by, by))
        ax.set_ylabel(ylabel)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=3,
        fontsize="x-small",
        title="dashed: no penalty (band: its seeds' range); hollow markers: not settled",
        title_fontsize="x-small",
    )
    return fig


def strength_traces(result: SweepResult, references: dict[str, tuple[SweepResult, int]], by: str = "l1") -> Figure:
    """Loss, # mono / # features and mean bias against log2(step) for the instances of `result` with a positive
    `by`, coloured by it on a log scale, and each labelled reference model in a fixed colour (paper Fig. 14: the L1
    models in blue, the negative-bias model in red)."""
    values = result.values(by)
    shown = [i for i, v in enumerate(values) if v > 0]
    cmap = matplotlib.colormaps["Blues"]
    norm = mcolors.LogNorm(min(values[i] for i in shown), max(values[i] for i in shown))
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    lines = [(result, i, cmap(0.3 + 0.7 * float(norm(values[i]))), None, 0.9) for i in shown]
    lines += [
        (r, i, color, label, 1.6) for color, (label, (r, i)) in zip(REFERENCE_COLORS, references.items(), strict=False)
    ]
    for r, i, color, label, lw in lines:
        axes[0].plot(np.log2(r.loss_steps.numpy() + 1), r.loss[i].numpy(), color=color, lw=lw * 0.8, label=label)
        snap_x = np.log2(r.snap_steps.numpy())
        axes[1].plot(snap_x, r.snap_mono[i].numpy(), color=color, lw=lw, marker=".", label=label)
        axes[2].plot(snap_x, r.snap_bias[i].numpy(), color=color, lw=lw, marker=".", label=label)
    axes[0].set_yscale("log")
    for ax, ylabel in zip(axes, ("task loss", MONO_LABEL, "mean bias"), strict=True):
        ax.set_xlabel(r"$\log_2$ step")
        ax.set_ylabel(ylabel)
    axes[1].legend(fontsize="x-small")
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=LABELS.get(by, by), pad=0.01)
    return fig


def instance_heatmaps(panels: dict[str, tuple[SweepResult, int]]) -> Figure:
    """Single-feature activations of chosen models (a result and an instance index each), side by side, sorted as
    in `activation_heatmaps`, titled by their labels."""
    return heatmaps([(result, i, label) for label, (result, i) in panels.items()])
