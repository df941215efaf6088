"""The paper's Table 1 (N = 512, d = 64 everywhere), as data, compared row by row with the `paper` profile's
sweeps. Typed here from ../shared/paper/NOTES.md, independently of the experiment modules: a sweep that drifts
from the paper fails here. "sweep" marks the swept column; lr sweeps use the reference plots' six lrs."""

import pytest

from monosem.experiments import basins, negative_bias
from monosem.profiles import PAPER_LRS, get_profile

SWEEP = "sweep"
COLUMNS = ("task", "activation", "freq", "d_hidden", "eps", "lr", "bias_decay", "init_bias", "l1")
TABLE_1 = {
    "LR1": ("decoder", "relu", "uniform", 1024, 1 / 64, SWEEP, 0.0, 0.0, 0.0),
    "LR2": ("decoder", "relu", "power", 1024, 1 / 64, SWEEP, 0.0, 0.0, 0.0),
    "LR3": ("decoder", "relu", "uniform", 1024, 1 / 64, SWEEP, 0.03, -1.0, 0.0),
    "LR4": ("decoder", "relu", "power", 1024, 1 / 64, SWEEP, 0.03, -1.0, 0.0),
    "B1": ("decoder", "relu", "uniform", 1024, 1 / 16, 0.003, 0.03, SWEEP, 0.0),
    "B2": ("decoder", "relu", "uniform", 1024, 1 / 32, 0.003, 0.003, SWEEP, 0.0),
    "B3": ("decoder", "relu", "uniform", 1024, 1 / 64, 0.003, 0.003, SWEEP, 0.0),
    "B4": ("decoder", "relu", "uniform", 1024, 1 / 128, 0.003, 0.003, SWEEP, 0.0),
    "B5": ("decoder", "relu", "uniform", 1024, 1 / 256, 0.003, 0.003, SWEEP, 0.0),
    "GELU": ("decoder", "gelu", "uniform", 1024, 1 / 64, SWEEP, 0.03, SWEEP, 0.0),  # "B3 (GeLU)"
}
PAPER = get_profile("paper")
SWEEPS = {s.name: s for s in negative_bias.sweeps(PAPER)}


@pytest.mark.parametrize("row", sorted(TABLE_1))
def test_paper_profile_sweep_matches_table_1(row):
    sweep = SWEEPS[row]
    axes = dict(sweep.axes)
    for column, expected in zip(COLUMNS, TABLE_1[row], strict=True):
        values = {getattr(c, column) for c in sweep.configs}
        if expected == SWEEP:
            assert column in axes and len(values) > 1, (row, column)
        else:
            assert values == {expected}, (row, column, values)
    for cfg in sweep.configs:
        assert (cfg.n_features, cfg.d_embed) == (512, 64), row
        # Table 1's batch rule, 2^23 / k, and the lr sweeps' 2^17 steps
        assert cfg.batch_size == 2**23 // cfg.d_hidden and cfg.n_steps == 2**17, row
    if "lr" in axes and row.startswith("LR"):
        assert axes["lr"] == PAPER_LRS


def test_every_table_1_row_of_the_chapters_is_checked():
    chapter_rows = {s.name for s in [*basins.sweeps(PAPER), *negative_bias.sweeps(PAPER)]} - {"LR3x2", "LR3d2"}
    assert chapter_rows == set(TABLE_1)
