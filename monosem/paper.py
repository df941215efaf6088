"""The paper layer: what several chapters share of the paper, each in one place.

Table 1's rows that more than one chapter trains or reads (LR1-LR4, the recipe, the E rows), the seeds of the
rows quoted over seeds, the recipe's bias-decay arithmetic, and the thresholds that more than one chapter's
verdicts use, each with its reason. Chapters import this module, never each other (the import-linter contract
in pyproject.toml): changing a threshold here changes every verdict that reads it, visibly.

The recipe's clock is steps: after every step of the first half of a run the bias is multiplied by
(1 - decay * lr) with the *base* learning rate, so the share of the initial bias that the decay alone leaves at
mid-run is (1 - decay * lr)^(T/2), whatever the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from monosem.config import Sweep, make_sweep
from monosem.profiles import PerProfile, Profile

# --- the bias-decay arithmetic ---------------------------------------------------------------------------------

# A part that rests on the bias decay can be tested only where the decay has done its job: at most this share of
# the initial bias left by the decay alone at mid-run, so that the second half trains the model the recipe aims at
# (a 90 % fall: the paper's Figs. 7 and 10 show the mean bias settled well before mid-run at its run lengths).
DECAY_DONE = 0.1


def bias_left(decay: float, lr: float, n_steps: int) -> float:
    """The share of the initial bias that bias decay alone leaves after the first half of a run of `n_steps`:
    (1 - decay lr)^(n_steps // 2) (gradients move the bias too: this is the decay's share only). What the decay
    removes is 1 minus this."""
    return (1 - decay * lr) ** (n_steps // 2)


def decay_steps(decay: float, lr: float, left: float = DECAY_DONE) -> float:
    """The run length at which the decay alone leaves `left` of the initial bias at mid-run: 2 ln(left) /
    ln(1 - decay lr) steps (infinite without decay)."""
    if decay * lr <= 0:
        return math.inf
    return 2 * math.log(left) / math.log1p(-decay * lr)


def log2_steps(steps: float) -> str:
    """A run length as the paper's figures label it: 2^14, 2^15.6."""
    if math.isinf(steps):
        return "never"
    exp = math.log2(steps)
    return f"2^{exp:.0f}" if abs(exp - round(exp)) < 0.05 else f"2^{exp:.1f}"


# --- Table 1's rows that several chapters train ----------------------------------------------------------------

# The paper's recipe for monosemantic models (chapter 2; LR3, LR4, RG1, LOWEPS, the abs-value task and K1 use it):
# an initial mean bias of -1 decayed at 0.03.
RECIPE = {"bias_decay": 0.03, "init_bias": -1.0}

# Seeds of the sweeps whose claims are given as median [min, max] over seeds (LR1 and LR3): seed is one more axis
# of the same batched model. Two at `ci`, to exercise the code; three at `paper`. One at `cpu`, so that the whole
# book trains within its 90 minutes on two cores (measured: the introduction): `train --seeds 3` adds the others,
# and chapters 1-2 then read every seed cached.
SEEDS = PerProfile("the seeds of LR1 and LR3", {"ci": (0, 1), "cpu": (0,), "paper": (0, 1, 2)})


def lr_sweep(profile: Profile, name: str, with_seeds: bool = False, **fixed: Any) -> Sweep:
    """A Table 1 row that sweeps the learning rate over the profile's lrs, with `fixed` fields set; with
    `with_seeds`, at every seed of `SEEDS.of(profile)` too (the lr varies slowest; a profile with one seed has no seed
    axis, so that `train --seeds S` can widen it)."""
    if not with_seeds:
        return make_sweep(name, profile.base(**fixed), lr=profile.lrs)
    (first, *more) = SEEDS.of(profile)
    if more:
        return make_sweep(name, profile.base(**fixed), lr=profile.lrs, seed=(first, *more))
    return make_sweep(name, profile.base(seed=first, **fixed), lr=profile.lrs)


def lr1(profile: Profile) -> Sweep:
    """LR1: the default model (zero initial bias, uniform feature frequencies) over the lrs, at every seed."""
    return lr_sweep(profile, "LR1", with_seeds=True)


def lr2(profile: Profile) -> Sweep:
    """LR2: LR1 with power-law feature frequencies."""
    return lr_sweep(profile, "LR2", freq="power")


def lr3(profile: Profile) -> Sweep:
    """LR3: the recipe (`RECIPE`) over the lrs, at every seed."""
    return lr_sweep(profile, "LR3", with_seeds=True, **RECIPE)


def lr4(profile: Profile) -> Sweep:
    """LR4: the recipe with power-law feature frequencies."""
    return lr_sweep(profile, "LR4", freq="power", **RECIPE)


# Table 1's rows E1-E4: the bias decay of each (lr 0.003, initial mean bias -1, eps swept). Chapter 5 trains them;
# chapter 7 dissects a model of E1 (the paper's Fig. 24 and 26), the same sweep, trained once.
E_ROWS = {"E1": 0.03, "E2": 0.01, "E3": 0.003, "E4": 0.001}
E_LR = 0.003
E_INIT_BIAS = -1.0


@dataclass(frozen=True)
class EGrid:
    """The E rows at one profile: which of E1-E4, the densities eps = 2^x of each, and their run length (None: the
    profile's)."""

    rows: tuple[str, ...]
    log2_eps: tuple[float, ...]
    n_steps: int | None = None

    @property
    def eps(self) -> tuple[float, ...]:
        return tuple(2.0**x for x in self.log2_eps)


E_GRIDS = PerProfile(
    "the E rows' grid",
    {
        "ci": EGrid(rows=("E1", "E3"), log2_eps=(-2, -4, -6)),
        # The paper does not list its densities. Its figures show log10 eps from about -3 to -1.4 (Fig. 19) and eps =
        # 0.0884, 0.125 and 0.1768 (= 2^-3.5, 2^-3, 2^-2.5, Fig. 20): octaves from 1/2 to 1/1024, plus those two
        # half-octaves near eps N = d. Table 1 gives no run length: the axis of Fig. 19 (E3) runs to 2^20 steps, which
        # E1-E3's decays need to remove 90 % of the bias by mid-run (E3: 2^19; E4 would need 2^20.5).
        "paper": EGrid(
            rows=tuple(E_ROWS), log2_eps=(-1, -2, -2.5, -3, -3.5, -4, -5, -6, -7, -8, -9, -10), n_steps=2**20
        ),
        # Eight octaves, two rows: at 2^14 steps E3 and E4 leave 93 % and 98 % of the initial bias, while E1 and E2, the
        # fastest decays, leave 48 % and 78 % (no row removes 90 %: E1 would need 2^15.6 steps); four rows would not
        # train in chapter 5's 12-minute budget.
        "cpu": EGrid(rows=("E1", "E2"), log2_eps=(-1, -2, -3, -4, -5, -6, -7, -8)),
    },
)


def e_steps(profile: Profile) -> int:
    """The run length of the E rows at `profile` (`EGrid.n_steps`, else the profile's)."""
    return E_GRIDS.of(profile).n_steps or profile.n_steps


def e_sweep(profile: Profile, name: str) -> Sweep:
    """Table 1's row `name` (E1-E4): the density swept over the profile's grid."""
    base = profile.base(lr=E_LR, bias_decay=E_ROWS[name], init_bias=E_INIT_BIAS, n_steps=e_steps(profile))
    return make_sweep(name, base, eps=E_GRIDS.of(profile).eps)


# --- thresholds that more than one chapter's verdicts use ------------------------------------------------------

# "Rises with lr" (claim 1), and any claim that a measure rises or falls along a swept axis: the rank correlation over
# the swept values at least this (with four or five values one swapped neighbour pair still passes). Chapters 1, 6
# and 8 read it.
RISES = 0.8
# The low end of the paper's range for a negative-bias model over initial biases below -sqrt(eps), 0.6 per feature
# (claim 4, Fig. 8): "highly monosemantic" and "roughly one per feature" (chapter 6) read it.
HIGHLY = 0.6
# "The same loss": within this relative margin (chapters 2 and 6).
SAME_LOSS = 0.02
# "The precise bias hardly matters": # mono / # features across the biases below -sqrt(eps) stays within this
# fraction of its largest value (claim 4); chapter 6's "similar" reads it too.
HARDLY = 0.25
# "Exactly d + 1" (claim 5), and chapter 7's rank of the positive-bias map "about d": within this many neurons; the
# paper's own d = 128 model has 130 = d + 2 (Fig. 11).
D_TOL = 1
