"""Chapter 7's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from monosem.figures import LABELS, log_ticks

CURVE_STYLES = {
    "total": {"color": "tab:blue", "lw": 1.8},
    "negative-bias part": {"color": "tab:orange", "lw": 1.3},
    "positive-bias part": {"color": "tab:green", "lw": 1.3},
    "best read-out estimate": {"color": "tab:red", "lw": 1.3, "ls": "--"},
}


def feature_curves(panels: Sequence[tuple[str, np.ndarray, dict[str, np.ndarray], Sequence[float]]]) -> Figure:
    """The output on a feature of that feature alone against its amplitude, one panel per (title, amplitudes,
    curves by label, kinks): the paper's Fig. 24-25, with the identity dotted and the kinks as grey lines."""
    cols = min(2, max(1, len(panels)))
    rows = max(1, math.ceil(len(panels) / cols))
    fig = Figure(figsize=(4.4 * cols, 3.3 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no feature has a monosemantic neuron\nin this model", ha="center", va="center")
    for ax, (title, amplitudes, curves, kinks) in zip(axes.flat, panels, strict=False):
        a = np.asarray(amplitudes)
        for label, y in curves.items():
            ax.plot(a, np.asarray(y), label=label, **CURVE_STYLES.get(label, {}))
        ax.plot([0, 1], [0, 1], color="black", ls=":", lw=1, label="truth (identity)")
        for k in kinks:
            ax.axvline(k, color="grey", ls=":", lw=0.8)
        ax.set_title(title, fontsize="medium")
    for ax in axes.flat[max(1, len(panels)) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("input feature amplitude")
    for ax in axes[:, 0]:
        ax.set_ylabel("output amplitude")
    if panels:
        axes[0, 0].legend(fontsize="x-small", loc="upper left")
    return fig


def kinks_by_density(
    by_lr: dict[str, dict[float, tuple[float, bool]]],
    shown: dict[str, tuple[np.ndarray, np.ndarray]],
    paper: dict[str, tuple[float, float]],
    optimum: dict[str, tuple[float, float]] | None = None,
) -> Figure:
    """Left: the median threshold of the one-neuron features against the learning rate, one line per labelled
    density (`by_lr[label][lr] = (median, testable)`; hollow markers: the model cannot be tested). Right: every
    threshold (histogram) and every second kink (ticks) of the models shown (`shown[label] = (thresholds, second
    kinks)`). Dashed: the paper's (threshold, second kink) per density; dash-dotted: the optimum at this scale."""
    fig = Figure(figsize=(10, 3.5), layout="constrained")
    axes = fig.subplots(1, 2)
    colors = dict(zip(by_lr, ("tab:blue", "tab:purple", "tab:brown"), strict=False))
    for label, points in by_lr.items():
        lrs = sorted(points)
        med = [points[lr][0] for lr in lrs]
        axes[0].plot(lrs, med, color=colors[label], label=label)
        for lr, m in zip(lrs, med, strict=True):
            filled = points[lr][1]
            axes[0].plot(lr, m, "o", color=colors[label], mfc=colors[label] if filled else "white")
        axes[0].axhline(paper[label][0], color=colors[label], ls="--", lw=0.8)
        if optimum:
            axes[0].axhline(optimum[label][0], color=colors[label], ls="-.", lw=0.8)
    lrs = sorted({lr for points in by_lr.values() for lr in points})
    if lrs:
        log_ticks(axes[0], lrs)
    axes[0].set_xlabel(LABELS["lr"])
    axes[0].set_ylabel("median threshold")
    title = "dashed: paper; " + ("dash-dotted: optimum here;\n" if optimum else "") + "hollow: cannot be tested"
    axes[0].legend(fontsize="small", title=title, title_fontsize="x-small")
    bins = np.linspace(0, 1, 41)
    for label, (first, second) in shown.items():
        axes[1].hist(np.asarray(first), bins=bins, color=colors[label], alpha=0.45, label=f"{label}: thresholds")
        if len(second):
            tag = f"{label}: second kinks"
            axes[1].plot(np.asarray(second), np.zeros(len(second)), "|", color=colors[label], ms=18, mew=2, label=tag)
        for value in paper[label]:
            axes[1].axvline(value, color=colors[label], ls="--", lw=0.8)
        for value in (optimum or {}).get(label, ()):
            axes[1].axvline(value, color=colors[label], ls="-.", lw=0.8)
    axes[1].set_xlim(0, 1)
    axes[1].set_xlabel("input amplitude of the kink")
    axes[1].set_ylabel("features")
    axes[1].legend(fontsize="x-small")
    return fig


def polysemantic_map(
    linear: np.ndarray,
    singular_values: dict[str, np.ndarray],
    slopes: np.ndarray,
    d: int,
    slope_range: tuple[float, float],
) -> Figure:
    """The positive-bias neurons as a linear map (paper Fig. 26): the map from input to output features (left),
    its singular values, one line per labelled model, with d marked (middle), and the slope it adds to each
    feature's own output, with the paper's range shaded (right)."""
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=(1.15, 1, 1))
    m = np.asarray(linear)
    vmax = max(float(np.quantile(np.abs(m), 0.999)), 1e-6)
    image = axes[0].imshow(m.T, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
    axes[0].set_xlabel("input feature")
    axes[0].set_ylabel("output feature")
    fig.colorbar(image, ax=axes[0], shrink=0.85)
    for label, sv in singular_values.items():
        axes[1].plot(np.arange(1, len(sv) + 1), np.asarray(sv), marker=".", ms=3, lw=0.8, label=label)
    axes[1].axvline(d + 0.5, color="black", ls="--", lw=0.8, label=f"d = {d}")
    axes[1].axhline(1, color="grey", ls=":", lw=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("index (descending)")
    axes[1].set_ylabel("singular value")
    axes[1].legend(fontsize="x-small")
    axes[2].hist(np.asarray(slopes), bins=30, color="tab:green", alpha=0.7)
    axes[2].axvspan(*slope_range, color="grey", alpha=0.2, label="paper's range")
    axes[2].set_xlabel("slope added to the feature's own output")
    axes[2].set_ylabel("features")
    axes[2].legend(fontsize="x-small")
    return fig
