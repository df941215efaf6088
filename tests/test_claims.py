"""The "What we found" verdicts are computed from results: check them on hand-made results."""

import torch
from conftest import make_result

from monosem import claims
from monosem.config import make_sweep
from monosem.experiments import basins, negative_bias
from monosem.profiles import get_profile
from monosem.results import SweepResult

CI = get_profile("ci")


def _basins(lr1: SweepResult):
    return basins.findings(basins.Basins(CI, lr1, lr1))


def _result(mono: list[float], loss: list[float], r=None, b=None, name="LR1", **axes) -> SweepResult:
    base = get_profile("ci").base()
    axes = axes or {"lr": (0.001, 0.01, 0.03)}
    sweep = make_sweep(name, base, **axes)
    n, k = sweep.n_inst, base.d_hidden
    arrays = {
        "snap_mono": torch.tensor(mono)[:, None],
        "final_loss": torch.tensor(loss),
        "r": torch.zeros(n, k) if r is None else r,
        "b_in": torch.zeros(n, k) if b is None else b,
    }
    return make_result(sweep, **arrays)


def test_claim1_agrees_only_when_mono_rises_and_loss_does_not():
    good = _basins(_result([0.0, 0.2, 0.7], [0.9, 0.85, 0.8]))[0]
    assert good.verdict == "agree"
    half = _basins(_result([0.0, 0.2, 0.7], [0.8, 0.85, 0.9]))[0]
    assert half.verdict == "partly"
    bad = _basins(_result([0.7, 0.2, 0.0], [0.8, 0.85, 0.9]))[0]
    assert bad.verdict == "no"
    assert "0.000 at lr 0.001" in good.this_run and "0.700 at lr 0.03" in good.this_run


def test_claim2_reads_biases_of_mono_and_poly_neurons():
    k = get_profile("ci").d_hidden
    r = torch.full((3, k), 0.2)
    r[:, :10] = 1.0
    b = torch.full((3, k), 0.3)
    b[:, :10] = -0.5
    split = basins.bias_split(_result([0, 0, 0], [1, 1, 1], r=r, b=b))
    assert split["n_mono"] == 30 and split["n_poly"] == 3 * (k - 10)
    assert split["median_mono"] == -0.5 and abs(split["median_poly"] - 0.3) < 1e-6
    assert _basins(_result([0, 0, 0], [1, 1, 1], r=r, b=b))[1].verdict == "agree"
    assert _basins(_result([0, 0, 0], [1, 1, 1], r=r, b=-b))[1].verdict == "no"


def test_negative_bias_comparison_counts_learning_rates():
    zero = _result([0.0, 0.2, 0.7], [0.9, 0.85, 0.8])
    neg = _result([0.5, 0.1, 0.9], [0.9, 0.86, 0.9], name="LR3")
    cmp = negative_bias.negative_bias_vs_zero(zero, neg)
    assert cmp["n_more_mono"] == 2  # 0.5 > 0 and 0.9 > 0.7, but 0.1 < 0.2
    assert cmp["n_same_or_lower_loss"] == 2  # 0.86 is within 2 % of 0.85, 0.9 is not within 2 % of 0.8
    assert cmp["lr_neg_min"] == 0.01


def test_best_bias_and_sqrt_eps_split():
    res = _result([0.1, 0.5, 0.6, 0.2, 0.4, 0.7], [1] * 6, name="GELU", lr=(0.003, 0.01), init_bias=(0.0, -1.0, -2.0))
    best = negative_bias.best_bias(res)
    assert (
        best["best_bias"] == -2.0 and abs(best["best_mono"] - 0.65) < 1e-6 and abs(best["zero_bias_mono"] - 0.15) < 1e-6
    )

    k = get_profile("ci").d_hidden
    r = torch.zeros(4, k)
    r[2:, : k // 2] = 1.0
    b_sweep = _result([0.0, 0.1, 0.8, 0.9], [1] * 4, r=r, name="B3", init_bias=(0.0, -0.1, -0.25, -1.0))
    split = negative_bias.below_sqrt_eps(b_sweep)  # ci eps = 1/64, sqrt = 0.125: -0.25 and -1 are below
    assert abs(split["mono_below"] - 0.85) < 1e-6 and abs(split["mono_above"] - 0.05) < 1e-6
    assert split["frac_below"] == 0.5


def test_positive_bias_counts():
    k = get_profile("ci").d_hidden
    b = torch.zeros(3, k)
    b[0, :9] = 0.2
    b[1, :3] = 0.051
    b[2, :5] = 0.05  # not above the threshold
    assert negative_bias.positive_bias_counts(_result([0, 0, 0], [1, 1, 1], b=b)) == [9, 3, 0]


def test_spearman():
    assert abs(claims.spearman([1, 2, 3], [10, 20, 30]) - 1.0) < 1e-6
    assert abs(claims.spearman([1, 2, 3], [3, 2, 1]) + 1.0) < 1e-6
    assert abs(claims.spearman([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-6
