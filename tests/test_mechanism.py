"""Chapter 7's tools on cases with known answers: the kink finder on hand-built piecewise-linear curves, the
dissection of a hand-built model whose thresholds, slopes and linear map are set by hand, the best read-out
estimate where it is known in closed form, and claim 10's parts where they must hold and where they must fail."""

import dataclasses
import math

import pytest
import torch
from conftest import make_result

from monosem.config import make_sweep
from monosem.experiments import mechanism as mech
from monosem.profiles import get_profile

CI = get_profile("ci")


def test_find_kinks_recovers_known_kinks_between_and_on_samples():
    x = torch.linspace(0, 1, 201, dtype=torch.float64)
    # kinks at 0.4123 (between samples), 0.8 (on a sample) and a small bend at 0.6071
    y = 0.1 * x + 1.5 * torch.relu(x - 0.4123) - 0.9 * torch.relu(x - 0.8) + 0.05 * torch.relu(x - 0.6071)
    pos, change = mech.find_kinks(x, y, min_change=0.1)
    assert torch.allclose(pos, torch.tensor([0.4123, 0.8], dtype=torch.float64), atol=1e-9)
    assert torch.allclose(change, torch.tensor([1.5, -0.9], dtype=torch.float64), atol=1e-9)
    pos, _ = mech.find_kinks(x, y, min_change=0.01)  # the small bend counts when the bar is lower
    assert torch.allclose(pos, torch.tensor([0.4123, 0.6071, 0.8], dtype=torch.float64), atol=1e-9)
    assert len(mech.find_kinks(x, 0.3 + 0.7 * x, min_change=1e-6)[0]) == 0


def _hand_built(first: float, second: float, n_steps: int = 256):
    """A decoder with P = identity (N = d = 8, k = 8) whose feature 0 has one monosemantic neuron with threshold
    `first` and feature 1 two, with thresholds `first` and `second` (a steep middle segment: slope 2, then 1).
    Four positive-bias neurons pass features 2-5 straight through (a linear map with singular values 1, 1, 1, 1
    and 0) and a fifth cancels their biases at the output, so every intercept is 0. A flat loss: converged."""
    sweep = make_sweep("HAND", CI.base(n_features=8, d_embed=8, d_hidden=8, n_steps=n_steps), seed=(0,))
    W_in, b, W_out = torch.zeros(8, 8), torch.zeros(8), torch.zeros(8, 8)
    for i, (feature, threshold, out) in enumerate(((0, first, 0.7), (1, first, 1.0), (1, second, -0.5))):
        W_in[feature, i], b[i], W_out[i, feature] = 2.0, -2.0 * threshold, out
    for i, feature in zip(range(3, 7), range(2, 6), strict=True):
        W_in[feature, i], b[i], W_out[i, feature] = 1.0, 0.1, 1.0
    b[7], W_out[7, 2:6] = 0.1, -1.0  # cancels the positive biases at the output
    r = torch.zeros(8)
    r[:3] = 1.0
    steps = torch.arange(0, n_steps, 16)
    return make_result(
        sweep,
        W_in=W_in[None],
        b_in=b[None],
        W_out=W_out[None],
        proj=torch.eye(8)[None],
        r=r[None],
        loss_steps=steps,
        loss=torch.ones(1, len(steps)),
    )


def test_dissect_measures_what_was_built():
    d = mech.dissect(_hand_built(0.4, 0.8), 0)
    assert d.converged and d.n_poly == 5 and d.n_serving.tolist()[:3] == [1, 2, 0]
    assert d.features(1) == [0] and d.features(2) == [1]
    assert torch.allclose(d.kinks[0], torch.tensor([0.4], dtype=torch.float64), atol=1e-9)
    assert torch.allclose(d.kinks[1], torch.tensor([0.4, 0.8], dtype=torch.float64), atol=1e-9)
    assert d.kink_error < 1e-9
    assert math.isclose(d.middle_slope[1], 2.0, abs_tol=1e-9) and math.isclose(d.final_slope[1], 1.0, abs_tol=1e-9)
    assert torch.allclose(d.singular_values, torch.tensor([1.0] * 4 + [0.0] * 4, dtype=torch.float64), atol=1e-6)
    assert d.rank() == 4
    assert torch.allclose(d.poly_slope, torch.tensor([0, 0, 1, 1, 1, 1, 0, 0], dtype=torch.float64), atol=1e-6)
    assert d.poly_intercept.abs().max() < 1e-6 and d.poly_slope_range.max() < 1e-6
    # feature 0: nothing below 0.4, then slope 1.4 (0.84 at full amplitude, under the identity)
    assert math.isclose(float(d.mono[0, -1]), 0.84, abs_tol=1e-5) and float(d.mono[0, 80]) == 0.0
    assert math.isclose(float(d.total[1, -1]), 1.0, abs_tol=1e-5)
    assert mech.under_identity(d) == 1.0 and mech.steep_middle(d) == 1.0
    assert mech.first_kink(d) == pytest.approx(0.4) and mech.second_kink(d) == pytest.approx(0.8)


def test_feature_outputs_split_into_parts_that_add_up():
    res = _hand_built(0.4, 0.8)
    args = (res.W_in[0], res.b_in[0], res.W_out[0], res.proj[0], torch.linspace(0, 1, 11))
    poly = res.b_in[0] > 0.05
    total = mech.feature_outputs(*args)
    assert torch.allclose(total, mech.feature_outputs(*args, poly) + mech.feature_outputs(*args, ~poly), atol=1e-6)
    # input a e_2 passes straight through the positive-bias neurons: output a on feature 2
    assert torch.allclose(total[2], torch.linspace(0, 1, 11), atol=1e-6)


def test_readout_estimate_is_the_identity_without_interference():
    g = torch.tensor([0.0, 1.3, 0.0, 0.0])  # only feature 1 reaches the read-out
    a = torch.linspace(0, 1, 11)
    est = mech.readout_posterior_mean(g, 1, eps=0.3, amplitudes=a)
    assert torch.allclose(est, a.double(), atol=1e-12)


def test_readout_estimate_matches_the_closed_form_with_one_interferer():
    # s = c f_j + g f_k: for s < min(c, g) the posterior mean weighs "j alone", "k alone" and "both"
    c, g, eps = 1.0, 0.6, 0.3
    a = torch.tensor([0.1, 0.25, 0.4, 0.55], dtype=torch.float64)
    s = a * c
    num = eps * (1 - eps) / c * s / c + eps**2 * s / (c * g) * s / (2 * c)
    den = eps * (1 - eps) / c + eps * (1 - eps) / g + eps**2 * s / (c * g)
    est = mech.readout_posterior_mean(torch.tensor([c, g]), 0, eps, a)
    assert torch.allclose(est, num / den, atol=1e-3)
    # the same with the interferer on the negative side: s = c f_j - g f_k, for s < c - g
    # (j alone: mean s / c, density 1 / c; j and k: mean (s + g / 2) / c, density 1 / c; k alone: s < 0)
    s2 = torch.tensor([0.2, 0.35], dtype=torch.float64)
    num_neg = eps * (1 - eps) / c * s2 / c + eps**2 / c * (s2 + g / 2) / c
    den_neg = eps * (1 - eps) / c + eps**2 / c
    est = mech.readout_posterior_mean(torch.tensor([c, -g]), 0, eps, s2 / c)
    assert torch.allclose(est, num_neg / den_neg, atol=1e-3)
    # at vanishing density, above g only feature j alone can give s: the identity again
    est = mech.readout_posterior_mean(torch.tensor([c, g]), 0, 1e-9, torch.tensor([0.8]))
    assert math.isclose(float(est), 0.8, abs_tol=1e-6)
    with pytest.raises(ValueError, match="positive weight"):
        mech.readout_posterior_mean(torch.tensor([-1.0, 0.5]), 0, eps, a)


def test_readout_estimate_matches_brute_force_sampling():
    # six features with read-outs of both signs at a high density: E[f_0 | s] from binned samples of the data
    g = torch.tensor([1.0, 0.7, -0.45, 0.3, -0.2, 0.55], dtype=torch.float64)
    eps, a = 0.25, torch.tensor([0.3, 0.5, 0.7, 0.9], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    u = torch.rand(1_000_000, 6, generator=gen, dtype=torch.float64)
    f = torch.where(u < eps, u / eps, 0.0)
    s = f @ g
    near = (s[:, None] - a[None]).abs() < 0.01
    sampled = (f[:, :1] * near).sum(0) / near.sum(0)
    assert torch.allclose(mech.readout_posterior_mean(g, 0, eps, a), sampled, atol=0.01)


def _mechanism(dense: mech.Dissection, sparse: mech.Dissection) -> mech.Mechanism:
    lrs = CI.lrs
    return mech.Mechanism(
        CI, None, None, (dense, dense), dict.fromkeys(lrs, dense), dict.fromkeys(lrs, sparse),
        dense, sparse, CI.lr_focus, (), (),
    )  # fmt: skip


def _paper_like(d: mech.Dissection) -> mech.Dissection:
    """The hand-built dissection with a positive-bias part as the paper describes it: rank d, singular values
    about 1, slope 0.12 and a small intercept on every feature."""
    sv = torch.zeros(8, dtype=torch.float64)
    sv[: d.d] = 1.01
    n = len(d.poly_slope)
    return dataclasses.replace(
        d, singular_values=sv, poly_slope=torch.full((n,), 0.12, dtype=torch.float64), poly_intercept=d.poly_slope * 0
    )


def _part(finding, text):
    return next(p for p in finding.parts if p.text.startswith(text))


def test_claim10_holds_on_a_paper_like_model_and_fails_where_it_should():
    dense = _paper_like(mech.dissect(_hand_built(0.4, 0.8), 0))
    sparse = dataclasses.replace(mech.dissect(_hand_built(0.3, 0.6), 0), eps=mech.LOW_EPS)
    # at full amplitude the sparse model is closer to the truth, as the paper finds
    sparse = dataclasses.replace(sparse, total=sparse.total.clone())
    sparse.total[:2, -1] = 0.99
    dense = dataclasses.replace(dense, total=dense.total.clone())
    dense.total[:2, -1] = 0.95
    finding = mech.findings(_mechanism(dense, sparse))[0]
    assert finding.verdict == "agree", [(p.text, p.this_run, p.holds) for p in finding.parts]

    # the densities swapped: the thresholds and second kinks miss the paper's and go the wrong way
    swapped = mech.findings(_mechanism(dataclasses.replace(sparse, eps=1 / 64), dataclasses.replace(dense)))[0]
    for text in ("one monosemantic neuron", "with the second kink", "at eps = 1/256", "lower than", "and a second"):
        assert _part(swapped, text).holds is False, text

    # the positive-bias part as the hand-built model has it: rank 4 of d = 8, slope 1 on four features
    plain = mech.findings(_mechanism(mech.dissect(_hand_built(0.4, 0.8), 0), sparse))[0]
    assert _part(plain, "positive-bias neurons").holds is False
    assert _part(plain, "whose singular values").holds is True  # 1s and 0s, whatever the rank
    assert _part(plain, "adding a slope").holds is False
    spread_sv = dataclasses.replace(dense, singular_values=torch.linspace(1.3, 0.0, 8, dtype=torch.float64))
    assert _part(mech.findings(_mechanism(spread_sv, sparse))[0], "whose singular values").holds is False


def test_claim10_counts_no_model_whose_loss_is_still_falling():
    dense = dataclasses.replace(_paper_like(mech.dissect(_hand_built(0.4, 0.8), 0)), converged=False)
    sparse = dataclasses.replace(mech.dissect(_hand_built(0.3, 0.6), 0), eps=mech.LOW_EPS, converged=False)
    finding = mech.findings(_mechanism(dense, sparse))[0]
    assert all(p.holds is None for p in finding.parts), [(p.text, p.holds) for p in finding.parts]
    assert finding.verdict == "not tested"


def test_shown_lr_prefers_the_most_monosemantic_converged_model():
    d = mech.dissect(_hand_built(0.4, 0.8), 0)  # three monosemantic neurons
    fewer = dataclasses.replace(d, n_serving=d.n_serving * 0)
    off = dataclasses.replace(d, converged=False)
    assert mech.shown_lr({0.003: fewer, 0.005: off, 0.03: d}) == 0.03
    assert mech.shown_lr({0.003: fewer, 0.005: off}) == 0.003
    assert mech.shown_lr({0.003: dataclasses.replace(fewer, converged=False), 0.005: off}) == 0.005
    assert mech.example_features(d) == [0, 1]
