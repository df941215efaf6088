"""What chapter 3 trains at each profile: RG1 and RG1Z (the L1 strengths of each profile's grid), beside LR1 and
LR3 (`monosem.paper`), the references without the penalty.
"""

from __future__ import annotations

from dataclasses import dataclass

from monosem.config import Sweep, make_sweep
from monosem.paper import RECIPE, lr1, lr3
from monosem.profiles import PerProfile, Profile

__all__ = ["WEIGHTS", "RG1_LR", "Grid", "GRIDS", "rg1", "rg1_zero", "sweeps"]

WEIGHTS = {"RG1Z"}


# Table 1's RG1: one learning rate; the bias recipe of chapter 2 (decay 0.03, initial mean bias -1).
RG1_LR = 0.005


@dataclass(frozen=True)
class Grid:
    """The L1 strengths swept at one profile (nonzero, ascending); RG1Z adds l1 = 0."""

    l1s: tuple[float, ...]


GRIDS = PerProfile(
    "chapter l1's grid",
    {
        "ci": Grid(l1s=(1e-3, 1e-2)),
        # from where the penalty is about 1 % of the task loss to more than all of it, in half-decades around the
        # most monosemantic strengths (1e-2 to 3e-2 in an earlier run of eight, 3e-5 to 1e-1) and decades below them;
        # six, so that the whole book trains within its 90 minutes
        "cpu": Grid(l1s=(1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)),
        # the decades of Fig. 14's colour bar (1e-7 to 1), and half-decades around the `cpu` run's most monosemantic
        # strengths (1e-2 to 3e-2; the penalty and the task loss both grow with N, so their balance should carry over)
        "paper": Grid(l1s=(1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0)),
    },
)


def rg1(profile: Profile) -> Sweep:
    """Table 1's RG1: the negative-bias recipe at lr 0.005 with the L1 strength swept."""
    return make_sweep("RG1", profile.base(lr=RG1_LR, **RECIPE), l1=GRIDS.of(profile).l1s)


def rg1_zero(profile: Profile) -> Sweep:
    """Fig. 14's L1 models: RG1 with zero initial bias (bias decay kept), and its l1 = 0 model."""
    base = profile.base(lr=RG1_LR, bias_decay=RECIPE["bias_decay"])
    return make_sweep("RG1Z", base, l1=(0.0, *GRIDS.of(profile).l1s))


def sweeps(profile: Profile) -> list[Sweep]:
    return [lr1(profile), lr3(profile), rg1(profile), rg1_zero(profile)]
