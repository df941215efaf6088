"""Train every sweep a set of chapters needs, once, before the chapters execute.

Each finished sweep is written to the cache at once (atomically), so an interrupted run resumes where it
stopped: what is cached is skipped, what was in flight is retrained. Progress shows sweeps done, the time
spent and an estimate of the time left from the floating-point work still to do at the rate seen so far.
"""

from __future__ import annotations

import time

from monosem import __version__
from monosem.config import Sweep
from monosem.profiles import Profile
from monosem.results import cache_path
from monosem.training import step_flops


def sweep_flops(sweep: Sweep) -> float:
    cfg = sweep.configs[0]
    return float(step_flops(cfg)) * sweep.n_inst * cfg.n_steps


def pending(profile: Profile, batches: list[str]) -> list[Sweep]:
    """The distinct sweeps among `batches` that have no cache file yet, in the order given."""
    seen, todo = set(), []
    for name in batches:
        sweep = profile.sweep(name)
        key = sweep.key(__version__)
        if key in seen or cache_path(sweep, profile.cache_dir, __version__).exists():
            continue
        seen.add(key)
        todo.append(sweep)
    return todo


def train_all(profile: Profile, batches: list[str], log=print) -> int:
    """Train what is not cached yet; returns the number of sweeps trained."""
    todo = pending(profile, batches)
    if not todo:
        log(f"all {len(set(batches))} sweeps of profile {profile.name} are cached")
        return 0
    total = sum(sweep_flops(s) for s in todo)
    done = 0.0
    start = time.perf_counter()
    for i, sweep in enumerate(todo, 1):
        elapsed = time.perf_counter() - start
        eta = f", about {_minutes(elapsed * (total - done) / done)} left" if done else ""
        log(
            f"[{i}/{len(todo)}] training {sweep.name} ({sweep.n_inst} models) at profile {profile.name}"
            f"{eta} ({_minutes(elapsed)} so far)"
        )
        profile.run(sweep)
        done += sweep_flops(sweep)
    log(f"trained {len(todo)} sweeps in {_minutes(time.perf_counter() - start)}")
    return len(todo)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"
