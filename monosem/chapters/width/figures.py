"""Chapter 4's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from monosem.figures import MONO_LABEL, color_scale
from monosem.metrics import mono_fraction
from monosem.results import Instance


def width_traces(rows: dict[str, dict[int, Instance]]) -> Figure:
    """Loss, # mono / # features and mean bias against log2(step), one row of panels per labelled family of
    models and one line per width k, coloured by log2 k (paper Fig. 15-16)."""
    ks = sorted({k for models in rows.values() for k in models})
    cmap, norm = color_scale([math.log2(k) for k in ks], log=False)
    fig = Figure(figsize=(12, 2.9 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), 3, squeeze=False, sharex=True)
    for ax_row, (label, models) in zip(axes, rows.items(), strict=True):
        for k, (result, i) in sorted(models.items()):
            color = cmap(norm(math.log2(k)))
            snap_x = np.log2(result.snap_steps.numpy())
            ax_row[0].plot(np.log2(result.loss_steps.numpy() + 1), result.loss[i].numpy(), color=color, lw=0.7)
            ax_row[1].plot(snap_x, result.snap_mono[i].numpy(), color=color, marker=".")
            ax_row[2].plot(snap_x, result.snap_bias[i].numpy(), color=color, marker=".")
        ax_row[0].set_yscale("log")
        ax_row[0].set_title(label, loc="left", fontsize="medium")
        for ax, ylabel in zip(ax_row, ("loss", MONO_LABEL, "mean bias"), strict=True):
            ax.set_ylabel(ylabel)
    for ax in axes[-1]:
        ax.set_xlabel(r"$\log_2$ step")
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, pad=0.01, label="k (neurons)")
    bar.set_ticks([math.log2(k) for k in ks], labels=[str(k) for k in ks])
    return fig


WIDTH_METRICS = {
    "mono": (MONO_LABEL, lambda r, i: float(r.mono_per_feature()[i])),
    "fraction": ("fraction of neurons monosemantic", lambda r, i: float(mono_fraction(r.r[i]))),
    "loss": ("final loss", lambda r, i: float(r.final_loss[i])),
}


def against_width(
    series: dict[str, dict[int, Instance]], n_features: int, metrics: Sequence[str] = ("mono", "fraction", "loss")
) -> Figure:
    """Final values against the number of neurons k (log2 axis), one line per labelled family of models (a single
    model: a marker), with a dotted line at k = N (paper Fig. 17). metrics: any of "mono" (# mono / # features),
    "fraction" (of neurons monosemantic) and "loss" (log scale). Hollow markers: the model has not settled (the rule
    of `monosem.results.settled`)."""
    fig = Figure(figsize=(4.2 * len(metrics), 3.5), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    ks = sorted({k for models in series.values() for k in models})
    for j, (label, models) in enumerate(series.items()):
        color = f"C{j}"
        points = sorted(models.items())
        x = [k for k, _ in points]
        settled = np.array([bool(r.converged()[i]) for _, (r, i) in points])
        for ax, metric in zip(axes, metrics, strict=True):
            y = np.array([WIDTH_METRICS[metric][1](r, i) for _, (r, i) in points])
            if len(points) > 1:
                ax.plot(x, y, color=color, lw=1.2, label=label)
            xa = np.array(x)
            # a family of one model gets its legend entry from its marker, filled or hollow
            one = label if len(points) == 1 else "_nolegend_"
            filled, hollow = (one, "_nolegend_") if settled.any() else ("_nolegend_", one)
            ax.scatter(xa[settled], y[settled], color=color, s=30, zorder=3, label=filled)
            ax.scatter(xa[~settled], y[~settled], facecolors="white", edgecolors=color, s=30, zorder=3, label=hollow)
    for ax, metric in zip(axes, metrics, strict=True):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(ks))
        ax.xaxis.set_major_formatter(FixedFormatter([str(k) for k in ks]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.axvline(n_features, color="black", ls=":", lw=0.8)
        ax.set_xlabel("k (neurons)")
        ax.set_ylabel(WIDTH_METRICS[metric][0])
        if metric == "loss":
            ax.set_yscale("log")
    axes[0].legend(
        fontsize="x-small", title=f"dotted: k = N = {n_features}; hollow: not settled", title_fontsize="x-small"
    )
    return fig
