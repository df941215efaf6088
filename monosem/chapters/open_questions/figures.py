"""Chapter 10's figures. Each takes the chapter's results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from monosem.figures import MONO_LABEL


def d_plus_one(table: pd.DataFrame) -> Figure:
    """Question 1: the number of positive-bias neurons minus d at each d, without and with an output bias (left),
    and W_out's gain on their bias, against a typical vector's 1 (right); `table` is `d_table`'s."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    dims = sorted(table["d"].unique())
    x = np.arange(len(dims))
    width = 0.38
    for shift, (flag, color) in zip((-width / 2, width / 2), (("no", "tab:blue"), ("yes", "tab:orange")), strict=True):
        rows = table[table["output bias"] == flag].set_index("d").loc[dims]
        label = f"output bias: {flag}"
        left.bar(x + shift, rows["count - d"], width, color=color, label=label)
        right.bar(x + shift, rows["W_out's gain on b"], width, color=color, label=label)
    for ax in (left, right):
        ax.set_xticks(x, [f"d = {d}" for d in dims])
        ax.axhline(0, color="black", lw=0.6)
    left.axhline(1, color="gray", ls="--", lw=0.8)
    left.set_ylabel("positive-bias neurons − d")
    left.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
    right.axhline(1, color="gray", ls="--", lw=0.8)
    right.set_ylabel(r"$|W_{out}^T b| \,/\,$ typical")
    return fig


def basin_paths(found: dict) -> Figure:
    """Question 2: the held-out loss along each path (`analysis.paths`), after matching the neurons (solid) and
    without (dashed), against the position t on the path."""
    fig = Figure(figsize=(5.6, 3.6), layout="constrained")
    ax = fig.subplots()
    labels = {"across": "lowest lr → highest lr", "control": "highest lr, two initialisations"}
    for (name, path), color in zip(found.items(), ("tab:purple", "tab:green"), strict=False):
        t = path.ts.numpy()
        ax.plot(t, path.losses.numpy(), color=color, marker="o", ms=3, label=f"{labels.get(name, name)}")
        ax.plot(t, path.raw.numpy(), color=color, ls="--", lw=0.9, label=f"{labels.get(name, name)}, unmatched")
    ax.set_xlabel("position t on the straight path")
    ax.set_ylabel("held-out loss")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
    return fig


def robust_recipe(rows: pd.DataFrame, bar: float) -> Figure:
    """Question 3: # mono / # features (left) and loss (right) at every setting, the regularizer beside the recipe;
    `rows` is `robust_rows`'s, `bar` the share of the recipe's best the regularizer must reach (dashed)."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    x = np.arange(len(rows))
    width = 0.38
    names = [f"lr {lr:g}\nε 1/{1 / eps:.0f}" for lr, eps in zip(rows["lr"], rows["eps"], strict=True)]
    for shift, (who, color) in zip((-width / 2, width / 2), (("push", "tab:red"), ("recipe", "tab:gray")), strict=True):
        for ax, what in ((left, "# mono / # features"), (right, "loss")):
            values = rows[f"{who}: {what}"].to_numpy()
            settled = rows[f"{who}: settled"].to_numpy()
            bars = ax.bar(x + shift, values, width, color=color, label="regularizer" if who == "push" else "recipe")
            for b, ok in zip(bars, settled, strict=True):
                if not ok:
                    b.set_hatch("//")
    left.axhline(bar, color="black", ls="--", lw=0.8)
    left.set_ylabel(MONO_LABEL)
    right.set_ylabel("final loss")
    right.set_yscale("log")
    for ax in (left, right):
        ax.set_xticks(x, names, fontsize="small")
    left.legend(fontsize="small")
    return fig
