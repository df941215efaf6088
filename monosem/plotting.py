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
from matplotlib.figure import Figure

from monosem.metrics import MONO_THRESHOLD, display_order
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
    loss_x = np.log2(result["loss_steps"].numpy() + 1)
    snap_x = np.log2(result["snap_steps"].numpy())
    for i, value in enumerate(values):
        color = cmap(norm(value))
        axes[0].plot(loss_x, result["loss"][i].numpy(), color=color, lw=0.8)
        axes[1].plot(snap_x, result["snap_mono"][i].numpy(), color=color, marker=".")
        axes[2].plot(snap_x, result["snap_bias"][i].numpy(), color=color, marker=".")
    axes[0].set_yscale("log")
    for ax, label in zip(axes, ("loss", MONO_LABEL, "mean bias"), strict=True):
        ax.set_xlabel(r"$\log_2$ step")
        ax.set_ylabel(label)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=LABELS.get(by, by), pad=0.01)
    return fig


def activation_heatmaps(result: SweepResult, indices: Sequence[int], by: str = "lr") -> Figure:
    """Single-feature activations h_i(F_j) of the chosen instances, neurons sorted by monosemanticity r_i and
    features by the neuron they activate most (paper Fig. 4)."""
    acts = result.activations()
    fig = Figure(figsize=(4.2 * len(indices), 4), layout="constrained")
    axes = fig.subplots(1, len(indices), squeeze=False)
    for ax, i in zip(axes[0], indices, strict=True):
        neurons, features = display_order(acts[i], result["r"][i])
        matrix = acts[i][neurons][:, features].clamp(min=0).numpy()
        image = ax.imshow(matrix, aspect="auto", cmap="magma", interpolation="nearest", vmin=0)
        n_mono = int((result["r"][i] > MONO_THRESHOLD).sum())
        ax.set_title(f"{LABELS.get(by, by)} = {result.values(by)[i]:g}\n{n_mono} monosemantic neurons")
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
        r, b = result["r"][i].numpy(), result["b_in"][i].numpy()
        mono = r > MONO_THRESHOLD
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


def final_against(results: dict[str, SweepResult], by: str = "lr", log_x: bool = True) -> Figure:
    """Final # mono / # features and final loss against the swept value, one line per labelled result
    (paper Fig. 1)."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for label, result in results.items():
        x = result.values(by)
        axes[0].plot(x, result.mono_per_feature().numpy(), marker="o", label=label)
        axes[1].plot(x, result["final_loss"].numpy(), marker="o", label=label)
    for ax, ylabel in zip(axes, (MONO_LABEL, "final loss"), strict=True):
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(LABELS.get(by, by))
        ax.set_ylabel(ylabel)
    axes[0].legend()
    return fig
