"""What chapter 7 trains at each profile: LR3 (`monosem.paper`), LR3's recipe at a lower density (LOWEPS) and
Table 1's E1 (`monosem.paper.e_sweep`, the same sweep as chapter 5's).
"""

from __future__ import annotations

import math

from monosem.config import Sweep
from monosem.paper import RECIPE, e_sweep, lr3, lr_sweep
from monosem.profiles import Profile

__all__ = ["WEIGHTS", "DENSE_ROW", "DENSE_EPS", "LOW_EPS", "low_eps", "dense_row", "sweeps"]

WEIGHTS = {"LR3", "LOWEPS", "E1"}


# The model of the paper's Fig. 24 and 26: "a final model from batch E1 with eps = 1/64" (chapter 5's row E1).
DENSE_ROW = "E1"


DENSE_EPS = 1 / 64


# The density of the paper's Fig. 25 (batch E3), a quarter of the default 1/64.
LOW_EPS = 1 / 256


def low_eps(profile: Profile) -> Sweep:
    """LR3's recipe (initial bias -1, bias decay 0.03, E1's too) at the lower density LOW_EPS, over the profile's
    lrs, seed 0."""
    return lr_sweep(profile, "LOWEPS", eps=LOW_EPS, **RECIPE)


def dense_row(profile: Profile) -> Sweep:
    """Chapter 5's row E1 (eps swept at lr 0.003, decay 0.03, initial bias -1): trained once for both chapters."""
    sweep = e_sweep(profile, DENSE_ROW)
    if not any(math.isclose(c.eps, DENSE_EPS) for c in sweep.configs):
        raise ValueError(f"chapter 5's {DENSE_ROW} grid at profile {profile.name!r} lacks eps = {DENSE_EPS}")
    return sweep


def sweeps(profile: Profile) -> list[Sweep]:
    return [lr3(profile), low_eps(profile), dense_row(profile)]
