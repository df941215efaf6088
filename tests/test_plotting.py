"""Figures: each function returns a Figure with the panels it promises, and never touches pyplot."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from monosem import figures
from monosem.chapters import negative_bias
from monosem.chapters.basins import figures as basins_figures
from monosem.chapters.negative_bias import figures as negative_bias_figures
from monosem.metrics import display_order
from monosem.profiles import get_profile
from monosem.results import SETTLE_LOSS, SETTLE_MONO
from monosem.training import train


@pytest.fixture(scope="module")
def lr_sweep():
    return train(negative_bias.lr3(get_profile("ci")), progress=False)


@pytest.fixture(scope="module")
def grid_sweep():
    return train(negative_bias.gelu(get_profile("ci")), progress=False)


def _n_data_axes(fig: Figure) -> int:
    return sum(1 for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible())


def test_figures_have_their_panels_and_stay_out_of_pyplot(lr_sweep, grid_sweep):
    before = plt.get_fignums()
    n = lr_sweep.sweep.n_inst
    figs = {
        "traces": (figures.training_traces(lr_sweep), 3),
        "heatmaps": (figures.activation_heatmaps(lr_sweep, [0, n - 1]), 2),
        "compare": (negative_bias_figures.compare_heatmaps({"a": lr_sweep, "b": lr_sweep}, lr=0.005, seed=0), 2),
        "bias": (basins_figures.bias_vs_monosemanticity(lr_sweep), n),
        "final": (figures.final_against({"a": lr_sweep}), 2),
        "grid": (negative_bias_figures.metric_grid(grid_sweep, x="init_bias", hue="lr", mark=-0.75), 2),
        "sorted": (negative_bias_figures.sorted_biases({"a": lr_sweep}), 1),
        "traces_side_by_side": (negative_bias_figures.mono_traces({"a": lr_sweep, "b": lr_sweep}), 2),
        "r_cdf": (basins_figures.r_distribution(lr_sweep, 0), 1),
        "bias_by_rank": (basins_figures.bias_by_rank(lr_sweep, [0, 1]), 1),
        "against_bias": (negative_bias_figures.against_bias({"a": grid_sweep}), 2),
    }
    for name, (fig, panels) in figs.items():
        assert isinstance(fig, Figure), name
        assert _n_data_axes(fig) == panels, name
    assert plt.get_fignums() == before


def test_settling_changes_shows_the_rules_box_and_both_kinds_of_model():
    table = pd.DataFrame(
        {
            "continued: loss change": [float("nan"), 2e-3, -1e-4],  # only models settled at T are continued
            "continued: mono change": [float("nan"), 0.01, 0.0],
            "T/4 -> T/2: loss change": [-0.2, -0.001, 0.0],
            "T/4 -> T/2: mono change": [0.1, 0.0, 0.0],
            "still learning at T/2": [True, False, False],
            "settled at T": [False, True, True],
        }
    )
    fig = basins_figures.settling_changes(table)
    assert _n_data_axes(fig) == 1
    ax = fig.axes[0]
    box = ax.patches[0]
    assert (box.get_x(), box.get_width()) == (-SETTLE_LOSS, 2 * SETTLE_LOSS) and box.get_height() == 2 * SETTLE_MONO
    # the two continued models (the unsettled one was not), the one still learning at T/2, the two that were not
    assert [len(c.get_offsets()) for c in ax.collections] == [2, 1, 2]


def test_traces_plot_one_line_per_instance(lr_sweep):
    fig = figures.training_traces(lr_sweep)
    assert len(fig.axes[0].get_lines()) == lr_sweep.sweep.n_inst


def test_display_order_puts_monosemantic_neurons_on_a_diagonal():
    # neuron 0 serves feature 2, neuron 1 is polysemantic, neuron 2 serves feature 0
    acts = torch.tensor([[0.0, 0.0, 1.0], [0.5, 0.5, 0.5], [2.0, 0.0, 0.0]])
    r = torch.tensor([1.0, 1 / 3, 1.0])
    neurons, features = display_order(acts, r)
    assert neurons.tolist() == [0, 2, 1]
    assert features.tolist() == [2, 0, 1]
    sorted_acts = acts[neurons][:, features]
    assert sorted_acts[0, 0] == 1.0 and sorted_acts[1, 1] == 2.0
