"""Train every sweep a set of chapters needs, once, before the chapters execute.

Each finished sweep is written to the cache at once (atomically), so an interrupted run resumes where it
stopped: what is cached is skipped, what was in flight is retrained. Progress shows sweeps done, the time
spent and an estimate of the time left from the floating-point work still to do at the rate seen so far.

A time budget (`budget_s`) stops the run before a sweep that would not finish in the time left, at the rate
seen so far, so that a run on a lent GPU with a fixed lease ends cleanly; the next run goes on from there.
`export_compact` writes the committed form of the results (`results.compact`).
"""

from __future__ import annotations

import time
from pathlib import Path

from monosem import __version__
from monosem.config import Sweep
from monosem.profiles import Profile
from monosem.results import CacheError, cache_path, compact, load, save
from monosem.training import default_device, step_flops

# What a 2-core CPU reaches on these models (README benchmark), to say what training the paper there means.
CPU_FLOPS = 1.3e11


class ScheduleError(Exception):
    """Training was refused (the paper profile on a CPU) or a result to export is missing."""


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


def train_all(
    profile: Profile,
    batches: list[str],
    log=print,
    budget_s: float | None = None,
    allow_cpu: bool = False,
) -> int:
    """Train what is not cached yet; returns the number of sweeps trained.

    budget_s: stop before a sweep that would end after this many seconds, estimated at the FLOP rate of the
    sweeps trained so far in this call (the first sweep always starts). allow_cpu: train the `paper` profile
    even without CUDA (weeks on a laptop), instead of refusing with the estimate.
    """
    if budget_s is not None and budget_s <= 0:
        raise ValueError(f"the time budget must be > 0 seconds, got {budget_s}")
    todo = pending(profile, batches)
    if not todo:
        log(f"all {len(set(batches))} sweeps of profile {profile.name} are cached")
        return 0
    total = sum(sweep_flops(s) for s in todo)
    if profile.name == "paper" and default_device().type == "cpu" and not allow_cpu:
        names = ", ".join(s.name for s in todo)
        raise ScheduleError(
            f"{len(todo)} sweeps of the paper profile are not in {profile.cache_dir} ({names}): "
            f"{total / 1e15:.0f} PFLOP of training, about {total / CPU_FLOPS / 86400:.0f} days on a 2-core CPU. "
            "Train them on a GPU (see the README), use --profile cpu, or pass --allow-cpu to train here anyway"
        )
    log(f"{len(todo)} sweeps to train at profile {profile.name}: {total / 1e12:.1f} TFLOP")
    done = 0.0
    start = time.perf_counter()
    for i, sweep in enumerate(todo, 1):
        elapsed = time.perf_counter() - start
        if budget_s is not None and done and elapsed + elapsed * sweep_flops(sweep) / done > budget_s:
            left = ", ".join(s.name for s in todo[i - 1 :])
            log(
                f"stopping within the budget of {_minutes(budget_s)} after {_minutes(elapsed)}: "
                f"{len(todo) - i + 1} sweeps left ({left}); run again to go on"
            )
            return i - 1
        eta = f", about {_minutes(elapsed * (total - done) / done)} left" if done else ""
        log(
            f"[{i}/{len(todo)}] training {sweep.name} ({sweep.n_inst} models) at profile {profile.name}"
            f"{eta} ({_minutes(elapsed)} so far)"
        )
        seconds = profile.run(sweep).meta.get("seconds", float("nan"))
        done += sweep_flops(sweep)
        log(f"      {sweep.name}: {_minutes(seconds)} of training, {sweep_flops(sweep) / seconds / 1e12:.2f} TFLOP/s")
    log(f"trained {len(todo)} sweeps in {_minutes(time.perf_counter() - start)}")
    return len(todo)


def batch_table(profile: Profile, batches: list[str]) -> list[dict[str, object]]:
    """One row per batch: models, TFLOP of work and, when it is cached, the recorded training time, the achieved
    TFLOP/s and the device it trained on (a compact file keeps these too)."""
    rows = []
    for name in dict.fromkeys(batches):
        sweep = profile.sweep(name)
        path = cache_path(sweep, profile.cache_dir, __version__)
        row = {"batch": name, "models": sweep.n_inst, "TFLOP": sweep_flops(sweep) / 1e12}
        row.update({"minutes": float("nan"), "TFLOP/s": float("nan"), "device": "-"})  # until it is trained
        if path.exists():
            try:
                meta = load(path, sweep, __version__).meta
            except CacheError as err:
                row["device"] = f"unreadable: {err}"
            else:
                seconds = float(meta.get("seconds", float("nan")))
                row.update(
                    minutes=seconds / 60, **{"TFLOP/s": sweep_flops(sweep) / seconds / 1e12}, device=meta.get("device")
                )
        rows.append(row)
    return rows


def export_compact(profile: Profile, batches: list[str], weights: set[str], out_dir: Path, log=print) -> list[Path]:
    """Write the compact form of the cached results of `batches` into `out_dir/<profile>/`, keeping the
    weights of the batches in `weights`; the files keep their cache names, so `out_dir` works as a results root.
    Every batch must be cached (ScheduleError names those that are not)."""
    missing = [
        name
        for name in dict.fromkeys(batches)
        if not cache_path(profile.sweep(name), profile.cache_dir, __version__).exists()
    ]
    if missing:
        raise ScheduleError(f"not trained yet at profile {profile.name}: {', '.join(missing)}")
    target = Path(out_dir) / profile.name
    if target.resolve() == profile.cache_dir.resolve():
        raise ScheduleError(f"export target {target} is the cache itself; choose another folder")
    written = []
    for name in dict.fromkeys(batches):
        sweep = profile.sweep(name)
        source = cache_path(sweep, profile.cache_dir, __version__)
        small = compact(load(source, sweep, __version__), keep_weights=name in weights)
        path = cache_path(sweep, target, __version__)
        save(small, path, __version__)
        log(f"{name}: {source.stat().st_size / 1e6:.1f} MB -> {path} {path.stat().st_size / 1e6:.2f} MB")
        written.append(path)
    return written


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"
