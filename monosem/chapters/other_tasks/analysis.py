"""Chapter 6, the other two tasks (paper Sections 4.2-4.3): claim 9.

Table 1's RP1 (the random re-projector, lr swept), LR5 (the absolute-value task, lr swept) and D1 (the absolute-value
task at lr 0.007, bias decay swept), all with the negative-bias recipe (initial mean bias -1, and bias decay 0.03
where the decay is not swept). RP1 has k = 2N neurons like the decoder; LR5 and D1 have k = 4N (the paper's 2048
for N = 512) at Table 1's batch rule, 2^23 / k, scaled to the profile (batch x k fixed at the profile's default,
as in the width chapter).

The tasks (`monosem.data`): the re-projector maps P f to Q f with a second fixed projection Q (output dimension d);
the absolute-value task maps P (f1 - f2) to |f1 - f2|, with f1 and f2 each drawn at density eps / 2 (the reference
code), and its monosemanticity uses h_i(F_j) + h_i(-F_j) (paper Section 3, `monosem.metrics`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from monosem import tables
from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.other_tasks.train import D1_LR, GRIDS, Grid, d1, lr5, sweeps
from monosem.claims import Finding, Gate, Part, rule_values, settled_gate, spearman
from monosem.config import ModelConfig, Sweep
from monosem.data import feature_probs
from monosem.paper import HARDLY, HIGHLY, RECIPE, RISES, SAME_LOSS, bias_left, decay_steps, log2_steps
from monosem.profiles import PROFILES, Profile
from monosem.prose import grid_texts, listed, lr_list, median_by_lr, rho_text, scale_numbers, share_text, spread
from monosem.results import LEARNED, Instance, SweepResult

__all__ = [
    "part",
    "OtherTasks",
    "load",
    "ROUGHLY_ONE",
    "SIMILAR",
    "RANGE_DECADES",
    "ANTI_ALPHA",
    "EXACT_UP_TO",
    "DIFFERENT",
    "LARGELY_POLY",
    "SEVERAL",
    "TREND_MODELS",
    "Model",
    "decay_done",
    "gate_of",
    "Reading",
    "reading",
    "at_least",
    "spearman_null",
    "spearman_critical",
    "anti",
    "constant_loss",
    "models_of",
    "abs_models",
    "lr5_row",
    "d1_row",
    "loss_vs_mono",
    "plateau_lines",
    "d1_instances",
    "trend",
    "bias_vs_mono",
    "roughly_one",
    "like_decoder",
    "bias_left_table",
    "heatmap_indices",
    "grid_text",
    "cpu_cuts",
    "rank_test_size",
    "claim9",
    "findings",
    "glue_values",
    "RECIPE",
]


def part(result: SweepResult, sweep: Sweep) -> SweepResult:
    """The result of `sweep`, every instance of which is one of `result`'s."""
    return result.select(sweep, [result.configs.index(c) for c in sweep.configs])


@dataclass(frozen=True)
class OtherTasks:
    profile: Profile
    rp1: SweepResult
    lr5: SweepResult
    d1: SweepResult
    lr3: SweepResult  # chapter 2's decoder with the same recipe, for comparison


def load(profile: Profile, cache: Cache | None = None) -> OtherTasks:
    """The chapter's trained results, read from the cache (NotTrained names the command that trains them)."""
    cache = reader(profile, cache, "other_tasks")
    rp1_, *abs_, lr3 = (cache.get_or_train(s) for s in sweeps(profile))
    if len(abs_) == 1:
        return OtherTasks(profile, rp1_, part(abs_[0], lr5(profile)), part(abs_[0], d1(profile)), lr3)
    return OtherTasks(profile, rp1_, *abs_, lr3)


# "Roughly one monosemantic neuron per feature": within chapter 2's "highly monosemantic" floor, 0.6 (the paper's own
# 0.6-1 range for the decoder, claim 4), and as far above 1.
ROUGHLY_ONE = (HIGHLY, 2 - HIGHLY)


# "As in the decoder models": RP1 within this fraction of LR3 (the decoder, same recipe, same scale) at every lr
# where both can be read; claim 4's margin for "hardly matters" (`monosem.paper.HARDLY`).
SIMILAR = HARDLY


# "Across a range of learning rates": the lrs where it holds span at least this many decades, the span of Fig. 21's
# colour bar (10^-3.2 to 10^-2 with the reference plot's padding: lrs from about 0.001 to 0.01).
RANGE_DECADES = 1.0


# "Lower loss for more monosemantic models", and "more monosemantic models have larger negative biases": a rank
# correlation at or below minus the one-sided critical value of Spearman's rho at this significance level for the
# number of models compared (`spearman_critical`), so that unrelated values would show a correlation this strong at
# most this often. (It was a fixed 0.6, the critical value for nine models only: too strict for more, too loose for
# fewer.)
ANTI_ALPHA = 0.05


# Up to this many models the critical value comes from the exact null distribution of rho (all n! orderings); above
# it from the normal approximation rho sqrt(n - 1) ~ N(0, 1), which is within 0.01 of the exact value there.
EXACT_UP_TO = 12


# "Different losses": the most and the least monosemantic models differ in loss by more than chapter 2's "same loss"
# margin (`monosem.paper.SAME_LOSS`).
DIFFERENT = SAME_LOSS


# "Largely polysemantic": at most half of the features can have a monosemantic neuron.
LARGELY_POLY = 0.5


# "Several of the models shown are largely polysemantic": at least this many.
SEVERAL = 2


# "Monosemanticity rises with lr" (LR5) and "slower decay, more monosemantic" (D1): claim 1's bar for a trend, over at
# least TREND_MODELS models (`monosem.paper.RISES`).
TREND_MODELS = 3


class Model(Instance):
    """One trained model of this chapter: a sweep's result and the model's instance in it."""

    __slots__ = ()

    @property
    def decay_done(self) -> bool:
        return decay_done(self.config)

    @property
    def plateau(self) -> bool:
        """Whether its held-out loss is above LEARNED x the best constant output's: still on the initial plateau,
        and so not settled (`monosem.results.settled`)."""
        return float(self.result.settling()["loss / constant"][self.index]) > LEARNED


def decay_done(cfg: ModelConfig) -> bool:
    """Whether the bias decay alone leaves at most DECAY_DONE of the initial bias at mid-run (the test of
    `monosem.claims.Gate`)."""
    return cfg.n_steps >= decay_steps(cfg.bias_decay, cfg.lr)


def gate_of(models: Iterable[Instance]) -> Gate:
    """The gate of `models` (of one result or several): every one settled, and its decay done."""
    groups: dict[int, tuple[SweepResult, list[int]]] = {}
    for m in models:
        groups.setdefault(id(m.result), (m.result, []))[1].append(m.index)
    gate = Gate()
    for result, indices in groups.values():
        gate = gate & settled_gate(result, indices, decay=True)
    return gate


class Reading(NamedTuple):
    """The models a part reads and its gate. `enough`: whether the models whose decay has done its job are enough for
    the part; then `models` are those and `gate` theirs. Else `models` are all of them (their reading is shown, not
    counted) and `gate` is that of the fewest models, those needing the shortest runs, that would be enough: closed
    by the decay, it says what run would test the part (open, with nothing to say, when the grid itself has too
    few)."""

    models: list[Model]
    gate: Gate
    enough: bool


def reading(models: Sequence[Model], enough: Callable[[list[Model]], bool]) -> Reading:
    done = [m for m in models if m.decay_done]
    if enough(done):
        return Reading(done, gate_of(done), True)
    order = sorted(models, key=lambda m: decay_steps(m.config.bias_decay, m.config.lr) / m.config.n_steps)
    for j in range(1, len(order) + 1):
        if enough(order[:j]):
            return Reading(list(models), gate_of(order[:j]), False)
    return Reading(list(models), Gate(), False)


def at_least(n: int) -> Callable[[list[Model]], bool]:
    return lambda models: len(models) >= n


@functools.cache
def spearman_null(n: int) -> tuple[tuple[float, float], ...]:
    """The exact distribution of Spearman's rho between n untied values and an unrelated ordering of them: (rho,
    probability) pairs, rho ascending, over all n! orderings equally likely. Counted by dynamic programming over the
    set of ranks given to the first positions (rho = 1 - 6 sum (i - pi_i)^2 / (n (n^2 - 1)), and sum (i - pi_i)^2 =
    2 sum i^2 - 2 sum i pi_i), which for n = 12 is 24,576 array additions instead of 479 million orderings."""
    if n < 2:
        raise ValueError(f"Spearman's rho needs at least 2 values, got n = {n}")
    top = n * (n + 1) * (2 * n + 1) // 6  # the largest sum of i pi_i, 1-based
    layer = {0: np.zeros(top + 1, dtype=np.int64)}
    layer[0][0] = 1
    for pos in range(1, n + 1):
        nxt: dict[int, np.ndarray] = {}
        for used, counts in layer.items():
            for v in range(n):
                if used >> v & 1:
                    continue
                shift = pos * (v + 1)
                out = nxt.setdefault(used | 1 << v, np.zeros(top + 1, dtype=np.int64))
                out[shift:] += counts[: top + 1 - shift]
        layer = nxt
    counts = layer[(1 << n) - 1]
    total = math.factorial(n)
    sums = np.nonzero(counts)[0]
    rho = 1 - 6 * (2 * top - 2 * sums) / (n * (n * n - 1))
    return tuple((float(r), float(c) / total) for r, c in sorted(zip(rho, counts[sums], strict=True)))


def spearman_critical(n: int, alpha: float = ANTI_ALPHA) -> float:
    """The one-sided critical value of Spearman's rho for n models at significance `alpha`: the smallest c such that
    unrelated values give rho >= c (and, by symmetry, rho <= -c) with probability at most alpha. Exact up to
    EXACT_UP_TO models (`spearman_null`), the normal approximation above; inf where no rho is that unlikely (n = 3
    and fewer at alpha = 0.05: a perfect ordering of 3 arises by chance once in 6)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n < 2:
        return math.inf
    if n > EXACT_UP_TO:
        return NormalDist().inv_cdf(1 - alpha) / math.sqrt(n - 1)
    tail, crit = 0.0, math.inf
    for rho, p in reversed(spearman_null(n)):
        tail += p
        if tail > alpha * (1 + 1e-12):
            break
        crit = rho
    return crit


def anti(rho: float, n: int, alpha: float = ANTI_ALPHA) -> bool | None:
    """Whether rho over n models is at or below minus the critical value (`spearman_critical`); None when it cannot
    be (too few models, or rho nan)."""
    crit = spearman_critical(n, alpha)
    if math.isinf(crit) or rho != rho:
        return None
    return rho <= -crit + 1e-6  # rho is computed in float32


def constant_loss(cfg: ModelConfig) -> float:
    """The loss of the best constant output, the mean target: the sum over outputs of the target's variance.

    Decoder and re-projector: feature j is U[0, 1] with probability p_j, variance p_j / 3 - p_j^2 / 4, and the
    re-projector's Q has unit columns, so its outputs' variances sum to the same. Absolute value: |f1_j - f2_j| with
    f1_j, f2_j each present with probability p_j / 2: one present, |u| (mean 1/2, mean square 1/3); both, |u1 - u2|
    (mean 1/3, mean square 1/6)."""
    p = feature_probs(cfg)
    if cfg.task != "abs":
        return float((p / 3 - p**2 / 4).sum())
    one, both = p * (1 - p / 2), (p / 2) ** 2
    return float((one / 3 + both / 6 - (one / 2 + both / 3) ** 2).sum())


def models_of(result: SweepResult) -> list[Model]:
    return [Model(result, i) for i in range(result.sweep.n_inst)]


def abs_models(res: OtherTasks) -> list[Model]:
    """Every LR5 and D1 model, each configuration once: LR5's model at lr 0.007 is Table 1's D1 model at decay 0.03
    where both train for the same number of steps (the same configuration); where both batches train it, it is taken
    from LR5 and counted once."""
    out: list[Model] = []
    seen: set[ModelConfig] = set()
    for result in (res.lr5, res.d1):
        for m in models_of(result):
            if m.config not in seen:
                seen.add(m.config)
                out.append(m)
    return out


def lr5_row(res: OtherTasks) -> list[Model]:
    """The models of Table 1's row LR5 (bias decay 0.03, lr swept, LR5's run length), whichever batch trained them,
    lr ascending."""
    steps = res.lr5.configs[0].n_steps
    rows = [m for m in abs_models(res) if m.config.bias_decay == RECIPE["bias_decay"] and m.config.n_steps == steps]
    return sorted(rows, key=lambda m: m.config.lr)


def d1_row(res: OtherTasks) -> list[Model]:
    """The models of Table 1's row D1 (lr 0.007, decay swept, D1's run length), whichever batch trained them, decay
    ascending."""
    steps = res.d1.configs[0].n_steps
    rows = [m for m in abs_models(res) if m.config.lr == D1_LR and m.config.n_steps == steps]
    return sorted(rows, key=lambda m: m.config.bias_decay)


def loss_vs_mono(models: list[Model]) -> dict[str, Any]:
    """Over `models`: the rank correlation of the final loss with # mono / # features, and the relative loss gap
    between the least and the most monosemantic model (positive: the more monosemantic has lower loss)."""
    nan = float("nan")
    if len(models) < 3:
        empty = {"rho": nan, "gap": nan, "most": nan, "least": nan, "loss_most": nan, "loss_least": nan}
        return {"n": len(models), **empty}
    most = max(models, key=lambda m: m.mono)
    least = min(models, key=lambda m: m.mono)
    return {
        "n": len(models),
        "rho": spearman([m.mono for m in models], [m.loss for m in models]),
        "gap": (least.loss - most.loss) / most.loss,
        "most": most.mono,
        "least": least.mono,
        "loss_most": most.loss,
        "loss_least": least.loss,
    }


def plateau_lines(res: OtherTasks) -> dict[str, float]:
    """The absolute-value models' best constant output's loss, and LEARNED times it (a model above it is on the
    initial plateau and not settled), labelled, for figures."""
    floor = constant_loss(res.lr5.configs[0])
    return {"best constant output": floor, f"{LEARNED:g} x it (LEARNED: not settled above)": LEARNED * floor}


def d1_instances(res: OtherTasks) -> list[tuple[SweepResult, int]]:
    """Table 1's D1 row as (result, instance) pairs for figures, its decay-0.03 model possibly from LR5."""
    return [(m.result, m.index) for m in d1_row(res)]


def trend(models: list[Model], field: str) -> dict[str, Any]:
    """# mono / # features against the configuration field `field` of `models`, by field value, and their rank
    correlation (nan with fewer than 3)."""
    points = dict(sorted((getattr(m.config, field), m.mono) for m in models))
    rho = spearman(list(points), list(points.values())) if len(points) >= 3 else float("nan")
    return {"points": points, "rho": rho, "n": len(points)}


def bias_vs_mono(models: list[Model]) -> float:
    """Rank correlation of the final mean bias with # mono / # features over `models` (nan if fewer than 3)."""
    return spearman([m.mono for m in models], [m.mean_bias for m in models]) if len(models) >= 3 else float("nan")


def _lr_span(models: list[Model]) -> float:
    lrs = [m.config.lr for m in models]
    return math.log10(max(lrs) / min(lrs)) if lrs else float("nan")


def roughly_one(result: SweepResult) -> dict[str, Any]:
    """RP1: # mono / # features per lr, the lrs the part reads (`reading`: those whose decay has done its job,
    enough when they span RANGE_DECADES), those with # mono / # features within ROUGHLY_ONE, and the decades they
    span."""
    models = models_of(result)
    read = reading(models, lambda ms: len(ms) > 0 and _lr_span(ms) >= RANGE_DECADES - 1e-9)
    lo, hi = ROUGHLY_ONE
    inside = [m for m in read.models if lo <= m.mono <= hi]
    return {
        "mono": {m.config.lr: m.mono for m in models},
        "read": read,
        "lrs": [m.config.lr for m in read.models],
        "inside": [m.config.lr for m in inside],
        "decades": _lr_span(inside),
    }


def like_decoder(res: OtherTasks) -> dict[str, Any]:
    """RP1 against LR3 (median over seeds) at every lr where the decay has done its job (RP1 and LR3 share lr, decay
    and run length): the relative differences, and the gate of RP1's and LR3's models there; when there is no such
    lr (`enough` False), the differences at every lr and the gate at the lr whose decay needs the shortest run."""
    decoder = median_by_lr(res.lr3, res.lr3.mono_per_feature())
    rp = [m for m in models_of(res.rp1) if m.config.lr in decoder]
    read = reading(rp, at_least(1))
    diff = {
        m.config.lr: (m.mono - decoder[m.config.lr]) / decoder[m.config.lr] if decoder[m.config.lr] > 0 else math.inf
        for m in read.models
    }
    fastest = min(rp, key=lambda m: decay_steps(m.config.bias_decay, m.config.lr), default=None)
    lrs = list(diff) if read.enough else [fastest.config.lr] if fastest else []
    both = [m for m in [*rp, *models_of(res.lr3)] if m.config.lr in lrs]
    return {"decoder": decoder, "diff": diff, "gate": gate_of(both), "enough": read.enough}


def bias_left_table(profile: Profile) -> pd.DataFrame:
    """What bias decay alone leaves of the initial bias (`monosem.tables.bias_left_table`) for each of this
    profile's LR5 lrs (decay 0.03) and D1 decays (lr 0.007), over this run and over the run the `paper` profile
    trains that row for (LR5 and D1 may differ: `Grid.d1_n_steps`)."""
    g = GRIDS.of(profile)
    paper = PROFILES["paper"]
    lr5_steps = (lr5(profile).base.n_steps, lr5(paper).base.n_steps)
    d1_steps = (d1(profile).base.n_steps, d1(paper).base.n_steps)
    rows = [("LR5", lr, RECIPE["bias_decay"], *lr5_steps) for lr in g.lr5_lrs]
    rows += [("D1", D1_LR, decay, *d1_steps) for decay in g.d1_decays]
    return tables.bias_left_table(rows, profile)


def heatmap_indices(result: SweepResult, profile: Profile) -> list[int]:
    """RP1's models at the lowest, the focus and the highest learning rate (those of them that it has)."""
    lrs = result.values("lr")
    wanted = [min(lrs), profile.lr_focus, max(lrs)]
    return [lrs.index(lr) for lr in dict.fromkeys(wanted) if lr in lrs]


def grid_text(g: Grid) -> str:
    """A grid in words."""
    if g.rp1_lrs == g.lr5_lrs:
        return f"RP1 and LR5 at lr {listed(g.lr5_lrs)}, D1 at decay {listed(g.d1_decays)}"
    return f"RP1 at lr {listed(g.rp1_lrs)}, LR5 at lr {listed(g.lr5_lrs)}, D1 at decay {listed(g.d1_decays)}"


def cpu_cuts() -> dict[str, str]:
    """What `cpu` leaves out of `paper`'s grid of LR5 and D1 and adds to it, and why (the numbers chapter 6's prose
    gives): its D1 run is `d1_fewer_cpu` times shorter than the paper's, over which the paper's slowest decay would
    leave `d1_slowest_left_cpu` of the bias, and the decay it adds leaves `d1_added_left_cpu`, against
    `d1_fastest_left_paper` for the paper's two fastest over the paper's run."""
    cpu, paper = GRIDS["cpu"], GRIDS["paper"]

    def missing(values: tuple[float, ...], kept: tuple[float, ...]) -> str:
        return listed(tuple(v for v in values if v not in kept))

    cpu_steps = d1(PROFILES["cpu"]).base.n_steps
    paper_steps = d1(PROFILES["paper"]).base.n_steps
    slowest, *_, second_fastest, fastest = sorted(paper.d1_decays)
    added = [d for d in cpu.d1_decays if d not in paper.d1_decays]
    return {
        "d1_fewer_cpu": f"{paper_steps / cpu_steps:g}",
        "d1_slowest_paper": f"{slowest:g}",
        "d1_slowest_left_cpu": f"{bias_left(slowest, D1_LR, cpu_steps):.0%}",
        "lr5_dropped_cpu": missing(paper.lr5_lrs, cpu.lr5_lrs),
        "d1_dropped_cpu": missing(paper.d1_decays, (*cpu.d1_decays, RECIPE["bias_decay"])),
        "d1_added_cpu": listed(tuple(added)),
        "d1_added_left_cpu": ", ".join(share_text(bias_left(d, D1_LR, cpu_steps)) for d in added),
        "d1_fastest_paper": f"{second_fastest:g} and {fastest:g}",
        "d1_fastest_left_paper": f"{share_text(bias_left(second_fastest, D1_LR, paper_steps))} and "
        f"{share_text(bias_left(fastest, D1_LR, paper_steps))}",
    }


def _gap_text(lvm: dict[str, Any]) -> str:
    if lvm["n"] < 3:
        return "n/a (fewer than 3 models)"
    return (
        f"loss {lvm['loss_least']:.3f} at {lvm['least']:.2f} per feature vs {lvm['loss_most']:.3f} at "
        f"{lvm['most']:.2f} ({lvm['gap']:+.1%})"
    )


def _label(m: Model) -> str:
    """A model by its row and swept value: "D1 decay 0.001", "LR5 lr 0.003"."""
    if m.sweep == "D1":
        return f"D1 decay {m.config.bias_decay:g}"
    return f"{m.sweep} lr {m.config.lr:g}"


def _settled(result: SweepResult) -> str:
    return f"{int(result.converged().sum())} of {result.sweep.n_inst}"


def _labels(models: Iterable[Model]) -> str:
    return ", ".join(_label(m) for m in models) or "none"


def rank_test_size(alpha: float = ANTI_ALPHA) -> int:
    """The fewest models for which a one-sided rank-correlation test at `alpha` can reject: 4 at 0.05."""
    return next(n for n in range(2, EXACT_UP_TO + 1) if math.isfinite(spearman_critical(n, alpha)))


def _read_text(read: Reading, what: str) -> str:
    """Which models a part read, in words."""
    if read.enough:
        return f"the {len(read.models)} {what} whose decay has done its job"
    return f"all {len(read.models)} {what} (too few of them whose decay has done its job: shown, not counted)"


def _critical(n: int) -> str:
    crit = spearman_critical(n)
    return f"{crit:.2f} for {n} models" if math.isfinite(crit) else f"none for {n} models"


def claim9(res: OtherTasks) -> Finding:
    rp = roughly_one(res.rp1)
    rp_read: Reading = rp["read"]
    like = like_decoder(res)
    models = abs_models(res)
    pooled = reading(models, at_least(rank_test_size()))
    lvm = loss_vs_mono(pooled.models)
    lr5_read = reading(lr5_row(res), at_least(TREND_MODELS))
    lr5_trend = trend(lr5_read.models, "lr")
    lr5_rank = reading(lr5_row(res), at_least(rank_test_size()))
    bias_rho = bias_vs_mono(lr5_rank.models)
    lr5_poly = reading(lr5_row(res), at_least(SEVERAL))
    poly = [m.config.lr for m in lr5_poly.models if m.mono < LARGELY_POLY]
    d1_read = reading(d1_row(res), at_least(TREND_MODELS))
    d1_trend = trend(d1_read.models, "bias_decay")
    slow_read = reading([m for m in d1_row(res) if m.config.bias_decay < RECIPE["bias_decay"]], at_least(1))
    slowest = min(slow_read.models, key=lambda m: m.config.bias_decay) if slow_read.models else None
    lo, hi = ROUGHLY_ONE
    n_rank = rank_test_size()
    parts = (
        Part(
            "re-projector: roughly one monosemantic neuron per feature across a range of lrs",
            "roughly 1 per feature over lr 10^-3 to 10^-2 (Fig. 21)",
            f"{lr_list(rp['mono'])}; within [{lo:g}, {hi:g}] at "
            + (
                f"lr {', '.join(f'{lr:g}' for lr in rp['inside'])} ({rp['decades']:.1f} decades)"
                if rp["inside"]
                else "no lr"
            )
            + f" of {_read_text(rp_read, 'lrs')}",
            f"in [{lo:g}, {hi:g}] (ROUGHLY_ONE) at lrs spanning >= {RANGE_DECADES:g} decade (RANGE_DECADES)",
            bool(rp["inside"]) and rp["decades"] >= RANGE_DECADES - 1e-9,
            rp_read.gate,
            testable=rp_read.enough,
        ),
        Part(
            "re-projector: as in the decoder models",
            "similar findings as for the decoder (Section 4.2, Fig. 21)",
            "RP1 vs LR3 (decoder, median over seeds): "
            + (
                ", ".join(f"{rp['mono'][lr]:.2f} vs {like['decoder'][lr]:.2f} (lr {lr:g})" for lr in like["diff"])
                or "no lr"
            )
            + ("" if like["enough"] else " (no lr whose decay has done its job: shown, not counted)"),
            f"|RP1 - LR3| <= {SIMILAR:.0%} of LR3 (SIMILAR) at every lr whose decay has done its job",
            all(abs(d) <= SIMILAR for d in like["diff"].values()),
            like["gate"],
            testable=like["enough"],
        ),
        Part(
            "absolute value: basins of different monosemanticity have different losses",
            "losses from about 1.5 to 2.5 across LR5 (Fig. 22)",
            _gap_text(lvm) + f", over {_read_text(pooled, 'LR5 and D1 models')}",
            f"|loss gap| between the least and most monosemantic > {DIFFERENT:.0%} (DIFFERENT)",
            abs(lvm["gap"]) > DIFFERENT,
            pooled.gate,
            testable=pooled.enough,
        ),
        Part(
            "absolute value: lower loss for more monosemantic models",
            "lower loss for more monosemantic solutions (Fig. 22)",
            f"rank correlation of loss with # mono / # features {rho_text(lvm['rho'], 'models')} over "
            f"{_read_text(pooled, 'LR5 and D1 models')}; critical value {_critical(lvm['n'])}",
            f"<= minus the one-sided {ANTI_ALPHA:.0%} critical value of Spearman's rho for the number of models "
            f"(ANTI_ALPHA; needs >= {n_rank} models)",
            anti(lvm["rho"], lvm["n"]),
            pooled.gate,
            testable=pooled.enough,
        ),
        Part(
            "absolute value: monosemanticity rises with lr",
            "rises with lr (Fig. 22)",
            f"LR5: {lr_list(lr5_trend['points'])}; rank correlation {rho_text(lr5_trend['rho'], 'models')} over "
            f"{_read_text(lr5_read, 'lrs')}",
            f">= {RISES} (RISES) over >= {TREND_MODELS} lrs (TREND_MODELS)",
            lr5_trend["rho"] >= RISES,
            lr5_read.gate,
            testable=lr5_read.enough,
        ),
        Part(
            "absolute value: more monosemantic models have larger negative biases",
            "larger negative mean bias (Fig. 22)",
            f"LR5: rank correlation of final mean bias with # mono / # features {rho_text(bias_rho, 'models')} over "
            f"{_read_text(lr5_rank, 'lrs')}; critical value {_critical(len(lr5_rank.models))}",
            f"<= minus the one-sided {ANTI_ALPHA:.0%} critical value of Spearman's rho for the number of models "
            f"(ANTI_ALPHA; needs >= {n_rank} models)",
            anti(bias_rho, len(lr5_rank.models)),
            lr5_rank.gate,
            testable=lr5_rank.enough,
        ),
        Part(
            "negative bias alone is not enough: several LR5 models are largely polysemantic",
            "several of the LR5 models (initial bias -1) largely polysemantic (Fig. 22)",
            f"{len(poly)} of {_read_text(lr5_poly, 'LR5 models')} below {LARGELY_POLY} per feature"
            + (f" (lr {', '.join(f'{lr:g}' for lr in poly)})" if poly else ""),
            f">= {SEVERAL} (SEVERAL) models with # mono / # features < {LARGELY_POLY} (LARGELY_POLY)",
            len(poly) >= SEVERAL,
            lr5_poly.gate,
            testable=lr5_poly.enough,
        ),
        Part(
            "slower bias decay gives more monosemantic models",
            "more monosemantic at slower decay (Fig. 23)",
            "D1: "
            + ", ".join(f"{m:.2f} (decay {d:g})" for d, m in d1_trend["points"].items())
            + f"; rank correlation with decay {rho_text(d1_trend['rho'], 'models')} over "
            + _read_text(d1_read, "decays"),
            f"<= -{RISES} (RISES) over >= {TREND_MODELS} decays (TREND_MODELS)",
            d1_trend["rho"] <= -RISES,
            d1_read.gate,
            testable=d1_read.enough,
        ),
        Part(
            "negative bias with slow decay makes highly monosemantic models",
            "up to about 2 per feature at the slowest decays (Fig. 23)",
            (
                f"D1 at its slowest decay whose decay has done its job ({slowest.config.bias_decay:g}): "
                f"{slowest.mono:.2f} per feature"
                if slow_read.enough
                else "D1 at decays slower than the recipe's: "
                + (", ".join(f"{m.mono:.2f} (decay {m.config.bias_decay:g})" for m in slow_read.models) or "none")
                + "; none whose decay has done its job: shown, not counted"
            ),
            f">= {HIGHLY} per feature (HIGHLY) at the slowest decay below the recipe's {RECIPE['bias_decay']:g}",
            slowest is not None and slowest.mono >= HIGHLY,
            gate_of([slowest]) if slow_read.enough else slow_read.gate,
            testable=slow_read.enough,
        ),
    )
    lrs = rp["lrs"]
    across = f"{spread([rp['mono'][lr] for lr in lrs])} per feature over lr {min(lrs):g}-{max(lrs):g}"
    return Finding(
        "9. Re-projector: about one monosemantic neuron per feature across lrs, as for the decoder; absolute value: "
        "more monosemantic basins have lower loss, and a negative bias needs a slow decay",
        parts,
        "fig-abs-loss-mono",
        headline=("about 1 per feature across lrs (RP1, Fig. 21)", f"RP1: {across}"),
    )


def findings(res: OtherTasks) -> list[Finding]:
    """Claim 9 (Sections 4.2-4.3)."""
    return [claim9(res)]


def glue_values(res: OtherTasks) -> dict[str, Any]:
    out = scale_numbers(res.profile, [res.rp1, res.lr5, res.d1])
    abs_cfg, d1_cfg = res.lr5.configs[0], res.d1.configs[0]
    paper = PROFILES["paper"]
    lr5_paper, d1_paper = lr5(paper).base, d1(paper).base
    out["k_abs"] = abs_cfg.d_hidden
    out["batch_abs"] = abs_cfg.batch_size
    out["steps_abs"] = abs_cfg.n_steps
    out["steps_d1"] = d1_cfg.n_steps
    out["abs_steps_factor"] = GRIDS.of(res.profile).abs_steps
    out["steps_lr5_paper"] = lr5_paper.n_steps
    out["steps_d1_paper"] = d1_paper.n_steps
    out["steps_d1_paper_log2"] = log2_steps(d1_paper.n_steps)
    out["steps_lr5_paper_log2"] = log2_steps(lr5_paper.n_steps)
    # What the decay alone leaves of LR5's bias at D1's lr, over this run and over the paper's LR5 run.
    decay = RECIPE["bias_decay"]
    out["lr5_left"] = bias_left(decay, D1_LR, abs_cfg.n_steps)
    out["lr5_left_paper"] = bias_left(decay, D1_LR, lr5_paper.n_steps)
    out.update(rule_values())
    out["anti_alpha"] = ANTI_ALPHA
    out["anti_min_models"] = rank_test_size()
    out["d1_lr"] = D1_LR
    out.update(grid_texts(GRIDS, grid_text))
    out["grid_here"] = grid_text(GRIDS.of(res.profile))
    out.update(cpu_cuts())
    rp = roughly_one(res.rp1)
    out["rp1_mono"] = lr_list(rp["mono"])
    out["rp1_loss"] = lr_list(dict(zip(res.rp1.values("lr"), res.rp1.final_loss.tolist(), strict=True)), ".3f")
    out["rp1_settled"] = _settled(res.rp1)
    out["rp1_done"] = _done_lrs(models_of(res.rp1))
    out["lr3_mono"] = lr_list(like_decoder(res)["decoder"])
    out["lr5_settled"] = _settled(res.lr5)
    out["d1_settled"] = _settled(res.d1)
    models = abs_models(res)
    pooled = reading(models, at_least(rank_test_size()))
    lvm = loss_vs_mono(pooled.models)
    out.update({f"lvm_{k}": v for k, v in lvm.items()})
    out["lvm_rho_text"] = rho_text(lvm["rho"], "models")
    out["lvm_gap_text"] = _gap_text(lvm)
    out["lvm_read"] = _read_text(pooled, "LR5 and D1 models")
    out["lvm_critical"] = _critical(lvm["n"])
    out["n_abs_models"] = len(models)
    out["constant_loss_abs"] = constant_loss(abs_cfg)
    out["constant_loss_abs_paper"] = constant_loss(lr5_paper)
    stuck = [m for m in models if m.plateau]
    out["n_plateau"] = len(stuck)
    out["plateau_list"] = _labels(stuck)
    out["d1_bias"] = ", ".join(f"{m.mean_bias:+.2f} (decay {m.config.bias_decay:g})" for m in d1_row(res))
    out["samples_abs"] = abs_cfg.n_steps * abs_cfg.batch_size
    out["samples_d1"] = d1_cfg.n_steps * d1_cfg.batch_size
    out["samples_lr5_paper"] = lr5_paper.n_steps * lr5_paper.batch_size
    out["samples_d1_paper"] = d1_paper.n_steps * d1_paper.batch_size
    out["batch_abs_paper"] = lr5_paper.batch_size
    lr5_read = reading(lr5_row(res), at_least(TREND_MODELS))
    lr5_rank = reading(lr5_row(res), at_least(rank_test_size()))
    d1_read = reading(d1_row(res), at_least(TREND_MODELS))
    out["lr5_mono"] = lr_list(trend(lr5_row(res), "lr")["points"])
    out["lr5_loss"] = lr_list(dict(zip(res.lr5.values("lr"), res.lr5.final_loss.tolist(), strict=True)), ".3f")
    out["lr5_rho"] = rho_text(trend(lr5_read.models, "lr")["rho"], "models")
    out["lr5_read"] = _read_text(lr5_read, "lrs")
    out["lr5_bias_rho"] = rho_text(bias_vs_mono(lr5_rank.models), "models")
    out["lr5_bias_read"] = _read_text(lr5_rank, "lrs")
    out["d1_mono"] = ", ".join(f"{m:.2f} (decay {d:g})" for d, m in trend(d1_row(res), "bias_decay")["points"].items())
    out["d1_rho"] = rho_text(trend(d1_read.models, "bias_decay")["rho"], "models")
    out["d1_read"] = _read_text(d1_read, "decays")
    out["d1_done"] = ", ".join(f"{m.config.bias_decay:g}" for m in d1_row(res) if m.decay_done) or "none"
    out["rp1_focus"] = res.profile.lr_focus
    return out


def _done_lrs(models: list[Model]) -> str:
    return ", ".join(f"{m.config.lr:g}" for m in models if m.decay_done) or "none"
