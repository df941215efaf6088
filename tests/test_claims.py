"""The "What we found" verdicts: each part of a claim on hand-built results where it must hold and where it must
fail (shuffled biases, a loss still falling), and the verdict rule (claims 3-5: test_negative_bias_claims.py)."""

import torch
from conftest import make_result

from monosem import claims, prose
from monosem.chapters import basins
from monosem.claims import Finding, Part
from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.results import SETTLE_LOSS, SweepResult

CI = get_profile("ci")
LRS = (0.001, 0.01, 0.03)


def _loss_trace(n: int, final: torch.Tensor, falling=0.0) -> dict[str, torch.Tensor]:
    """Recorded losses every 16 steps of a 256-step run: flat at `final`, or falling by `falling` (one number, or
    one per instance) per window."""
    steps = torch.arange(0, 256, 16)
    t = torch.arange(len(steps), dtype=torch.float32) / 2  # windows of 32 steps = 2 records
    fall = torch.as_tensor(falling, dtype=torch.float32).expand(n)
    loss = final[:, None] * (1 + fall[:, None] * (t.max() - t)[None, :])
    return {"loss_steps": steps, "loss": loss}


def _result(mono, loss, r=None, b=None, name="LR1", falling=0.0, **axes) -> SweepResult:
    axes = axes or {"lr": LRS}
    sweep = make_sweep(name, CI.base(n_steps=256), **axes)
    n, k, n_features = sweep.n_inst, CI.d_hidden, CI.n_features
    if r is None:  # # mono / # features = mono: the first round(mono * N) neurons at r = 1
        r = torch.zeros(n, k)
        for i, m in enumerate(mono):
            r[i, : round(m * n_features)] = 1.0
    final = torch.tensor(loss, dtype=torch.float32)
    arrays = {"final_loss": final, "r": r, "b_in": torch.zeros(n, k) if b is None else b}
    return make_result(sweep, **arrays, **_loss_trace(n, final, falling))


def _basins(lr1: SweepResult) -> list[Finding]:
    return basins.findings(basins.Basins(CI, lr1, lr1))


def _part(finding: Finding, text: str) -> Part:
    return next(p for p in finding.parts if p.text.startswith(text))


PLATEAU = [0.9 * 64 / 512] * 3  # in the paper's plateau, scaled to the ci N = 64


def test_verdict_rule():
    def f(*holds):
        return Finding("c", tuple(Part("p", "", "", "", h) for h in holds)).verdict

    assert f(True, True) == "agree" and f(True, False) == "partly" and f(False, False) == "no"
    # over the parts that could be tested: an untested part counts neither way, and none tested is never "no"
    assert f(True, None) == "agree" and f(None, None) == "not testable here" and f(False, None) == "no"


def test_a_part_the_run_has_nothing_to_test_on_is_not_tested_whatever_its_test_gave():
    rho = float("nan")  # fewer than 3 lrs: no rank correlation, and nan >= 0.8 is False
    part = Part("p", "", "", "", rho >= 0.8, testable=False)
    assert part.holds is None and part.status == "not tested"
    assert Finding("1. c", (part,)).needs == "a run that has what the test reads"
    assert Part("p", "", "", "", False, testable=True).holds is False


def test_a_closed_gate_makes_a_part_untestable_whatever_it_was_given():
    unsettled = claims.Gate(n_models=3, n_settled=2, steps=2**14)
    short = claims.Gate(n_models=3, n_settled=3, steps=2**14, decay_steps=2**17.2, decay_text="decay 0.03 at lr 0.001")
    done = claims.Gate(n_models=3, n_settled=3, steps=2**17, decay_steps=2**15.6, decay_text="decay 0.03 at lr 0.003")
    for gate in (unsettled, short):
        part = Part("p", "", "", "", False, gate)
        assert part.holds is None and part.status.startswith(claims.UNTESTABLE)
        assert Finding("1. c", (part,)).verdict == "not testable here"
    assert Part("p", "", "", "", False, done).holds is False
    assert "1 of 3 models not settled at 2^14 steps" in unsettled.why
    assert short.needs == ">= 2^17.2 steps (decay 0.03 at lr 0.001)"
    both = unsettled & short
    assert (both.n_models, both.n_settled, both.decay_steps) == (6, 5, 2**17.2) and not both.open
    finding = Finding("1. c", (Part("a", "", "", "", True, done), Part("b", "", "", "", False, short)))
    assert finding.verdict == "agree" and finding.needs == ">= 2^17.2 steps (decay 0.03 at lr 0.001)"


def test_claim1_parts_hold_on_a_clean_result():
    loss = [PLATEAU[0] * 1.05, PLATEAU[0] * 1.02, PLATEAU[0]]
    finding = _basins(_result([0.0, 0.3, 0.7], loss))[0]
    assert finding.verdict == "agree", claims.table([finding])
    assert finding.headline == ("about 0 -> 0.9 mono / feature, lr 0.001 -> 0.03", "0.00 -> 0.70, lr 0.001 -> 0.03")
    assert not any(p.text.startswith("the runs have reached") for p in finding.parts)  # a gate now, not a part


def test_claim1_unsettled_models_make_its_parts_untestable_not_false():
    finding = _basins(_result([0.7, 0.3, 0.0], [0.2, 0.16, 0.12], falling=0.05))[0]  # every part would fail
    assert all(p.holds is None and p.status.startswith(claims.UNTESTABLE) for p in finding.parts)
    assert finding.verdict == "not testable here"


def test_claim1_gates_each_part_on_the_models_it_reads():
    # only the middle lr still falling: the parts over every lr cannot be tested, the loss at the two ends can
    finding = _basins(_result([0.0, 0.3, 0.7], PLATEAU, falling=[0.0, 0.05, 0.0]))[0]
    assert _part(finding, "higher lr gives").holds is None and _part(finding, "the loss plateaus").holds is None
    assert _part(finding, "and slightly lower").holds is True and finding.verdict == "agree"


def test_a_rising_loss_is_not_converged_either():
    rising = _result([0.0, 0.3, 0.7], PLATEAU, falling=-0.05)
    assert not rising.converged().any()
    assert _result([0.0, 0.3, 0.7], PLATEAU).converged().all()


def test_claim1_fails_when_mono_falls_or_loss_falls_too_much():
    falling_mono = _basins(_result([0.7, 0.3, 0.0], PLATEAU))[0]
    assert _part(falling_mono, "higher lr gives").holds is False
    steep = _basins(_result([0.0, 0.3, 0.7], [0.2, 0.16, 0.12]))[0]  # -40 %: not "slightly"
    assert _part(steep, "and slightly lower").holds is False
    assert _part(steep, "the loss plateaus").holds is False  # 0.2 is far above 0.106-0.119


def test_claim1_loss_the_same_or_slightly_lower_holds_higher_beyond_the_tolerance_fails():
    def holds(high: float) -> Part:
        return _part(_basins(_result([0.0, 0.3, 0.7], [PLATEAU[0], PLATEAU[0], PLATEAU[0] * high]))[0], "and slightly")

    assert basins.NOT_HIGHER == 2 * SETTLE_LOSS
    assert holds(1.0).holds is True  # "indistinguishable": the old strict "lower" failed here
    assert holds(1 + 0.5 * basins.NOT_HIGHER).holds is True  # higher, but within twice the settle tolerance
    assert holds(1 + 2 * basins.NOT_HIGHER).holds is False  # higher beyond it
    assert holds(1 - 0.5 * basins.SLIGHTLY).holds is True and holds(1 - 2 * basins.SLIGHTLY).holds is False


def _claim2(b: torch.Tensor, r: torch.Tensor, falling: float = 0.0) -> Finding:
    return _basins(_result([0, 0, 0], PLATEAU, r=r, b=b, falling=falling))[1]


def test_claim2_margin_and_shuffled_biases():
    k = CI.d_hidden
    r = torch.full((3, k), 0.2)
    r[:, :10] = 1.0
    b = torch.full((3, k), 0.3)
    b[:, :10] = -0.5
    good = _claim2(b, r)
    assert good.verdict == "agree" and good.headline[1] == "mono -0.50, poly +0.30 (medians)"
    split = basins.bias_split(_result([0, 0, 0], PLATEAU, r=r, b=b))
    assert split["n_mono"] == 30 and split["n_poly"] == 3 * (k - 10) and split["median_mono"] == -0.5
    shuffled = b.flatten()[torch.randperm(b.numel(), generator=torch.Generator().manual_seed(0))].view_as(b)
    assert _claim2(shuffled, r).verdict != "agree"
    barely = torch.where(b > 0, torch.full_like(b, 0.01), b)  # +0.01 is not clearly positive
    assert _part(_claim2(barely, r), "polysemantic").holds is False


def test_claim2_moderate_fails_too_deep_and_too_shallow():
    k = CI.d_hidden
    r = torch.full((3, k), 0.2)
    r[:, :10] = 1.0
    sqrt_eps = CI.base().eps ** 0.5  # 0.125 at eps = 1/64

    def moderate(bias: float) -> Part:
        b = torch.full((3, k), 0.3)
        b[:, :10] = bias
        return _part(_claim2(b, r), "moderate")

    assert moderate(-4 * sqrt_eps).holds is True
    assert moderate(-3.0).holds is False  # -24 sqrt(eps): many times the typical input, not moderate
    assert moderate(-(basins.MODERATE_MAX + 0.5) * sqrt_eps).holds is False
    shallow = moderate(-0.8 * basins.MODERATE_MIN * sqrt_eps)  # clearly negative, but small: the transition region
    assert shallow.holds is False and -0.8 * sqrt_eps < -basins.CLEAR_BIAS


def test_claim2_is_untestable_on_unsettled_models():
    k = CI.d_hidden
    r = torch.full((3, k), 0.2)
    r[:, :10] = 1.0
    b = torch.full((3, k), -3.0)  # every part would fail
    finding = _claim2(b, r, falling=0.05)
    assert all(p.holds is None for p in finding.parts) and finding.verdict == "not testable here"


def test_spread_and_spearman():
    assert prose.spread([0.5]) == "0.50" and prose.spread([0.1, 0.5, 0.3]) == "0.30 [0.10, 0.50]"
    assert abs(claims.spearman([1, 2, 3], [10, 20, 30]) - 1.0) < 1e-6
    assert abs(claims.spearman([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-6


def test_a_part_that_says_why_it_cannot_be_tested_is_untestable_and_says_what_would_test_it():
    part = Part("peak", "", "", "", False, untestable="the grid starts at N/2: it cannot show a rise")
    assert part.holds is None and part.status == f"{claims.UNTESTABLE}: the grid starts at N/2: it cannot show a rise"
    finding = Finding("7. c", (part, Part("rise", "", "", "", True)))
    assert finding.verdict == "agree" and finding.needs == "the grid starts at N/2: it cannot show a rise"
    assert Finding("7. c", (Part("x", "", "", "", None),)).needs == "a run that has what the test reads"


def test_needs_briefly_is_the_longest_run_and_the_count_of_other_reasons():
    moving = claims.Gate(n_models=2, n_settled=1, steps=2**14)
    decay = claims.Gate(n_models=2, n_settled=2, steps=2**14, decay_steps=2**19, decay_text="decay 0.003 at lr 0.003")
    assert Finding("1. c", (Part("a", "", "", "", True, moving),)).needs_briefly == "runs longer than 2^14 steps"
    both = (
        Part("a", "", "", "", True, moving),
        Part("b", "", "", "", True, decay),
        Part("c", "", "", "", None, untestable="one seed"),
    )
    assert Finding("1. c", both).needs_briefly == "runs of >= 2^19 steps and 1 other reason"
    assert Finding("1. c", (Part("a", "", "", "", True),)).needs_briefly == ""
