"""Chapter 5 (feature sparsity, claim 8): the transition read-off, the loss-fall step, the bias the decay leaves,
the row choices, and each part of claim 8 on hand-built results where it must hold and where it must fail."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from conftest import make_result
from matplotlib.figure import Figure

from monosem import tables
from monosem.chapters import sparsity
from monosem.chapters.sparsity import Sparsity, transition
from monosem.chapters.sparsity import figures as sparsity_figures
from monosem.config import make_sweep
from monosem.profiles import get_profile

CI = get_profile("ci")
LOG2_EPS = (-8, -7, -6, -5, -4, -3, -2, -1)
# The paper's picture, eps ascending: a peak at 2^-5 (eps N = d/4 at N / d = 8), 90 % of it crossed at eps N / d =
# 0.35, 10 % at 2.9, and a fall towards sparse data.
FAST = [0.3, 0.6, 0.9, 1.0, 0.8, 0.5, 0.2, 0.02]
SLOW = [0.7, 0.8, 0.95, 1.0, 0.8, 0.5, 0.2, 0.02]


def test_transition_interpolates_in_log_eps_from_the_peak():
    eps = [2.0**x for x in (-6, -5, -4, -3, -2)]
    t = transition(eps, [0.5, 1.0, 0.8, 0.5, 0.0])
    assert t.peak_eps == 2**-5 and t.peak == 1.0
    assert math.log2(t.start_eps) == pytest.approx(-4.5)  # halfway from 1.0 to 0.8
    assert math.log2(t.end_eps) == pytest.approx(-2.2)  # 0.4 / 0.5 of the way from 0.5 to 0.0
    shuffled = transition(eps[::-1], [0.0, 0.5, 0.8, 1.0, 0.5])
    assert shuffled == t


def test_transition_is_nan_where_it_cannot_be_read():
    eps = [2.0**-5, 2.0**-4, 2.0**-3]
    assert all(math.isnan(v) for v in transition([], []))
    never_falls = transition(eps, [0.2, 0.9, 1.0])  # the peak is the densest point
    assert math.isnan(never_falls.start_eps) and math.isnan(never_falls.end_eps)
    dead = transition(eps, [0.0, 0.0, 0.0])
    assert dead.peak == 0 and math.isnan(dead.start_eps)
    half_way = transition(eps, [1.0, 0.5, 0.4])  # below 90 %, never below 10 %
    assert math.isfinite(half_way.start_eps) and math.isnan(half_way.end_eps)
    plateau = transition(eps, [1.0, 1.0, 0.0])  # ties: the transition starts at the densest maximum
    assert plateau.peak_eps == 2**-4


# The run length of the hand-built rows whose parts are tested: the paper profile's 2^20, over which E1 and E3's decays
# have done their job (E4's has not).
LONG = 2**20


def _loss(steps: list[float], n_steps: int) -> dict[str, torch.Tensor]:
    """16 recorded losses over the run: 1.5 until each instance's step, then 0.5 (flat at the end: settled)."""
    at = torch.arange(0, n_steps, n_steps // 16, dtype=torch.float32)
    loss = torch.stack([torch.where(at < s, 1.5, 0.5) for s in steps])
    return {"loss_steps": at, "loss": loss, "final_loss": torch.full((len(steps),), 0.5)}


def _row(
    name: str,
    mono: list[float],
    fall: list[float] | None = None,
    falling: set[int] = frozenset(),
    n_steps: int = 256,
    plateau: set[int] = frozenset(),
):
    """Row `name` at `n_steps` (its Table 1 lr and decay): # mono / # features `mono` per density (eps ascending), the
    loss falling at step fall[i] (in 256ths of the run); `falling`: still falling over the second half (not settled);
    `plateau`: its held-out loss 0.95 x the constant output's (not settled: LEARNED)."""
    base = CI.base(n_steps=n_steps, lr=sparsity.E_LR, bias_decay=sparsity.E_ROWS[name], init_bias=-1.0)
    sweep = make_sweep(name, base, eps=[2.0**x for x in LOG2_EPS])
    n, k, n_features = sweep.n_inst, CI.d_hidden, CI.n_features
    r = torch.zeros(n, k)
    for i, m in enumerate(mono):
        r[i, : round(m * n_features)] = 1.0
    arrays = _loss([f * n_steps / 256 for f in (fall or [64.0] * n)], n_steps)
    for i in falling:
        arrays["loss"][i] = torch.linspace(1.5, 0.5, arrays["loss"].shape[1])
    const = torch.full((n,), 15.0)
    for i in plateau:
        const[i] = float(arrays["loss"][i, -1]) / 0.95
    return make_result(sweep, r=r, heldout_const=const, **arrays)


def _res(fast=FAST, slow=SLOW, fall=None, falling=frozenset(), n_steps=LONG, plateau=frozenset()) -> Sparsity:
    fall = fall or [128.0, 112.0, 80.0, 64.0, 64.0, 64.0, 64.0, 64.0]  # flat over the second half: settled
    rows = {name: _row(name, mono, fall, falling, n_steps, plateau) for name, mono in (("E1", fast), ("E3", slow))}
    return Sparsity(CI, rows)


def _parts(res: Sparsity) -> dict[str, object]:
    return {p.text.split(",")[0].split(" (")[0]: p for p in sparsity.findings(res)[0].parts}


def _holds(res: Sparsity) -> dict[str, bool | None]:
    return {text: p.holds for text, p in _parts(res).items()}


def test_loss_fall_step_finds_the_drop_and_inf_when_there_is_none():
    result = _row("E1", FAST, [64.0, 128.0, 256.0, 64.0, 64.0, 64.0, 64.0, 64.0])
    steps = sparsity.loss_fall_step(result)
    assert steps[0] == 64 and steps[1] == 128  # the 8-record window is centred on the drop
    assert math.isinf(steps[2])  # still at its first value at the end of the run
    assert torch.isfinite(steps[3:]).all()
    result.loss[4] = 1.5 - 0.1 * (torch.arange(16) % 2)  # noise around a loss that never falls
    result.final_loss[4] = 1.45
    assert math.isinf(sparsity.loss_fall_step(result)[4])


def test_claim8_holds_on_the_papers_picture():
    res = _res()
    finding = sparsity.findings(res)[0]
    assert finding.verdict == "agree", [(p.text, p.this_run, p.status) for p in finding.parts]
    assert finding.number == 8
    assert finding.headline == ("peak near eps = 2^-5 (Fig. 18)", "peak at eps = 2^-5 (E1)")


def test_claim8_fails_on_a_sharp_step_a_misplaced_peak_and_equal_decays():
    step = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # a phase transition between two grid points
    assert _holds(_res(fast=step, slow=step))["smoothly"] is False
    sparse_peak = [1.0, 0.9, 0.5, 0.3, 0.2, 0.1, 0.05, 0.0]  # peak at 2^-8, transition from d/32
    holds = _holds(_res(fast=sparse_peak, slow=sparse_peak))
    assert holds["monosemanticity peaks near eps = 2^-5"] is False
    assert holds["the transition to polysemantic starts near eps N = d/4"] is False
    assert holds["with a fixed decay"] is False  # no drop towards sparse data
    assert _holds(_res(slow=FAST))["slower decay is more monosemantic in the sparse regime"] is False
    flat = _holds(_res(fall=[64.0] * 8))
    assert flat["sparser data learns more slowly"] is False


def test_claim8_cannot_test_parts_whose_models_have_not_settled():
    holds = _holds(_res(falling={0, 1, 2}))  # every model with eps N / d <= 1/8 still learning
    assert holds["slower decay is more monosemantic in the sparse regime"] is None
    assert holds["with a fixed decay"] is None
    assert holds["monosemanticity peaks near eps = 2^-5"] is None  # its sparser neighbour may still overtake it
    assert holds["sparser data learns more slowly"] is None  # the sparsest model
    assert holds["the transition to polysemantic starts near eps N = d/4"] is True  # read from settled models
    assert holds["and is nearly complete near eps N = 2d"] is True
    peak_learning = sparsity.findings(_res(falling={3}))[0]  # the peak model itself
    assert all(p.holds is None for p in peak_learning.parts[:5])
    assert peak_learning.parts[5].holds is True  # the sparse comparison does not read the peak
    assert "not settled at eps = 2^-5" in peak_learning.parts[1].this_run
    assert "0.35" in peak_learning.parts[1].this_run  # the reading is still shown
    assert peak_learning.parts[1].status.startswith("cannot be tested at this scale: 1 of 2 models not settled")


def test_claim8_counts_a_model_on_its_initial_plateau_as_not_settled():
    # flat losses, but at 0.95 of the constant output's: the old rule counted them converged
    parts = _parts(_res(plateau={0, 1, 2}))
    assert parts["slower decay is more monosemantic in the sparse regime"].holds is None
    assert parts["with a fixed decay"].holds is None
    assert "not settled" in parts["with a fixed decay"].status
    assert parts["the transition to polysemantic starts near eps N = d/4"].holds is True


def test_claim8_learning_that_never_happens_within_the_run_is_not_a_slower_step():
    # the sparsest model's loss never falls, yet (hand-built) it has settled: its step is infinite, no ratio
    never = [10.0**6, 112.0, 80.0, 64.0, 64.0, 64.0, 64.0, 64.0]
    part = _parts(_res(fall=never))["sparser data learns more slowly"]
    assert part.holds is None and part.gate.open
    assert "not within the run" in part.this_run
    assert _holds(_res())["sparser data learns more slowly"] is True  # 128 against 64 steps: twice as slow


def test_claim8_is_not_testable_where_the_decay_has_not_done_its_job():
    finding = sparsity.findings(_res(n_steps=256))[0]  # every model settled, but 256 steps: no decay done
    assert finding.verdict == "not testable here"
    assert all(p.holds is None and "the bias decay" in p.status for p in finding.parts if p.gate is not None)
    assert "2^15.6 steps" in finding.needs  # E1, the fastest decay: 2 ln 10 / (0.03 x 0.003)


def test_claim8_compares_the_slowest_decay_that_has_done_its_job():
    rows = {name: _row(name, mono, n_steps=LONG) for name, mono in (("E1", FAST), ("E3", SLOW), ("E4", FAST))}
    res = Sparsity(CI, rows)
    assert sparsity.done_rows(res) == ["E1", "E3"]  # E4 needs 2^20.5 steps
    part = _parts(res)["slower decay is more monosemantic in the sparse regime"]
    assert part.this_run.startswith("E3 vs E1") and part.holds is True
    alone = Sparsity(CI, {"E1": rows["E1"], "E4": rows["E4"]})  # E4 is the only slower row: not done
    part = _parts(alone)["slower decay is more monosemantic in the sparse regime"]
    assert part.holds is None and "decay 0.001" in part.status


def test_read_from_names_the_models_each_reading_rests_on():
    result = _row("E1", FAST)
    t = sparsity.row_transition(result)
    used = {k: [math.log2(e) for e in v] for k, v in sparsity.read_from(result, t).items()}
    assert used == {"peak": [-6, -5, -4], "start": [-5, -5, -4], "end": [-5, -2, -1]}
    assert sparsity.not_settled(_row("E1", FAST, falling={2}), [2**-6, 2**-5]) == [2**-6]
    half_way = sparsity.row_transition(_row("E1", [0.2, 0.5, 0.9, 1.0, 0.8, 0.5, 0.3, 0.2]))  # never below 10 %
    used = sparsity.read_from(_row("E1", FAST), half_way)["end"]
    assert [math.log2(e) for e in used] == [-5, -4, -3, -2, -1]  # "never falls that far" rests on every denser model


def test_rows_decays_and_grids():
    paper, cpu = get_profile("paper"), get_profile("cpu")
    assert sparsity.trace_row(sparsity.E_ROWS, paper) == "E3"  # the paper's own Fig. 19 row
    assert sparsity.trace_row(("E1", "E2"), cpu) == "E1"  # 48 % left at cpu, the nearest to E3's 0.9 % at paper
    left = sparsity.bias_left_table(cpu)
    assert left["left at cpu"].iloc[0] == pytest.approx((1 - 0.03 * 0.003) ** 2**13)
    assert left["left at paper"].iloc[2] == pytest.approx((1 - 0.003 * 0.003) ** 2**19)  # paper's 2^20 steps
    assert list(left["row"]) == ["E1", "E2", "E3 (not trained here)", "E4 (not trained here)"]
    assert list(left.iloc[:, -1]) == ["2^15.6", "2^17.2", "2^19", "2^20.5"]
    assert f"{left['left at cpu'].iloc[0]:.1%}" in tables.show_bias_left(left).to_html()
    assert [s.name for s in sparsity.sweeps(paper)] == ["E1", "E2", "E3", "E4"]
    # the paper's Fig. 19 runs to 2^20 steps; cpu and ci train their profile's steps (their cached sweeps unchanged)
    assert {c.n_steps for s in sparsity.sweeps(paper) for c in s.configs} == {2**20}
    for p in (cpu, CI):
        assert {c.n_steps for s in sparsity.sweeps(p) for c in s.configs} == {p.n_steps}
    done = [n for n in sparsity.E_ROWS if sparsity.decay_done(sparsity.e_sweep(paper, n).configs[0])]
    assert done == ["E1", "E2", "E3"]
    assert all(len(s.configs) >= 8 for s in sparsity.sweeps(paper))  # at least 8 densities, dense to very sparse
    # the cpu budget: 12 minutes at about 30 s per model of the cpu profile's size
    assert sum(s.n_inst for s in sparsity.sweeps(cpu)) <= 24


def test_boundary_indices_pick_eps_n_near_d_and_its_neighbours():
    result = _row("E1", FAST)  # N / d = 8 at ci: eps N = d at eps = 2^-3
    picked = sparsity.boundary_indices(result)
    assert [math.log2(result.values("eps")[i]) for i in picked] == [-4, -3, -2]


def test_against_density_has_three_panels_and_stays_out_of_pyplot():
    before = plt.get_fignums()
    res = _res()
    fig = sparsity_figures.against_density(res.labelled(), {"d/4": 0.25, "2d": 2.0}, span=(0.35, float("nan")))
    assert isinstance(fig, Figure)
    assert sum(1 for ax in fig.axes if ax.get_visible()) == 3
    assert len(fig.axes[1].get_lines()) == 3 * 2 + 2  # per row: a line, converged and hollow markers; 2 marks
    assert plt.get_fignums() == before
