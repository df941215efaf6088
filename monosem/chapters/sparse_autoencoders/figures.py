"""Chapter 8's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from torch import Tensor

from monosem.figures import log_ticks
from monosem.metrics import display_order, n_monosemantic

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
