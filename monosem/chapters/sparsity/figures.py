"""Chapter 5's figures: those only this chapter draws (those several chapters draw are in `monosem.figures`).
Each takes results and returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from monosem.figures import LABELS, MARK_STYLES, MONO_LABEL, color_scale
from monosem.metrics import mono_fraction
from monosem.results import SweepResult


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
    cmap, norm = color_scale(decays, log=True)
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
