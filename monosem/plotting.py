"""Figures for the book. Every function takes results and returns a `matplotlib.figure.Figure`; none shows,
saves or changes global style, except `use_book_style`, which the chapters call once. Figures are made
without pyplot, so a notebook displays each exactly once (as the value of its cell) and none lingers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from torch import Tensor

from monosem.metrics import (
    MONO_THRESHOLD,
    POSITIVE_BIAS,
    display_order,
    is_monosemantic,
    mono_fraction,
    n_monosemantic,
    n_positive_bias,
)
from monosem.results import SETTLE_LOSS, SETTLE_MONO, SweepResult

LABELS = {
    "lr": "learning rate",
    "init_bias": "initial mean bias",
    "bias_decay": "bias decay",
    "eps": r"feature density $\epsilon$",
    "l1": "L1 strength",
    "seed": "seed",
}
MONO_LABEL = "# mono neurons / # features"


def use_book_style() -> None:
    """The book's one global style setting: seaborn's theme, untruncated tables, and (inside a notebook)
    figures displayed as PNG when they are a cell's value."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9)
    pd.set_option("display.max_colwidth", None)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("png", dpi=110, bbox_inches="tight")


def _color_scale(values: Sequence[float], log: bool) -> tuple[mcolors.Colormap, mcolors.Normalize]:
    lo, hi = min(values), max(values)
    if lo == hi:
        hi = lo + 1
    norm = mcolors.LogNorm(lo, hi) if log and lo > 0 else mcolors.Normalize(lo, hi)
    return matplotlib.colormaps["viridis"], norm


def training_traces(result: SweepResult, by: str = "lr", log_color: bool = True) -> Figure:
    """Loss, # mono / # features and mean bias against log2(step), one line per instance coloured by `by`
    (paper Fig. 3 and 6)."""
    values = result.values(by)
    cmap, norm = _color_scale(values, log_color)
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    loss_x = np.log2(result.loss_steps.numpy() + 1)
    snap_x = np.log2(result.snap_steps.numpy())
    for i, value in enumerate(values):
        color = cmap(norm(value))
        axes[0].plot(loss_x, result.loss[i].numpy(), color=color, lw=0.8)
        axes[1].plot(snap_x, result.snap_mono[i].numpy(), color=color, marker=".")
        axes[2].plot(snap_x, result.snap_bias[i].numpy(), color=color, marker=".")
    axes[0].set_yscale("log")
    for ax, label in zip(axes, ("loss", MONO_LABEL, "mean bias"), strict=True):
        ax.set_xlabel(r"$\log_2$ step")
        ax.set_ylabel(label)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=LABELS.get(by, by), pad=0.01)
    return fig


def activation_heatmaps(result: SweepResult, indices: Sequence[int], by: str = "lr") -> Figure:
    """Single-feature activations h_i(F_j) of the chosen instances, neurons sorted by monosemanticity r_i and
    features by the neuron they activate most (paper Fig. 4)."""
    return _heatmaps([(result, i, f"{LABELS.get(by, by)} = {result.values(by)[i]:g}") for i in indices])


def compare_heatmaps(results: dict[str, SweepResult], **where: float) -> Figure:
    """Single-feature activations of the instance matching `where` (e.g. lr=0.005) in each labelled result,
    side by side."""
    setting = ", ".join(f"{LABELS.get(k, k)} = {v:g}" for k, v in where.items())
    return _heatmaps([(r, r.index(**where), f"{label}, {setting}") for label, r in results.items()])


def _heatmaps(panels: list[tuple[SweepResult, int, str]]) -> Figure:
    fig = Figure(figsize=(4.2 * len(panels), 4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)
    activations = {id(r): r.activations() for r, _, _ in panels}  # once per result, not per panel
    for ax, (result, i, title) in zip(axes[0], panels, strict=True):
        acts = activations[id(result)][i]
        neurons, features = display_order(acts, result.r[i])
        matrix = acts[neurons][:, features].clamp(min=0).numpy()
        image = ax.imshow(matrix, aspect="auto", cmap="magma", interpolation="nearest", vmin=0)
        n_mono = int(n_monosemantic(result.r[i]))
        ax.set_title(f"{title}\n{n_mono} monosemantic neurons")
        ax.set_xlabel("feature (sorted by top neuron)")
        ax.set_ylabel(r"neuron (sorted by $r_i$)")
        fig.colorbar(image, ax=ax, label=r"$h_i(F_j)$", shrink=0.8)
    return fig


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


def _by_value(
    result: SweepResult, by: str, values: np.ndarray, among: list[int] | None = None
) -> tuple[list[float], np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct value of `by` (ascending): the median, min and max of `values` over the other instances
    (the seeds), among the instances `among` (default: all)."""
    keys = result.values(by)
    among = list(range(len(keys))) if among is None else among
    xs = sorted({keys[i] for i in among})
    groups = [values[[i for i in among if keys[i] == x]] for x in xs]
    return xs, *(np.array([f(g, axis=0) for g in groups]) for f in (np.median, np.min, np.max))


def _median_line(ax: Axes, result: SweepResult, by: str, values: np.ndarray, among=None, **style) -> None:
    """`values` against `by`: the median over seeds, and their range as a band where there are several."""
    xs, mid, lo, hi = _by_value(result, by, values, among)
    (line,) = ax.plot(xs, mid, marker="o", **style)
    if len(set(result.values("seed"))) > 1:
        ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def log_ticks(ax: Axes, values: list[float]) -> None:
    """A log x axis ticked at exactly the swept values, labelled as plain numbers (no overlapping 10^x minor
    labels), turned so that close values stay readable."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(values))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in values]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.tick_params(axis="x", labelrotation=45)


def final_against(results: dict[str, SweepResult], by: str = "lr", log_x: bool = True) -> Figure:
    """Final # mono / # features and final loss against the swept value, one line per labelled result (paper
    Fig. 1). Where a result has several seeds, the line is their median and the band their range."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for label, result in results.items():
        n_seeds = len(set(result.values("seed")))
        tag = f"{label}, {n_seeds} seeds: median, range" if n_seeds > 1 else label
        for ax, values in zip(axes, (result.mono_per_feature().numpy(), result.final_loss.numpy()), strict=True):
            _median_line(ax, result, by, values, label=tag)
    xs = sorted({x for result in results.values() for x in result.values(by)})
    for ax, ylabel in zip(axes, (MONO_LABEL, "final loss"), strict=True):
        if log_x:
            log_ticks(ax, xs)
        ax.set_xlabel(LABELS.get(by, by))
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize="small")
    return fig


def mono_traces(results: dict[str, SweepResult], by: str = "lr") -> Figure:
    """# mono / # features against log2(step), one panel per labelled result, one line per value of `by`
    (median over seeds, with their range as a band): the paper's Fig. 1, zero bias beside negative bias."""
    fig = Figure(figsize=(4.6 * len(results), 3.4), layout="constrained")
    axes = fig.subplots(1, len(results), squeeze=False, sharey=True)[0]
    allvalues = [v for r in results.values() for v in r.values(by)]
    cmap, norm = _color_scale(allvalues, log=by == "lr")
    for ax, (label, result) in zip(axes, results.items(), strict=True):
        x = np.log2(result.snap_steps.numpy())
        xs, mid, lo, hi = _by_value(result, by, result.snap_mono.numpy())
        for value, m, a, b in zip(xs, mid, lo, hi, strict=True):
            color = cmap(norm(value))
            ax.plot(x, m, color=color, marker=".")
            ax.fill_between(x, a, b, color=color, alpha=0.2, lw=0)
        ax.set_title(label)
        ax.set_xlabel(r"$\log_2$ step")
    axes[0].set_ylabel(MONO_LABEL)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=LABELS.get(by, by), pad=0.01)
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
    cmap, norm = _color_scale(list(steps), log=False)
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
    cmap, norm = _color_scale([values[i] for i in indices], log=by == "lr")
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
    of # mono / # features over a continuation at the model's own lr (circles, filled where the model had settled
    at the end of its run: those should still be called settled) and over the
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
    was_settled = table["settled at T"].to_numpy(bool)
    for mask, label, face in (
        (was_settled, "continued, settled at T", "tab:blue"),
        (~was_settled, "continued", "none"),
    ):
        if mask.any():
            ax.scatter(
                table["continued: loss change"][mask],
                table["continued: mono change"][mask],
                marker="o",
                facecolors=face,
                edgecolors="tab:blue",
                label=label,
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


def against_bias(results: dict[str, SweepResult]) -> Figure:
    """# mono / # features (top) and the fraction of neurons that are monosemantic (bottom) against the
    initial mean bias, one column per labelled result, with a dashed line at each result's -sqrt(eps)
    (paper Fig. 8-9)."""
    fig = Figure(figsize=(3.1 * len(results), 5.2), layout="constrained")
    axes = fig.subplots(2, len(results), squeeze=False, sharex=True, sharey="row")
    for col, (label, result) in enumerate(results.items()):
        _median_line(axes[0, col], result, "init_bias", result.mono_per_feature().numpy())
        _median_line(axes[1, col], result, "init_bias", mono_fraction(result.r).numpy(), color="tab:green")
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
    cmap, norm = _color_scale(hues, log=hue == "lr")
    for value in sorted(set(hues)):
        idx = [i for i, h in enumerate(hues) if h == value]
        label = f"{LABELS.get(hue, hue)} = {value:g}"
        for ax, values in zip(axes, (result.mono_per_feature().numpy(), result.final_loss.numpy()), strict=True):
            _median_line(ax, result, x, values, idx, color=cmap(norm(value)), label=label)
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
        cmap, norm = _color_scale(lrs, log=True)
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


# --- chapter mechanism ---

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


# --- chapter sparsity ---

MARK_STYLES = ("--", ":", "-.")


def against_density(
    results: dict[str, SweepResult], marks: dict[str, float], span: tuple[float, float] | None = None
) -> Figure:
    """# mono / # features against the feature density eps (left) and against eps N / d (middle), and the fraction
    of neurons that are monosemantic against eps (right), one line per labelled result coloured by its bias decay
    (darker: faster, as in the paper's Fig. 18); hollow markers: models that have not settled. `marks`: labelled
    values of eps N / d drawn as vertical lines in every panel; `span`: an interval of eps N / d shaded in the middle
    panel (the transition read off this run)."""
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    first = next(iter(results.values())).configs[0]
    n_over_d = first.n_features / first.d_embed
    decays = [r.configs[0].bias_decay for r in results.values()]
    cmap, norm = _color_scale(decays, log=True)
    for label, result in results.items():
        color = cmap(0.85 * (1 - norm(result.configs[0].bias_decay)))  # no pale yellow end
        eps = np.array(result.values("eps"))
        order = np.argsort(eps)
        ok = result.converged().numpy()[order]
        series = (
            (eps, result.mono_per_feature().numpy()),
            (eps * n_over_d, result.mono_per_feature().numpy()),
            (eps, mono_fraction(result.r).numpy()),
        )
        for ax, (x, y) in zip(axes, series, strict=True):
            x, y = x[order], y[order]
            ax.plot(x, y, color=color, label=label)
            ax.plot(x[ok], y[ok], "o", color=color)
            ax.plot(x[~ok], y[~ok], "o", mfc="white", color=color)
    for ax, scale in zip(axes, (1 / n_over_d, 1.0, 1 / n_over_d), strict=True):
        ax.set_xscale("log", base=2)
        for style, (name, value) in zip(MARK_STYLES, marks.items(), strict=False):
            ax.axvline(value * scale, color="black", ls=style, lw=0.9, label=name if scale == 1.0 else None)
    if span is not None and all(np.isfinite(span)):
        axes[1].axvspan(*span, color="tab:red", alpha=0.12, lw=0, label="this run: 90 % to 10 % of the peak")
    for ax, xlabel, ylabel in zip(
        axes,
        (LABELS["eps"], r"$\epsilon N / d$", LABELS["eps"]),
        (MONO_LABEL, MONO_LABEL, "fraction of neurons monosemantic"),
        strict=True,
    ):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize="x-small", title="hollow: not settled", title_fontsize="x-small")
    handles, names = axes[1].get_legend_handles_labels()
    keep = [i for i, n in enumerate(names) if n not in results]
    axes[1].legend([handles[i] for i in keep], [names[i] for i in keep], fontsize="x-small")
    return fig


# --- chapter width ---

# One trained model: a sweep's result and the model's index in it.
Instance = tuple[SweepResult, int]


def width_traces(rows: dict[str, dict[int, Instance]]) -> Figure:
    """Loss, # mono / # features and mean bias against log2(step), one row of panels per labelled family of
    models and one line per width k, coloured by log2 k (paper Fig. 15-16)."""
    ks = sorted({k for models in rows.values() for k in models})
    cmap, norm = _color_scale([math.log2(k) for k in ks], log=False)
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


# --- chapter other_tasks ---


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


# --- chapter l1 ---

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
    return _heatmaps([(result, i, label) for label, (result, i) in panels.items()])


# --- chapter incidental_polysemanticity ---


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


# --- chapter sparse_autoencoders ---

SAE_MEASURES = {
    "fvu": "fraction of variance unexplained",
    "l0": "L0 (active latents per input)",
    "dead_frac": "fraction of latents dead (held-out inputs)",
    "mmcs": "MMCS with the true features",
    "recovered": "features at cosine > 0.9",
    "mono_per_feature": "# mono latents / # features",
}


def sae_sweep(table: pd.DataFrame, references: dict[str, dict[str, float]]) -> Figure:
    """Every measurement of the autoencoders against the L1 coefficient (log x), one line per dictionary size
    (`table`: one row per autoencoder, with columns d_dict, l1 and those of SAE_MEASURES); `references`: labelled
    values of the same measurements for sets of neurons, drawn as horizontal lines where they have one."""
    fig = Figure(figsize=(12, 6.4), layout="constrained")
    axes = fig.subplots(2, 3).flatten()
    sizes = sorted(table["d_dict"].unique())
    palette = sns.color_palette("viridis", len(sizes))
    styles = ("--", ":", "-.")
    for ax, (column, label) in zip(axes, SAE_MEASURES.items(), strict=True):
        for color, m in zip(palette, sizes, strict=True):
            rows = table[table["d_dict"] == m].sort_values("l1")
            ax.plot(rows["l1"], rows[column], "-o", color=color, ms=4, label=f"m = {int(m)} latents")
        for style, (ref_label, values) in zip(styles, references.items(), strict=False):
            if column in values:
                ax.axhline(values[column], color="black", ls=style, lw=1, label=ref_label)
        log_ticks(ax, sorted(table["l1"].unique()))
        ax.set_xlabel(r"L1 coefficient $\lambda$")
        ax.set_ylabel(label)
    axes[3].legend(fontsize="x-small")
    return fig


def sae_frontier(table: pd.DataFrame, true_l0: float, chosen: dict[str, pd.Series] | None = None) -> Figure:
    """The sparsity-reconstruction trade-off: the fraction of variance unexplained against L0 (log scale), one
    line per dictionary size through its L1 coefficients (each point labelled with its lambda); dotted: the mean
    number of true features present per input; right, the MMCS against L0. `chosen`: rows of `table` to ring, by
    label (the autoencoders a chapter singles out)."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    sizes = sorted(table["d_dict"].unique())
    palette = sns.color_palette("viridis", len(sizes))
    for ax, column in zip(axes, ("fvu", "mmcs"), strict=True):
        for color, m in zip(palette, sizes, strict=True):
            rows = table[table["d_dict"] == m].sort_values("l1")
            ax.plot(rows["l0"], rows[column], "-o", color=color, ms=4, label=f"m = {int(m)} latents")
            for _, row in rows.iterrows():
                ax.annotate(
                    f"{row['l1']:g}",
                    (row["l0"], row[column]),
                    fontsize="x-small",
                    color=color,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        for (label, row), marker in zip((chosen or {}).items(), ("o", "s", "D"), strict=False):
            ax.plot(row["l0"], row[column], marker, ms=11, mfc="none", mec="black", mew=1.2, label=label)
        ax.axvline(true_l0, color="black", ls=":", lw=1, label="true features per input")
        lo, hi = min(true_l0, table["l0"].min()), table["l0"].max()
        log_ticks(ax, [2.0**i for i in range(-4, 12) if lo / 2 < 2.0**i < hi * 2])
        ax.set_xlabel("L0 (active latents per input)")
        ax.set_ylabel(SAE_MEASURES[column])
    axes[0].legend(fontsize="x-small")
    return fig


def sorted_cosines(curves: dict[str, Tensor], threshold: float) -> Figure:
    """For each labelled set of units, every true feature's largest cosine with a unit's direction, sorted from
    best to worst; dashed: the threshold of a recovered feature."""
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for label, values in curves.items():
        values = np.sort(values.numpy())[::-1]
        ax.plot(np.arange(1, len(values) + 1), values, lw=1.6, label=label)
    ax.axhline(threshold, color="black", ls="--", lw=1, label=f"cosine {threshold:g}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("feature (sorted by its best cosine)")
    ax.set_ylabel("largest cosine with a unit")
    ax.legend(fontsize="x-small")
    return fig


def unit_heatmaps(panels: dict[str, tuple[Tensor, Tensor]]) -> Figure:
    """Responses of units (neurons or latents) to single-feature inputs, acts (m, N), one panel per labelled
    set, with their monosemanticity r (m,): units sorted by decreasing r, features by the unit they drive most
    (as in the paper's Fig. 4); units that respond to no feature left out."""
    fig = Figure(figsize=(4.2 * len(panels), 4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (title, (acts, r)) in zip(axes, panels.items(), strict=True):
        live = (acts > 0).any(-1)
        acts, r = acts[live], r[live]
        units, features = display_order(acts, r)
        matrix = acts[units][:, features].clamp(min=0).numpy()
        image = ax.imshow(matrix, aspect="auto", cmap="magma", interpolation="nearest", vmin=0)
        ax.set_title(f"{title}\n{int(n_monosemantic(r))} of {len(r)} responding units monosemantic", fontsize="small")
        ax.set_xlabel("feature (sorted by top unit)")
        ax.set_ylabel(r"unit (sorted by $r$)")
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def sae_traces(traces: dict[int, dict[str, Tensor]], l1s: Sequence[float]) -> Figure:
    """Training of each batched autoencoder (one column per dictionary size m): the reconstruction loss (top,
    log scale) and L0 (bottom, log scale) against the step, one line per L1 coefficient; dotted: the resampling
    steps.
    `traces[m]` holds log_steps, recon (n, n_log), l0 (n, n_log) and resample_steps."""
    fig = Figure(figsize=(4 * len(traces), 5.6), layout="constrained")
    axes = fig.subplots(2, len(traces), squeeze=False)
    palette = sns.color_palette("viridis", len(l1s))
    for col, (m, tr) in enumerate(traces.items()):
        for i, l1 in enumerate(l1s):
            for row, key in enumerate(("recon", "l0")):
                axes[row, col].plot(
                    tr["log_steps"].numpy(), tr[key][i].numpy(), color=palette[i], lw=0.8, label=f"λ = {l1:g}"
                )
        for row in range(2):
            for s in tr["resample_steps"].tolist():
                axes[row, col].axvline(s, color="grey", ls=":", lw=0.8)
            axes[row, col].set_yscale("log")
            axes[row, col].set_xlabel("step")
        axes[0, col].set_title(f"m = {m} latents", fontsize="small")
    axes[0, 0].set_ylabel("reconstruction loss")
    axes[1, 0].set_ylabel("L0 (active latents per input)")
    axes[0, -1].legend(fontsize="x-small")
    return fig
