"""Chapter 9's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator


def _jitter(n_points: int, width: float = 0.06) -> np.ndarray:
    """Fixed multiplicative offsets that spread a column of seeds' points on a log x axis."""
    return 2 ** (np.linspace(-width, width, n_points) if n_points > 1 else np.zeros(1))


def counts_against_m(
    n: int,
    ms: Sequence[int],
    series: dict[str, np.ndarray],
    settled: dict[str, np.ndarray] | None = None,
    predictions: bool = True,
    ylabel: str = "",
) -> Figure:
    """Counts against the number of neurons m (log-log; zero shown on a symmetric-log axis): each labelled series is
    (n_m, n_seeds), drawn as one dot per seed (hollow where `settled`, of the same shape, is False) and a line
    through the means over every seed. With `predictions`, the birthday
    counts for n features: n²/4m (Lecomte et al.), C(n, 2)/m (every chance collision kept) and
    m (1 - 2 (1 - 1/2m)^n + (1 - 1/m)^n) (at most one opposite-sign pair kept per neuron)."""
    from monosem.incidental import expected_colliding_pairs, expected_mixed_neurons, predicted

    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    ax = fig.subplots()
    x = np.asarray(ms, dtype=float)
    if predictions:
        fine = np.geomspace(x.min(), x.max(), 100)
        ax.plot(fine, [predicted(n, m) for m in fine], color="black", lw=1.6, label=r"$n^2/4m$ (Lecomte et al.)")
        ax.plot(
            fine,
            [expected_colliding_pairs(n, m) for m in fine],
            color="grey",
            ls="--",
            lw=1,
            label=r"$\binom{n}{2}/m$: every chance collision kept",
        )
        ax.plot(
            fine,
            [expected_mixed_neurons(n, m) for m in fine],
            color="grey",
            ls=":",
            lw=1.3,
            label="at most one opposite-sign pair per neuron",
        )
    for i, (label, values) in enumerate(series.items()):
        color = sns.color_palette()[i]
        values = np.asarray(values, dtype=float)
        ok = np.ones_like(values, dtype=bool) if settled is None else np.asarray(settled[label], dtype=bool)
        for j, m in enumerate(x):
            xs = m * _jitter(values.shape[1]) * 2 ** (0.05 * (i - (len(series) - 1) / 2))
            ax.plot(xs[ok[j]], values[j][ok[j]], "o", color=color, alpha=0.6, ms=3.5)
            ax.plot(xs[~ok[j]], values[j][~ok[j]], "o", mfc="white", color=color, alpha=0.8, ms=3.5)
        ax.plot(x, values.mean(1), "-", color=color, lw=1.8, label=f"{label} (mean; dots: seeds)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("symlog", linthresh=1)
    top = max(2.0, max(float(np.max(np.asarray(v, dtype=float))) for v in series.values()))
    ticks = [0, *(2**k for k in range(int(math.log2(top)) + 2))]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylim(-0.3, ticks[-1] * 1.2)
    ax.set_xticks(x, [str(int(m)) for m in x])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(f"neurons m (n = {n} features)")
    ax.set_ylabel(ylabel or "polysemantic neurons")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def neuron_weights(panels: dict[str, np.ndarray], threshold: float | None = None) -> Figure:
    """Final weights W (m, n) of chosen models, side by side (red positive, blue negative): features (columns)
    sorted by the neuron of their largest |weight|, neurons (rows) in the order they are first used, unused neurons
    left out; a black tick left of every neuron that carries two or more features (|weight| > threshold, by default
    the counter's `CARRY_THRESHOLD`)."""
    from monosem.incidental import CARRY_THRESHOLD

    threshold = CARRY_THRESHOLD if threshold is None else threshold
    fig = Figure(figsize=(4.2 * len(panels), 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (title, W) in zip(axes, panels.items(), strict=True):
        W = np.asarray(W, dtype=float)
        top = np.abs(W).argmax(0)
        cols = np.argsort(top, kind="stable")
        rows = list(dict.fromkeys(top[cols].tolist()))
        shown = W[np.ix_(rows, cols)]
        image = ax.imshow(shown, cmap="RdBu_r", vmin=-1.2, vmax=1.2, aspect="auto", interpolation="nearest")
        poly = np.flatnonzero((np.abs(shown) > threshold).sum(1) >= 2)
        ax.plot(np.full(len(poly), -1.5), poly, ">", color="black", ms=4, clip_on=False)
        ax.set_xlim(-2, shown.shape[1] - 0.5)
        ax.set_title(f"{title}: {len(poly)} polysemantic", fontsize="small")
        ax.set_xlabel("feature (sorted by its neuron)")
        ax.set_ylabel("neuron (used ones, in order)")
    fig.colorbar(image, ax=axes, label="weight", shrink=0.8)
    return fig


def count_traces(
    snap_steps: np.ndarray, counts: dict[str, np.ndarray], loss_steps: np.ndarray, losses: dict[str, np.ndarray]
) -> Figure:
    """Left: the loss (log scale) against log2 of the step; right: the number of polysemantic neurons at the
    snapshot steps (step 0 drawn at log2 = -1). Each labelled series holds one row per seed (thin lines)."""
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    snap_x = np.log2(np.maximum(np.asarray(snap_steps, dtype=float), 0.5))
    for i, label in enumerate(counts):
        color = sns.color_palette()[i]
        rows = zip(np.asarray(losses[label], dtype=float), np.asarray(counts[label], dtype=float), strict=True)
        for j, (loss, count) in enumerate(rows):
            axes[0].plot(
                np.log2(np.asarray(loss_steps) + 1),
                loss,
                color=color,
                lw=0.8,
                alpha=0.8,
                label=label if j == 0 else None,
            )
            axes[1].plot(snap_x, count, color=color, lw=0.9, alpha=0.8, marker=".", label=label if j == 0 else None)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("loss")
    axes[1].set_ylabel("polysemantic neurons")
    for ax in axes:
        ax.set_xlabel(r"$\log_2$ step")
    axes[1].legend(fontsize="x-small")
    return fig
