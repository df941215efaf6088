"""Chapter 2's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from monosem.figures import LABELS, MONO_LABEL, by_value, color_scale, heatmaps, median_line
from monosem.metrics import POSITIVE_BIAS, mono_fraction, n_positive_bias
from monosem.results import SweepResult


def compare_heatmaps(results: dict[str, SweepResult], **where: float) -> Figure:
    """Single-feature activations of the instance matching `where` (e.g. lr=0.005) in each labelled result,
    side by side."""
    setting = ", ".join(f"{LABELS.get(k, k)} = {v:g}" for k, v in where.items())
    return heatmaps([(r, r.index(**where), f"{label}, {setting}") for label, r in results.items()])


def mono_traces(results: dict[str, SweepResult], by: str = "lr") -> Figure:
    """# mono / # features against log2(step), one panel per labelled result, one line per value of `by`
    (median over seeds, with their range as a band): the paper's Fig. 1, zero bias beside negative bias."""
    fig = Figure(figsize=(4.6 * len(results), 3.4), layout="constrained")
    axes = fig.subplots(1, len(results), squeeze=False, sharey=True)[0]
    allvalues = [v for r in results.values() for v in r.values(by)]
    cmap, norm = color_scale(allvalues, log=by == "lr")
    for ax, (label, result) in zip(axes, results.items(), strict=True):
        x = np.log2(result.snap_steps.numpy())
        xs, mid, lo, hi = by_value(result, by, result.snap_mono.numpy())
        for value, m, a, b in zip(xs, mid, lo, hi, strict=True):
            color = cmap(norm(value))
            ax.plot(x, m, color=color, marker=".")
            ax.fill_between(x, a, b, color=color, alpha=0.2, lw=0)
        ax.set_title(label)
        ax.set_xlabel(r"$\log_2$ step")
    axes[0].set_ylabel(MONO_LABEL)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=LABELS.get(by, by), pad=0.01)
    return fig


def against_bias(results: dict[str, SweepResult]) -> Figure:
    """# mono / # features (top) and the fraction of neurons that are monosemantic (bottom) against the
    initial mean bias, one column per labelled result, with a dashed line at each result's -sqrt(eps)
    (paper Fig. 8-9)."""
    fig = Figure(figsize=(3.1 * len(results), 5.2), layout="constrained")
    axes = fig.subplots(2, len(results), squeeze=False, sharex=True, sharey="row")
    for col, (label, result) in enumerate(results.items()):
        median_line(axes[0, col], result, "init_bias", result.mono_per_feature().numpy())
        median_line(axes[1, col], result, "init_bias", mono_fraction(result.r).numpy(), color="tab:green")
        n_seeds = len(set(result.values("seed")))
        axes[0, col].set_title(label + (f"\n{n_seeds} seeds: median, range" if n_seeds > 1 else ""))
        axes[1, col].set_xlabel("initial mean bias")
        for ax in axes[:, col]:
            ax.set_xscale("symlog", linthresh=0.05)
            ax.axvline(-math.sqrt(result.configs[0].eps), color="black", ls="--", lw=0.8)
    axes[0, 0].set_ylabel(MONO_LABEL)
    axes[1, 0].set_ylabel("fraction of neurons monosemantic")
    return fig


def metric_grid(result: SweepResult, x: str, hue: str, mark: float | None = None, mark_label: str = "") -> Figure:
    """Final # mono / # features and final loss against the swept field `x`, one line per value of `hue`,
    for a sweep over a grid of two fields (e.g. the GeLU sweep over lr and initial bias); with several seeds, the
    median and a band over them."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    hues = result.values(hue)
    cmap, norm = color_scale(hues, log=hue == "lr")
    for value in sorted(set(hues)):
        idx = [i for i, h in enumerate(hues) if h == value]
        label = f"{LABELS.get(hue, hue)} = {value:g}"
        for ax, values in zip(axes, (result.mono_per_feature().numpy(), result.final_loss.numpy()), strict=True):
            median_line(ax, result, x, values, idx, color=cmap(norm(value)), label=label)
    for ax, ylabel in zip(axes, (MONO_LABEL, "final loss"), strict=True):
        ax.set_xlabel(LABELS.get(x, x))
        ax.set_ylabel(ylabel)
        if mark is not None:
            ax.axvline(mark, color="black", ls="--", lw=0.8, label=mark_label or None)
    axes[0].legend(fontsize="small")
    return fig


def sorted_biases(results: dict[str, SweepResult], threshold: float = POSITIVE_BIAS) -> Figure:
    """Final biases of every model, sorted, one panel per labelled result, with the threshold that counts a
    neuron as positive-bias (polysemantic) and the number above it (paper Fig. 11)."""
    fig = Figure(figsize=(4 * len(results), 3.4), layout="constrained")
    axes = fig.subplots(1, len(results), squeeze=False)
    for ax, (label, result) in zip(axes[0], results.items(), strict=True):
        lrs = result.values("lr")
        cmap, norm = color_scale(lrs, log=True)
        for i, lr in enumerate(lrs):
            b = result.b_in[i].sort(descending=True).values.numpy()
            count = int(n_positive_bias(result.b_in[i], threshold))
            first = result.values("lr").index(lr) == i  # one legend entry per lr, not per seed
            ax.plot(b, color=cmap(norm(lr)), lw=1, label=f"lr {lr:g}: {count} above" if first else "_nolegend_")
        d = result.configs[0].d_embed
        ax.axhline(threshold, color="black", ls="--", lw=0.8)
        ax.set_xscale("symlog", linthresh=10)
        ax.set_title(f"{label} (d = {d}, d + 1 = {d + 1})")
        ax.set_xlabel("neuron (sorted by bias)")
        ax.set_ylabel("final bias")
        ax.legend(fontsize="x-small")
    return fig
