"""Chapter 6's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from monosem.figures import LABELS, MARK_STYLES, MONO_LABEL, log_ticks
from monosem.results import SweepResult


def loss_against_mono(results: dict[str, SweepResult], lines: dict[str, float] | None = None) -> Figure:
    """Final loss against final # mono / # features, one point per model and one colour per labelled result, each
    point labelled with the value its sweep varies; hollow markers: models that have not settled (paper Section 4.3:
    on the absolute-value task the more monosemantic basins have the lower loss). `lines`: labelled losses drawn as
    horizontal lines (e.g. the best constant output's)."""
    fig = Figure(figsize=(6.2, 4), layout="constrained")
    ax = fig.subplots()
    for j, (label, result) in enumerate(results.items()):
        color = f"C{j}"
        axis = result.sweep.axes[0][0] if result.sweep.axes else None
        mono, loss = result.mono_per_feature().numpy(), result.final_loss.numpy()
        ok = result.converged().numpy()
        ax.scatter(mono[ok], loss[ok], color=color, s=36, zorder=3, label=label)
        ax.scatter(mono[~ok], loss[~ok], facecolors="white", edgecolors=color, s=36, zorder=3)
        if axis is not None:
            for x, y, value in zip(mono, loss, result.values(axis), strict=True):
                ax.annotate(
                    f"{value:g}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize="x-small", color=color
                )
    for style, (label, value) in zip(MARK_STYLES, (lines or {}).items(), strict=False):
        ax.axhline(value, color="grey", ls=style, lw=0.9, label=label)
    ax.set_xlabel(MONO_LABEL)
    ax.set_ylabel("final loss")
    names = ", ".join(
        f"{label}: {LABELS.get(r.sweep.axes[0][0], r.sweep.axes[0][0])}" for label, r in results.items() if r.sweep.axes
    )
    ax.legend(fontsize="small", title=f"labels: {names}; hollow: not settled", title_fontsize="x-small")
    return fig


def final_against_models(series: dict[str, list[tuple[SweepResult, int]]], by: str, log_x: bool = True) -> Figure:
    """Final # mono / # features and final loss against the configuration field `by`, one line per labelled list of
    models, each a (result, instance) pair, so that a line can gather models that different sweeps trained (e.g. a
    Table 1 row whose model at one value is an instance of another row's sweep); hollow markers: models that have not
    settled."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    xs_all: set[float] = set()
    for j, (label, models) in enumerate(series.items()):
        color = f"C{j}"
        points = sorted((getattr(r.configs[i], by), r, i) for r, i in models)
        x = np.array([p[0] for p in points])
        xs_all.update(x.tolist())
        ok = np.array([bool(r.converged()[i]) for _, r, i in points], dtype=bool)
        values = (
            np.array([float(r.mono_per_feature()[i]) for _, r, i in points]),
            np.array([float(r.final_loss[i]) for _, r, i in points]),
        )
        for ax, y in zip(axes, values, strict=True):
            ax.plot(x, y, color=color, label=label)
            ax.plot(x[ok], y[ok], "o", color=color)
            ax.plot(x[~ok], y[~ok], "o", mfc="white", color=color)
    for ax, ylabel in zip(axes, (MONO_LABEL, "final loss"), strict=True):
        if log_x and xs_all:
            log_ticks(ax, sorted(xs_all))
        ax.set_xlabel(LABELS.get(by, by))
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize="small", title="hollow: not settled", title_fontsize="x-small")
    return fig
