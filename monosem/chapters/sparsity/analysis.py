"""Chapter 5, feature sparsity (paper Section 4.1.5): claim 8.

Table 1's E1-E4: the decoder with initial mean bias -1 at lr 0.003 and one bias decay per row (0.03, 0.01, 0.003,
0.001), each row sweeping the feature density eps. One sweep per row (eps and the decay do not change tensor
shapes, so the whole grid could train as one batched model; one sweep per row keeps each comparable with its
Table 1 row and lets a profile train a subset of the rows).

The tools the claim needs are here, each tested: the peak of # mono / # features against eps and where it falls to
90 % and 10 % of that peak on the dense side (`transition`, interpolated in log eps), the step at which the loss
has fallen halfway (`loss_fall_step`), and how much of the initial bias the decay alone leaves (`bias_left_table`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd
import torch
from torch import Tensor

from monosem import tables
from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.sparsity.train import sweeps
from monosem.claims import Finding, Gate, Part, rule_values, settled_gate
from monosem.config import ModelConfig
from monosem.metrics import mono_fraction
from monosem.paper import (
    E_GRIDS,
    E_LR,
    E_ROWS,
    EGrid,
    bias_left,
    decay_steps,
    e_steps,
    e_sweep,
    log2_steps,
)
from monosem.profiles import PROFILES, Profile
from monosem.prose import eps_text, grid_texts, scale_numbers
from monosem.results import SweepResult

__all__ = [
    "PAPER_TRACE_ROW",
    "HEATMAP_ROW",
    "Sparsity",
    "load",
    "PAPER_START",
    "PAPER_END",
    "PAPER_PEAK_LOG2_EPS",
    "START_LEVEL",
    "END_LEVEL",
    "NEAR_OCTAVES",
    "SMOOTH_OCTAVES",
    "SPARSE",
    "SLOWER",
    "SMOOTH_RECORDS",
    "MIN_FALL",
    "Transition",
    "transition",
    "curve",
    "row_transition",
    "read_from",
    "not_settled",
    "decay_done",
    "gate_at",
    "done_rows",
    "loss_fall_step",
    "trace_row",
    "boundary_indices",
    "done_rows_at",
    "grid_text",
    "transition_table",
    "bias_left_table",
    "sparse_comparison",
    "slower_learning",
    "claim8",
    "findings",
    "glue_values",
    "E_LR",
    "E_ROWS",
    "e_sweep",
]

# The row of the paper's Fig. 19 (training traces at several densities), whose caption states the transition.
PAPER_TRACE_ROW = "E3"


# The row of the paper's Fig. 20 (single-feature activations near eps N = d).
HEATMAP_ROW = "E1"


@dataclass(frozen=True)
class Sparsity:
    profile: Profile
    rows: dict[str, SweepResult]  # the trained rows of E1-E4, by name

    @property
    def n_over_d(self) -> float:
        cfg = next(iter(self.rows.values())).configs[0]
        return cfg.n_features / cfg.d_embed

    def labelled(self) -> dict[str, SweepResult]:
        """The rows labelled with their bias decays, for figures."""
        return {f"{name} (decay {E_ROWS[name]:g})": r for name, r in self.rows.items()}


def load(profile: Profile, cache: Cache | None = None) -> Sparsity:
    """The chapter's trained results, read from the cache (NotTrained names the command that trains them)."""
    cache = reader(profile, cache, "sparsity")
    return Sparsity(profile, {s.name: cache.get_or_train(s) for s in sweeps(profile)})


# The paper's marks in units of eps N / d: the transition "begins around eps = 2^-5, at which point eps N = d/4" and
# "by the time eps N ~ 2d there are almost no monosemantic neurons left" (Fig. 19 caption, N = 512, d = 64).
PAPER_START = 0.25


PAPER_END = 2.0


# "We see a peak in monosemanticity around feature frequency eps = 2^-5" (Section 4.1.5).
PAPER_PEAK_LOG2_EPS = -5.0


# Where the transition is read off: # mono / # features falls, on the dense side of its peak, to 90 % of the peak
# ("begins": out of the peak's plateau) and to 10 % ("almost no monosemantic neurons left").
START_LEVEL = 0.9


END_LEVEL = 0.1


# "Near" / "around": within one octave (a factor 2 in eps), the spacing of the density grids away from eps N = d.
NEAR_OCTAVES = 1.0


# "Smooth, no sharp phase transition": the 90 %-to-10 % fall spans at least this many octaves. A step between two
# neighbouring grid points (at most one octave apart) reads as less than one octave; the paper's d/4 to 2d is three.
SMOOTH_OCTAVES = 1.5


# The sparse regime: eps N / d at most this, one octave below where the paper's transition begins.
SPARSE = 1 / 8


# "Learns more slowly": the loss takes at least this many times as many steps to fall halfway at the sparsest
# density as at eps = 2^-5, a difference well outside the 16-step spacing of the recorded losses. A loss that has not
# fallen halfway within the run (`loss_fall_step` inf) has no step to compare: the part cannot be tested then, neither
# passes (slower than the run can show is not a measured ratio) nor fails (the paper's sparse models did learn, over
# longer runs); such a model has in any case not settled (it is on its initial plateau: `monosem.results.LEARNED`).
SLOWER = 2.0


# The loss-fall step averages the recorded losses (one every 16 steps) over this many records.
SMOOTH_RECORDS = 8


# A loss that falls by less than this fraction of its first value over the whole run has not started to learn: its
# halfway point would be the noise of single-batch losses.
MIN_FALL = 0.1


class Transition(NamedTuple):
    """Where # mono / # features peaks against eps, its value there, and the eps at which it has fallen to
    START_LEVEL and END_LEVEL of the peak on the dense side (nan when it does not within the grid)."""

    peak_eps: float
    peak: float
    start_eps: float
    end_eps: float


def transition(
    eps: Sequence[float], mono: Sequence[float], levels: tuple[float, float] = (START_LEVEL, END_LEVEL)
) -> Transition:
    """The peak of `mono` against `eps` (the densest one if several tie) and, walking from it towards denser data,
    the first eps at which `mono` falls to each level x peak, linearly interpolated in log2 eps between the grid
    points on either side. Values at any eps order; nan everywhere when there are none, nan crossings when the peak
    is 0 or the curve does not fall that far within the grid."""
    nan = float("nan")
    if len(eps) == 0:
        return Transition(nan, nan, nan, nan)
    points = sorted(zip((float(e) for e in eps), (float(m) for m in mono), strict=True))
    xs = [math.log2(e) for e, _ in points]
    ys = [m for _, m in points]
    top = max(range(len(ys)), key=lambda i: (ys[i], i))
    peak = ys[top]

    def crossing(level: float) -> float:
        target = level * peak
        if peak <= 0:
            return nan
        for i in range(top + 1, len(ys)):
            if ys[i] <= target:
                t = (ys[i - 1] - target) / (ys[i - 1] - ys[i])
                return 2.0 ** (xs[i - 1] + t * (xs[i] - xs[i - 1]))
        return nan

    return Transition(points[top][0], peak, crossing(levels[0]), crossing(levels[1]))


def curve(result: SweepResult) -> tuple[list[float], list[float]]:
    """One row's (eps, # mono / # features), eps ascending, every model."""
    points = sorted(zip(result.values("eps"), (float(m) for m in result.mono_per_feature()), strict=True))
    return [e for e, _ in points], [m for _, m in points]


def row_transition(result: SweepResult) -> Transition:
    """`transition` of one row, read from every model (settled or not: the parts' gates read `read_from`)."""
    return transition(*curve(result))


def read_from(result: SweepResult, t: Transition) -> dict[str, list[float]]:
    """The densities of the models each reading of `t` rests on: "peak" (the peak and its grid neighbours, which
    make it a peak), "start" and "end" (the peak, which sets the level, and the two grid points the crossing is
    interpolated between; where there is no crossing, the peak and every denser model, none of which falls that
    far)."""
    grid_eps = sorted(result.values("eps"))
    if not math.isfinite(t.peak_eps):
        return {"peak": [], "start": [], "end": []}
    i = grid_eps.index(t.peak_eps)

    def bracket(c: float) -> list[float]:
        if not math.isfinite(c):
            return grid_eps[i:]
        return [t.peak_eps, max(e for e in grid_eps if e < c), min(e for e in grid_eps if e >= c * (1 - 1e-9))]

    return {"peak": grid_eps[max(0, i - 1) : i + 2], "start": bracket(t.start_eps), "end": bracket(t.end_eps)}


def not_settled(result: SweepResult, eps: Iterable[float]) -> list[float]:
    """Of the densities `eps`, those whose model in `result` has not settled (`SweepResult.converged`)."""
    ok = dict(zip(result.values("eps"), result.converged().tolist(), strict=True))
    return sorted({e for e in eps if not ok[e]})


def _still(eps: list[float]) -> str:
    return f" (not settled at eps = {', '.join(eps_text(e) for e in eps)})" if eps else ""


def decay_done(cfg: ModelConfig) -> bool:
    """Whether the bias decay alone leaves at most DECAY_DONE of the initial bias at mid-run (the test of
    `monosem.claims.Gate`)."""
    return cfg.n_steps >= decay_steps(cfg.bias_decay, cfg.lr)


def gate_at(result: SweepResult, eps: Iterable[float]) -> Gate:
    """The gate of the models of one row at the densities `eps`: each settled, and the row's decay done (every part
    of claim 8 rests on the decay)."""
    return settled_gate(result, sorted({result.index(eps=e) for e in eps}), decay=True)


def done_rows(res: Sparsity) -> list[str]:
    """The trained rows whose decay has done its job over their run (which ones depends on the configuration only,
    not on the results), fastest decay first."""
    return [n for n in sorted(res.rows, key=lambda n: -E_ROWS[n]) if decay_done(res.rows[n].configs[0])]


def loss_fall_step(result: SweepResult, fraction: float = 0.5, smooth: int = SMOOTH_RECORDS) -> Tensor:
    """(n,) float: the step at which the loss, averaged over `smooth` consecutive records, has first fallen
    `fraction` of the way from its first record to the final loss (the step at the middle of that window); inf
    where it does not within the run, or where the final loss is less than MIN_FALL below the first record."""
    loss = result.loss.double()
    w = max(1, min(smooth, loss.shape[1]))
    kernel = torch.ones(1, 1, w, dtype=loss.dtype) / w
    means = torch.nn.functional.conv1d(loss[:, None, :], kernel)[:, 0]  # (n, n_rec - w + 1), window j..j+w-1
    target = loss[:, 0] - fraction * (loss[:, 0] - result.final_loss.double())
    learned = result.final_loss.double() <= (1 - MIN_FALL) * loss[:, 0]
    below = (means <= target[:, None]) & learned[:, None]
    steps = result.loss_steps.double()[w // 2 : w // 2 + means.shape[1]]
    first = torch.where(below.any(1), below.double().argmax(1), torch.full_like(target, -1, dtype=torch.long))
    return torch.where(first >= 0, steps[first.clamp(min=0)], torch.full_like(target, math.inf))


def trace_row(rows: Iterable[str], profile: Profile) -> str:
    """Of `rows`, the one whose decay leaves over this profile's run the fraction of the initial bias closest (in
    log) to what the paper's E3 leaves over the paper's run: E3 itself at `paper`; at a shorter run a faster row."""
    goal = math.log(bias_left(E_ROWS[PAPER_TRACE_ROW], E_LR, e_steps(PROFILES["paper"])))
    return min(rows, key=lambda r: abs(math.log(bias_left(E_ROWS[r], E_LR, e_steps(profile))) - goal))


def boundary_indices(result: SweepResult) -> list[int]:
    """The instances at the grid density nearest (in log) to eps N = d and at its neighbours on either side, eps
    ascending: the models the paper shows near the boundary (Fig. 20)."""
    cfg = result.configs[0]
    eps = result.values("eps")
    order = sorted(range(len(eps)), key=lambda i: eps[i])
    middle = min(range(len(order)), key=lambda j: abs(math.log2(eps[order[j]] * cfg.n_features / cfg.d_embed)))
    return order[max(0, middle - 1) : middle + 2]


def done_rows_at(profile_name: str) -> str:
    """The rows a profile trains whose decay has done its job over their run, in words ("none" if none)."""
    profile = PROFILES[profile_name]
    return ", ".join(n for n in E_GRIDS[profile_name].rows if decay_done(e_sweep(profile, n).configs[0])) or "none"


def grid_text(g: EGrid) -> str:
    """A grid of the E rows in words: its rows and its densities as powers of two."""
    return f"rows {', '.join(g.rows)} at eps = {', '.join(eps_text(e) for e in g.eps)}"


def _ratio(eps: float, n_over_d: float) -> str:
    return f"{eps * n_over_d:.2g}" if math.isfinite(eps) else "not reached"


def _octaves(a: float, b: float) -> float:
    return abs(math.log2(a / b)) if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b) else math.inf


def transition_table(res: Sparsity) -> pd.DataFrame:
    """One row per trained E row: its decay, what the decay leaves of the bias here and over the paper's run, the
    settled models, the peak and where the transition starts and ends (in eps N / d), read from every model, and
    whether the models the peak is read from have settled."""
    here, paper = e_steps(res.profile), e_steps(PROFILES["paper"])
    rows = []
    for name, result in res.rows.items():
        t = row_transition(result)
        rows.append(
            (
                name,
                E_ROWS[name],
                bias_left(E_ROWS[name], E_LR, here),
                bias_left(E_ROWS[name], E_LR, paper),
                f"{int(result.converged().sum())} of {result.sweep.n_inst}",
                eps_text(t.peak_eps),
                t.peak,
                "yes" if not not_settled(result, read_from(result, t)["peak"]) else "no",
                _ratio(t.start_eps, res.n_over_d),
                _ratio(t.end_eps, res.n_over_d),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "row",
            "bias decay",
            f"bias left at {res.profile.name}",
            "bias left in the paper",
            "settled",
            "peak at eps",
            "peak # mono / # features",
            "peak and neighbours settled",
            "start (eps N / d)",
            "end (eps N / d)",
        ],
    )


def bias_left_table(profile: Profile) -> pd.DataFrame:
    """What bias decay alone leaves of the initial bias (`monosem.tables.bias_left_table`) for each of E1-E4 (lr
    0.003; a row this profile does not train is marked), over this profile's run and over the run the `paper`
    profile trains them for (2^20 steps)."""
    here, paper = e_steps(profile), e_steps(PROFILES["paper"])
    trained = E_GRIDS.of(profile).rows
    rows = [
        (name if name in trained else f"{name} (not trained here)", E_LR, decay, here, paper)
        for name, decay in E_ROWS.items()
    ]
    return tables.bias_left_table(rows, profile)


def sparse_comparison(res: Sparsity) -> dict[str, Any]:
    """A slower against a faster decay at every sparse density (eps N / d <= SPARSE) both rows have: the slowest and
    the fastest row whose decay has done its job, or, with fewer than two such rows, the two fastest rows (whose gate
    then says what run would test the part). And the fastest row's sparsest sparse model against its peak. Read from
    every model; `gate` and `drop_gate`: the gates of the models each comparison reads."""
    names = sorted(res.rows, key=lambda n: -E_ROWS[n])  # fastest decay first
    done = done_rows(res)
    fast_name, slow_name = (done[0], done[-1]) if len(done) >= 2 else (names[0], names[min(1, len(names) - 1)])
    slow, fast = res.rows[slow_name], res.rows[fast_name]
    s_eps, s_mono = curve(slow)
    f_eps, f_mono = curve(fast)
    sparse = [e for e in f_eps if e * res.n_over_d <= SPARSE + 1e-12]
    both = [e for e in sparse if e in s_eps] if slow_name != fast_name else []
    pairs = {e: (s_mono[s_eps.index(e)], f_mono[f_eps.index(e)]) for e in both}
    t = row_transition(fast)
    sparsest = min(sparse) if sparse else math.nan
    readable = bool(sparse) and t.peak > 0
    return {
        "slow": slow_name,
        "fast": fast_name,
        "n_sparse": len(sparse),
        "pairs": pairs,
        "n_slow_more": sum(s > f for s, f in pairs.values()),
        "gate": gate_at(slow, both) & gate_at(fast, both),
        "fast_peak": t.peak,
        "fast_peak_eps": t.peak_eps,
        "fast_sparsest_eps": sparsest,
        "fast_sparsest": f_mono[f_eps.index(sparsest)] if sparse else math.nan,
        "drop_readable": readable,
        "drop_gate": gate_at(fast, [sparsest, t.peak_eps]) if readable else Gate(),
    }


def slower_learning(res: Sparsity) -> dict[str, Any]:
    """In the trace row: the step at which the loss has fallen halfway, at the sparsest density and at the grid
    density nearest 2^-5, the fraction of the initial bias the decay has removed by then, and the gate of those two
    models."""
    name = trace_row(res.rows, res.profile)
    result = res.rows[name]
    eps = result.values("eps")
    steps = loss_fall_step(result)
    sparsest = min(range(len(eps)), key=lambda i: eps[i])
    ref = min(range(len(eps)), key=lambda i: abs(math.log2(eps[i]) - PAPER_PEAK_LOG2_EPS))
    cfg = result.configs[0]

    def removed(step: float) -> float:
        return 1 - bias_left(cfg.bias_decay, cfg.lr, int(2 * min(step, cfg.n_steps / 2)))

    t_sparse, t_ref = float(steps[sparsest]), float(steps[ref])
    measured = sparsest != ref and math.isfinite(t_sparse) and math.isfinite(t_ref) and t_ref > 0
    return {
        "row": name,
        "sparse_eps": eps[sparsest],
        "ref_eps": eps[ref],
        "t_sparse": t_sparse,
        "t_ref": t_ref,
        "removed_sparse": removed(t_sparse),
        "removed_ref": removed(t_ref),
        "ratio": t_sparse / t_ref if measured else math.nan,
        "measured": measured,
        "gate": gate_at(result, [eps[sparsest], eps[ref]]),
    }


def _steps(t: float) -> str:
    return f"{t:,.0f}" if math.isfinite(t) else "not within the run"


def _rows_text(res: Sparsity) -> str:
    done = done_rows(res)
    return f"rows whose decay has done its job: {', '.join(done)}" if done else "no row whose decay has done its job"


def claim8(res: Sparsity) -> Finding:
    n_over_d = res.n_over_d
    n_models = sum(r.sweep.n_inst for r in res.rows.values())
    n_settled = sum(int(r.converged().sum()) for r in res.rows.values())
    row = trace_row(res.rows, res.profile)
    trace = res.rows[row]
    t = row_transition(trace)
    used = read_from(trace, t)
    still = {k: not_settled(trace, v) for k, v in used.items()}
    peaks = "; ".join(
        f"{name}: {eps_text(tr.peak_eps)} ({tr.peak:.2f})"
        for name, tr in ((n, row_transition(r)) for n, r in res.rows.items())
    )
    # The peak of the rows whose decay has done its job; with none, of the fastest row (whose gate then says what run
    # would test the part).
    candidates = done_rows(res) or [max(res.rows, key=lambda n: E_ROWS[n])]
    best_row = max(candidates, key=lambda n: row_transition(res.rows[n]).peak)
    best = row_transition(res.rows[best_row])
    best_used = read_from(res.rows[best_row], best)["peak"]
    sparse = sparse_comparison(res)
    slow = slower_learning(res)
    readable = t.peak > 0
    start_ok = _octaves(t.start_eps * n_over_d, PAPER_START) <= NEAR_OCTAVES
    end_ok = _octaves(t.end_eps * n_over_d, PAPER_END) <= NEAR_OCTAVES
    width = _octaves(t.end_eps, t.start_eps)
    pairs = ", ".join(f"{eps_text(e)}: {s:.2f} vs {f:.2f}" for e, (s, f) in sparse["pairs"].items())
    parts = (
        Part(
            "monosemanticity peaks near eps = 2^-5",
            "peak around eps = 2^-5 ~ 0.03 (Fig. 18)",
            f"most monosemantic model at eps = {eps_text(best.peak_eps)} ({best_row}, {best.peak:.2f} per feature)"
            f"{_still(not_settled(res.rows[best_row], best_used))}; per row: {peaks}; {_rows_text(res)}; "
            f"{n_settled} of {n_models} models settled",
            f"|log2 eps_peak + 5| <= {NEAR_OCTAVES:g} (NEAR_OCTAVES), over the rows whose decay has done its job; "
            "the peak model and its grid neighbours settled; no peak if no model is monosemantic",
            best.peak > 0 and abs(math.log2(best.peak_eps) - PAPER_PEAK_LOG2_EPS) <= NEAR_OCTAVES,
            gate_at(res.rows[best_row], best_used),
        ),
        Part(
            "the transition to polysemantic starts near eps N = d/4",
            f"eps N / d = {PAPER_START:g} (Fig. 19, batch {PAPER_TRACE_ROW})",
            f"{row}: falls to {START_LEVEL:.0%} of its peak at eps N / d = {_ratio(t.start_eps, n_over_d)} "
            f"(eps = {eps_text(t.start_eps)}){_still(still['start'])}",
            f"within {NEAR_OCTAVES:g} octave of {PAPER_START:g} (NEAR_OCTAVES); START_LEVEL = {START_LEVEL}; the "
            "peak and the models around the crossing settled",
            start_ok,
            gate_at(trace, used["start"]),
            testable=readable,
        ),
        Part(
            "and is nearly complete near eps N = 2d",
            f"almost no monosemantic neurons at eps N / d = {PAPER_END:g} (Fig. 19)",
            f"{row}: falls to {END_LEVEL:.0%} of its peak at eps N / d = {_ratio(t.end_eps, n_over_d)} "
            f"(eps = {eps_text(t.end_eps)}){_still(still['end'])}",
            f"within {NEAR_OCTAVES:g} octave of {PAPER_END:g} (NEAR_OCTAVES); END_LEVEL = {END_LEVEL}; settled as "
            "the start",
            end_ok,
            gate_at(trace, used["end"]),
            testable=readable,
        ),
        Part(
            "smoothly, with no sharp phase transition",
            "smooth (Fig. 20); d/4 to 2d is 3 octaves",
            f"{row}: the fall from {START_LEVEL:.0%} to {END_LEVEL:.0%} spans "
            + (f"{width:.1f} octaves" if math.isfinite(width) else "an unknown width (not both read off)")
            + _still(sorted(set(still["start"]) | set(still["end"]))),
            f">= {SMOOTH_OCTAVES} octaves (SMOOTH_OCTAVES); settled as both readings",
            math.isfinite(width) and width >= SMOOTH_OCTAVES,
            gate_at(trace, [*used["start"], *used["end"]]),
            testable=readable,
        ),
        Part(
            "with a fixed decay, monosemanticity drops as eps -> 0",
            "drops in the sparse limit (Fig. 18)",
            f"{sparse['fast']} (fastest decay): {sparse['fast_sparsest']:.2f} at eps = "
            f"{eps_text(sparse['fast_sparsest_eps'])} against its peak {sparse['fast_peak']:.2f} at "
            f"{eps_text(sparse['fast_peak_eps'])}"
            if sparse["drop_readable"]
            else f"{sparse['fast']}: no model in the sparse regime (or no peak)",
            f"sparsest model with eps N / d <= {SPARSE:g} (SPARSE) below {START_LEVEL} x peak; both settled",
            sparse["fast_sparsest"] < START_LEVEL * sparse["fast_peak"],
            sparse["drop_gate"],
            testable=sparse["drop_readable"],
        ),
        Part(
            "slower decay is more monosemantic in the sparse regime",
            "more monosemantic with slower decay (Fig. 18, lighter colours)",
            f"{sparse['slow']} vs {sparse['fast']}: {pairs or 'no density both have'} "
            f"({len(sparse['pairs'])} sparse {'density' if len(sparse['pairs']) == 1 else 'densities'})",
            f"the slower > the faster decay at every density with eps N / d <= {SPARSE:g} (SPARSE): the slowest and "
            "fastest rows whose decay has done its job, every model settled",
            sparse["n_slow_more"] == len(sparse["pairs"]),
            sparse["gate"],
            testable=bool(sparse["pairs"]),
        ),
        Part(
            "sparser data learns more slowly, so a fixed decay removes more bias first",
            "the bias decays further before the loss falls (Fig. 19)",
            f"{slow['row']}: the loss has fallen halfway at step {_steps(slow['t_sparse'])} at eps = "
            f"{eps_text(slow['sparse_eps'])} ({slow['removed_sparse']:.0%} of the bias decayed by then) vs step "
            f"{_steps(slow['t_ref'])} at {eps_text(slow['ref_eps'])} ({slow['removed_ref']:.0%})",
            f"step ratio >= {SLOWER:g} (SLOWER); both models settled; not testable where a loss has not fallen "
            "halfway within the run",
            slow["ratio"] >= SLOWER,
            slow["gate"],
            testable=slow["measured"],
        ),
    )
    return Finding(
        "8. Feature frequency: a monosemantic peak near eps = 2^-5, a smooth transition from eps N = d/4 to 2d; "
        "sparser data needs slower decay",
        parts,
        "fig-eps-mono",
        headline=("peak near eps = 2^-5 (Fig. 18)", f"peak at eps = {eps_text(best.peak_eps)} ({best_row})"),
    )


def findings(res: Sparsity) -> list[Finding]:
    """Claim 8 (Section 4.1.5)."""
    return [claim8(res)]


def glue_values(res: Sparsity) -> dict[str, Any]:
    out = scale_numbers(res.profile, res.rows.values())
    g = E_GRIDS.of(res.profile)
    row = trace_row(res.rows, res.profile)
    t = row_transition(res.rows[row])
    here, paper = e_steps(res.profile), e_steps(PROFILES["paper"])
    out.update(
        rows=", ".join(g.rows),
        n_rows=len(g.rows),
        n_eps=len(g.eps),
        eps_densest=eps_text(max(g.eps)),
        eps_sparsest=eps_text(min(g.eps)),
        n_models=sum(r.sweep.n_inst for r in res.rows.values()),
        n_settled=sum(int(r.converged().sum()) for r in res.rows.values()),
        n_over_d=res.n_over_d,
        trace_row=row,
        trace_decay=E_ROWS[row],
        heatmap_row=HEATMAP_ROW if HEATMAP_ROW in res.rows else next(iter(res.rows)),
        start=t.start_eps * res.n_over_d,
        end=t.end_eps * res.n_over_d,
        start_eps=eps_text(t.start_eps),
        end_eps=eps_text(t.end_eps),
        peak_eps=eps_text(t.peak_eps),
        peak=t.peak,
        paper_start=PAPER_START,
        paper_end=PAPER_END,
        start_level=START_LEVEL,
        end_level=END_LEVEL,
        e_lr=E_LR,
        **rule_values(),
        min_fall=MIN_FALL,
        steps_e=here,
        steps_e_paper=paper,
        steps_e_paper_log2=log2_steps(paper),
        fewer_than_paper=paper / here,
        done_rows=", ".join(done_rows(res)) or "none",
        done_rows_cpu=done_rows_at("cpu"),
        done_rows_paper=done_rows_at("paper"),
        decay_steps_e1=log2_steps(decay_steps(E_ROWS["E1"], E_LR)),
        **grid_texts(E_GRIDS, grid_text),
        n_models_paper=len(E_GRIDS["paper"].rows) * len(E_GRIDS["paper"].eps),
    )
    slow = slower_learning(res)
    out.update(
        t_sparse=_steps(slow["t_sparse"]),
        t_ref=_steps(slow["t_ref"]),
        sparse_eps=eps_text(slow["sparse_eps"]),
        ref_eps=eps_text(slow["ref_eps"]),
        removed_sparse=slow["removed_sparse"],
        removed_ref=slow["removed_ref"],
    )
    trace = res.rows[row]
    eps = trace.values("eps")
    order = sorted(range(len(eps)), key=lambda i: -eps[i])
    steps = loss_fall_step(trace)
    out["fall_steps"] = ", ".join(f"{_steps(float(steps[i]))} at {eps_text(eps[i])}" for i in order)
    if math.isfinite(t.peak_eps):
        settling = trace.settling().iloc[trace.index(eps=t.peak_eps)]
        out["peak_loss_change"] = float(settling["loss change"])
        out["peak_mono_change"] = float(settling["mono change"])
        out["peak_settled"] = "has" if bool(trace.converged()[trace.index(eps=t.peak_eps)]) else "has not"
    else:
        out["peak_loss_change"] = out["peak_mono_change"] = math.nan
        out["peak_settled"] = "has not"
    for name, decay in E_ROWS.items():
        out[f"left_{name}"] = bias_left(decay, E_LR, here)
        out[f"left_{name}_paper"] = bias_left(decay, E_LR, paper)
    mono = {name: r.mono_per_feature() for name, r in res.rows.items()}
    out["frac_mono_max"] = max(float(mono_fraction(r.r).max()) for r in res.rows.values())
    out["mono_max"] = max(float(m.max()) for m in mono.values())
    return out
