"""Chapter 3 (L1): the grids, the RG1 sweeps, the crossing of the recipe's monosemanticity, and claim 6 on
hand-built results where each part must hold and where it must fail; the chapter's figures."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from conftest import make_result
from matplotlib.figure import Figure

from monosem import claims, plotting
from monosem.experiments import basins, l1, negative_bias
from monosem.profiles import get_profile
from monosem.results import SweepResult
from monosem.training import train

CI = get_profile("ci")


def _result(sweep, mono, loss, falling=0.0) -> SweepResult:
    """A result whose instance i has # mono / # features mono[i] and a flat loss loss[i] (or one still falling by
    `falling` (one value, or one per instance) per window of the 256-step ci run)."""
    n, k, n_features = sweep.n_inst, CI.d_hidden, CI.n_features
    r = torch.zeros(n, k)
    for i, m in enumerate(mono):
        r[i, : round(m * n_features)] = 1.0
    final = torch.tensor(loss, dtype=torch.float32)
    steps = torch.arange(0, CI.n_steps, 16)
    t = torch.arange(len(steps), dtype=torch.float32) / 2
    falling = torch.as_tensor(falling, dtype=torch.float32).expand(n)[:, None]
    trace = final[:, None] * (1 + falling * (t.max() - t)[None, :])
    return make_result(sweep, final_loss=final, r=r, loss_steps=steps, loss=trace)


def _l1(zero_mono, zero_loss, recipe_mono=0.6, recipe_loss=0.5, rg1z_falling=0.0, recipe_falling=0.0) -> l1.L1:
    """Hand-built chapter results at the ci profile: RG1Z's models (l1 = 0 first, then the grid) as given, the
    recipe's seeds at lr 0.005 all at (recipe_mono, recipe_loss)."""
    lr3_sweep = negative_bias.lr3(CI)
    at = [c.lr == l1.RG1_LR for c in lr3_sweep.configs]
    lr3 = _result(
        lr3_sweep,
        [recipe_mono if a else 0.0 for a in at],
        [recipe_loss if a else 1.0 for a in at],
        falling=recipe_falling,
    )
    lr1_sweep = basins.lr1(CI)
    lr1 = _result(lr1_sweep, [0.0] * lr1_sweep.n_inst, [0.6] * lr1_sweep.n_inst)
    rg1_sweep = l1.rg1(CI)
    rg1 = _result(rg1_sweep, [recipe_mono] * rg1_sweep.n_inst, [recipe_loss] * rg1_sweep.n_inst)
    rg1z = _result(l1.rg1_zero(CI), zero_mono, zero_loss, falling=rg1z_falling)
    return l1.L1(CI, lr1, lr3, rg1, rg1z)


def _part(finding: claims.Finding, text: str) -> claims.Part:
    return next(p for p in finding.parts if p.text.startswith(text))


# RG1Z at ci: l1 = 0, 1e-3, 1e-2. A clean result: L1 climbs to the recipe's monosemanticity at a small loss cost
# and the strongest penalty costs more loss than "comparable".
CLEAN = ([0.0, 0.2, 0.6], [0.5, 0.49, 0.52])


def test_grids_are_log_spaced_and_bracket_the_paper_range():
    for name in ("cpu", "paper"):
        values = l1.grid(get_profile(name)).l1s
        assert len(values) >= 6 and all(v > 0 for v in values)
        ratios = [b / a for a, b in zip(values, values[1:], strict=False)]
        assert all(2.5 < q <= 10.0 + 1e-9 for q in ratios), (name, ratios)
    paper = l1.grid(get_profile("paper")).l1s
    assert min(paper) <= 1e-7 and max(paper) >= 1.0  # Fig. 14's colour bar: log10 l1 from -7 to 0


def test_rg1_sweeps_keep_the_recipe_and_differ_only_in_the_bias():
    for name in ("ci", "cpu", "paper"):
        profile = get_profile(name)
        rg1, zero = l1.rg1(profile), l1.rg1_zero(profile)
        assert dict(rg1.axes) == {"l1": l1.grid(profile).l1s}
        assert dict(zero.axes)["l1"] == (0.0, *l1.grid(profile).l1s)
        assert {(c.lr, c.bias_decay, c.init_bias) for c in rg1.configs} == {(0.005, 0.03, -1.0)}
        assert {(c.lr, c.bias_decay, c.init_bias) for c in zero.configs} == {(0.005, 0.03, 0.0)}
        # the l1 = 0, bias -1 model is LR3's at lr 0.005: the reference comes from chapter 2, not retrained
        assert rg1.base.replace(l1=0.0) in negative_bias.lr3(profile).configs


def test_crossing_interpolates_in_log_l1():
    hit = l1.crossing([1e-4, 1e-3, 1e-2], [0.1, 0.3, 0.7], [0.5, 0.52, 0.6], target=0.5)
    assert hit["l1"] == pytest.approx(10**-2.5) and hit["loss"] == pytest.approx(0.56)
    assert (hit["l1_below"], hit["l1_above"], hit["interpolated"]) == (1e-3, 1e-2, 1.0)
    first = l1.crossing([1e-4, 1e-3], [0.6, 0.7], [0.5, 0.52], target=0.5)
    assert first["l1"] == 1e-4 and first["loss"] == 0.5 and not first["interpolated"]
    assert l1.crossing([1e-4, 1e-3], [0.1, 0.2], [0.5, 0.5], target=0.5) is None


def test_claim6_agrees_on_a_clean_result():
    finding = l1.claim6(_l1(*CLEAN))
    assert finding.verdict == "agree", claims.table([finding])
    c = l1.comparison(_l1(*CLEAN))
    assert c["best_l1"] == 1e-2 and c["matched"] and c["match_loss_cost"] == pytest.approx(0.04, abs=1e-6)


def test_claim6_fails_when_l1_stays_polysemantic_or_costs_loss():
    weak = l1.claim6(_l1([0.0, 0.1, 0.3], CLEAN[1]))  # best 0.3 < 0.8 x 0.6
    assert _part(weak, "the recipe and the best L1").holds is False
    assert _part(weak, "where L1 matches").holds is None  # never reaches 0.6: not tested
    beyond = l1.claim6(_l1([0.0, 0.2, 1.0], CLEAN[1]))  # L1 far more monosemantic than the recipe: not comparable
    assert _part(beyond, "the recipe and the best L1").holds is False
    costly = l1.claim6(_l1(CLEAN[0], [0.5, 0.49, 0.6]))  # +20 % at the best L1 model
    assert _part(costly, "at comparable loss").holds is False
    cheaper = l1.claim6(_l1(CLEAN[0], [0.5, 0.49, 0.45]))  # L1 matches at a lower loss than the recipe's (-10 %)
    assert _part(cheaper, "at comparable loss").holds is False
    assert _part(cheaper, "where L1 matches").holds is False
    assert _part(cheaper, "regularising too strongly").holds is False  # the strongest has the lowest loss
    flat = l1.claim6(_l1([0.0, 0.6, 0.62], CLEAN[1]))  # the weakest l1 is already as good as the best
    assert _part(flat, "regularising too weakly").holds is False


def test_claim6_loss_still_falling_is_not_counted():
    finding = l1.claim6(_l1(*CLEAN, rg1z_falling=0.05))
    assert _part(finding, "the runs have reached").holds is False
    # only the model below the crossing still falling: the best L1 model counts, the match does not
    below = l1.claim6(_l1(*CLEAN, rg1z_falling=[0.0, 0.05, 0.0]))
    assert _part(below, "the recipe and the best L1").holds is True
    assert _part(below, "where L1 matches").holds is None and "not both converged" in _part(below, "where").this_run
    for text in ("the recipe and the best L1", "at comparable loss", "where L1 matches", "regularising too"):
        assert _part(finding, text).holds is None, text
    recipe_falling = l1.claim6(_l1(*CLEAN, recipe_falling=0.05))  # the other side of the comparison
    for text in ("the recipe and the best L1", "at comparable loss", "where L1 matches"):
        assert _part(recipe_falling, text).holds is None, text
    assert "not converged" not in l1.best_text(_l1(*CLEAN).rg1z, l1.reference(_l1(*CLEAN).lr3))
    assert "none of the L1 models has converged" in l1.best_text(
        _l1(*CLEAN, rg1z_falling=0.05).rg1z, l1.reference(_l1(*CLEAN).lr3)
    )


def test_numbers_are_finite_on_a_clean_result():
    values = l1.numbers(_l1(*CLEAN))
    for key in ("best_mono", "best_loss", "match_l1", "match_loss_cost", "recipe_mono", "zero_mono"):
        assert math.isfinite(values[key]), key


@pytest.fixture(scope="module")
def trained() -> SweepResult:
    return train(l1.rg1_zero(CI), progress=False)


def test_figures_have_their_panels_and_stay_out_of_pyplot(trained):
    before = plt.get_fignums()
    refs = {"no L1": (trained, [0])}
    figs = {
        "final": (plotting.against_strength({"a": trained, "b": trained}, refs), 2),
        "traces": (plotting.strength_traces(trained, {"no L1": (trained, 0)}), 3),
        "heatmaps": (plotting.instance_heatmaps({"a": (trained, 1), "b": (trained, 2)}), 2),
    }
    for name, (fig, panels) in figs.items():
        assert isinstance(fig, Figure), name
        data_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert len(data_axes) == panels, name
    # the l1 = 0 model is drawn as a reference line, not on the log axis
    assert all(x > 0 for line in figs["final"][0].axes[0].lines for x in line.get_xdata() if len(line.get_xdata()) > 2)
    assert plt.get_fignums() == before
