"""What chapter 5 trains at each profile: Table 1's E rows of the profile's grid (`monosem.paper.E_GRIDS`)."""

from __future__ import annotations

from monosem.config import Sweep
from monosem.paper import E_GRIDS, e_sweep
from monosem.profiles import Profile

__all__ = ["WEIGHTS", "sweeps"]

WEIGHTS = {"E1"}


def sweeps(profile: Profile) -> list[Sweep]:
    return [e_sweep(profile, name) for name in E_GRIDS.of(profile).rows]
