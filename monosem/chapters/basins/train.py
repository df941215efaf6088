"""What chapter 1 trains at each profile: Table 1's LR1 and LR2 (`monosem.paper`), and the continuations of
their final models that measure the settledness rule's false alarms.
"""

from __future__ import annotations

from monosem import settling
from monosem.cache import Cache
from monosem.config import Sweep
from monosem.paper import lr1, lr2
from monosem.profiles import Profile
from monosem.results import SweepResult

__all__ = ["WEIGHTS", "sweeps", "continue_both", "compute", "lr1", "lr2"]

WEIGHTS = {"LR1"}


def sweeps(profile: Profile) -> list[Sweep]:
    return [lr1(profile), lr2(profile)]


def continue_both(
    lr1: SweepResult, lr2: SweepResult, cache: Cache, progress: bool = True
) -> dict[str, SweepResult | None]:
    """LR1's and LR2's settled final models trained on at their own lr (`settling.continue_flat`; None for a sweep
    none of whose models settled), from the cache when there: they measure the settledness rule's false alarms."""
    return {"LR1": settling.continue_flat(lr1, cache, progress), "LR2": settling.continue_flat(lr2, cache, progress)}


def compute(profile: Profile, cache: Cache | None = None, progress: bool = True) -> float:
    """Train (or read from the cache) what the chapter needs besides its sweeps, the continuations of LR1 and LR2;
    their recorded training seconds. The sweeps themselves are trained (or cached) first."""
    cache = cache or Cache.for_profile(profile.name)
    lr1_, lr2_ = (cache.get_or_train(cache.seeded(s), progress=progress) for s in sweeps(profile))
    return sum(c.seconds for c in continue_both(lr1_, lr2_, cache, progress).values() if c is not None)
