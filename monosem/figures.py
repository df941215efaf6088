"""Figures that several chapters draw: the book's style, axis labels, training traces, heat maps of single-feature
activations, final values against a swept field. Every function takes results and returns a
`matplotlib.figure.Figure`; none shows, saves or changes global style, except `use_book_style`, which the chapters
call once. Figures are made without pyplot, so a notebook displays each exactly once (as the value of its cell) and
none lingers. A figure only one chapter draws is in that chapter's `figures` module."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from monosem.metrics import display_order, n_monosemantic
from monosem.results import SweepResult

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


def color_scale(values: Sequence[float], log: bool) -> tuple[mcolors.Colormap, mcolors.Normalize]:
    lo, hi = min(values), max(values)
    if lo == hi:
        hi = lo + 1
    norm = mcolors.LogNorm(lo, hi) if log and lo > 0 else mcolors.Normalize(lo, hi)
    return matplotlib.colormaps["viridis"], norm


def training_traces(result: SweepResult, by: str = "lr", log_color: bool = True) -> Figure:
    """Loss, # mono / # features and mean bias against log2(step), one line per instance coloured by `by`
    (paper Fig. 3 and 6)."""
    values = result.values(by)
    cmap, norm = color_scale(values, log_color)
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
    return heatmaps([(result, i, f"{LABELS.get(by, by)} = {result.values(by)[i]:g}") for i in indices])


def heatmaps(panels: list[tuple[SweepResult, int, str]]) -> Figure:
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


def by_value(
    result: SweepResult, by: str, values: np.ndarray, among: list[int] | None = None
) -> tuple[list[float], np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct value of `by` (ascending): the median, min and max of `values` over the other instances
    (the seeds), among the instances `among` (default: all)."""
    keys = result.values(by)
    among = list(range(len(keys))) if among is None else among
    xs = sorted({keys[i] for i in among})
    groups = [values[[i for i in among if keys[i] == x]] for x in xs]
    return xs, *(np.array([f(g, axis=0) for g in groups]) for f in (np.median, np.min, np.max))


def median_line(ax: Axes, result: SweepResult, by: str, values: np.ndarray, among=None, **style) -> None:
    """`values` against `by`: the median over seeds, and their range as a band where there are several."""
    xs, mid, lo, hi = by_value(result, by, values, among)
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
            median_line(ax, result, by, values, label=tag)
    xs = sorted({x for result in results.values() for x in result.values(by)})
    for ax, ylabel in zip(axes, (MONO_LABEL, "final loss"), strict=True):
        if log_x:
            log_ticks(ax, xs)
        ax.set_xlabel(LABELS.get(by, by))
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize="small")
    return fig


MARK_STYLES = ("--", ":", "-.")
