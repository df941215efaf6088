"""What chapter 1 trains at each profile: Table 1's LR1 and LR2 (`monosem.paper`); FLAT, more seeds of LR1's
fastest-settling model; the continuations of their settled final models that measure the settledness rule's
false alarms; and LR1's unsettled models trained one doubling more, which measure whether a run twice as long
would settle them.
"""

from __future__ import annotations

from monosem import settling
from monosem.cache import Cache
from monosem.config import Sweep, make_sweep
from monosem.paper import SEEDS, lr1, lr2
from monosem.profiles import Profile
from monosem.results import SweepResult

__all__ = ["WEIGHTS", "FLAT", "MORE", "sweeps", "flat", "continue_all", "extend", "compute", "lr1", "lr2"]

WEIGHTS = {"LR1"}

# FLAT: models that settle, so that the settledness rule's false alarms are measured on more than the few of LR1 and
# LR2 that do: LR1 at its highest lr (the first of its models to settle: from 2^15 steps at `long`'s shapes) at this
# many seeds besides LR1's own, for this many steps, per profile by name (not by grids: the run length matters).
# None at `cpu`: its quick book's 90 minutes have no room for them (about 8 minutes on two cores with their
# continuations). At `long` about 25 minutes of one thread, and 12 more for the continuations.
FLAT = {"ci": (2, 2**8), "cpu": None, "long": (8, 2**15), "paper": (8, 2**15)}


# MORE: whether LR1's models that have not settled by the end of the run would settle over one doubling more
# (`settling.extension`: as many steps again, at their own lr), per profile by name. The measurement behind `long`'s
# run length: 2^17 steps, the paper's, settle few of LR1's models at `cpu`'s shapes; would 2^18? Its cost is LR1's
# own for the unsettled models: at `long` about 45 minutes of one thread for five models. None at `cpu`: its quick
# book's 90 minutes have no room (and at 2^14 steps it would say little about the paper's 2^17).
MORE = {"ci": True, "cpu": False, "long": True, "paper": True}


def flat(profile: Profile) -> Sweep | None:
    """FLAT at `profile` (None where it has none): LR1's model at the profile's highest lr at FLAT's seeds, those
    after the profile's own (`paper.SEEDS`), for FLAT's steps."""
    if profile.name not in FLAT:
        raise ValueError(f"chapter 1's FLAT has no entry for profile {profile.name!r}; it has {', '.join(FLAT)}")
    if FLAT[profile.name] is None:
        return None
    n_seeds, n_steps = FLAT[profile.name]
    after = max(SEEDS.of(profile)) + 1
    base = lr1(profile).base.replace(lr=max(profile.lrs), n_steps=n_steps)
    return make_sweep("FLAT", base, seed=tuple(range(after, after + n_seeds)))


def sweeps(profile: Profile) -> list[Sweep]:
    flat_ = flat(profile)
    return [lr1(profile), lr2(profile), *([flat_] if flat_ is not None else [])]


def continue_all(results: dict[str, SweepResult], cache: Cache, progress: bool = True) -> dict[str, SweepResult | None]:
    """The settled final models of every sweep in `results` (by name) trained on at their own lr
    (`settling.continue_flat`; None for a sweep none of whose models settled), from the cache when there: they
    measure the settledness rule's false alarms."""
    return {name: settling.continue_flat(result, cache, progress) for name, result in results.items()}


def extend(profile: Profile, lr1_result: SweepResult, cache: Cache, progress: bool = True) -> SweepResult | None:
    """LR1's unsettled models trained one doubling more (`settling.extend_unsettled`), where the profile has MORE;
    None where it has not, or where every model had settled."""
    if profile.name not in MORE:
        raise ValueError(f"chapter 1's MORE has no entry for profile {profile.name!r}; it has {', '.join(MORE)}")
    return settling.extend_unsettled(lr1_result, cache, progress) if MORE[profile.name] else None


def compute(profile: Profile, cache: Cache | None = None, progress: bool = True) -> float:
    """Train (or read from the cache) what the chapter needs besides its sweeps: the continuations of its sweeps'
    settled models and the extension of LR1's unsettled ones; their recorded training seconds. The sweeps
    themselves are trained (or cached) first."""
    cache = cache or Cache.for_profile(profile.name)
    trained = {s.name: cache.get_or_train(cache.seeded(s), progress=progress) for s in sweeps(profile)}
    more = extend(profile, trained["LR1"], cache, progress)
    flat_ = [c for c in continue_all(trained, cache, progress).values() if c is not None]
    return sum(c.seconds for c in flat_) + (more.seconds if more is not None else 0.0)
