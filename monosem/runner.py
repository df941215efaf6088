"""Train every sweep a set of chapters needs, once, before the chapters execute.

Each finished sweep is written to the cache at once (atomically), so an interrupted run resumes where it
stopped: what is cached is skipped, what was in flight is trained again. A cached file that cannot serve its
sweep is set aside here, before anything trains, so that `train` and the book agree on what is trained.
Progress shows sweeps done, the time spent and an estimate of the time left from the floating-point work
still to do at the rate seen so far.

A time budget (`budget_s`) stops the run before a sweep that would not finish in the time left, at the rate
seen so far, so that a run on a lent GPU with a fixed lease ends cleanly (`BudgetSpent`, which the command line
turns into exit status 3); the next run goes on from there.

Before anything trains, the cache is checked: it must be writable with room for the results. Two runs into one
cache share the work: a sweep another process is training is left for last, then read from the cache.
`export_compact` writes the committed form of the results (`results.compact`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable

import torch

from monosem import cost
from monosem.cache import MAX_SEEDS, Cache, CacheError, result_bytes
from monosem.config import Sweep, merge, shape_of
from monosem.device import no_cuda_reason
from monosem.results import compact
from monosem.training import default_device, step_flops


class RunnerError(Exception):
    """Training was refused (a GPU-sized run on a CPU) or a result to export is missing."""


class BudgetSpent(RunnerError):
    """The time budget ran out with work left (what finished is cached; the same command goes on)."""


# The exit status of `python -m monosem train --budget` when it stopped with work left (0: everything is trained).
EXIT_WORK_LEFT = 3


class Interrupted(Exception):
    """The user stopped a run (Ctrl-C); what finished is cached and the same command resumes."""


def sweep_flops(sweep: Sweep) -> float:
    cfg = sweep.configs[0]
    return float(step_flops(cfg)) * sweep.n_inst * cfg.n_steps


def distinct(sweeps: Iterable[Sweep], cache: Cache) -> list[Sweep]:
    """`sweeps` without repeats (the same configuration asked for by two chapters), in the order given."""
    seen: dict[str, Sweep] = {}
    for sweep in sweeps:
        seen.setdefault(sweep.key(cache.version), sweep)
    return list(seen.values())


def with_seeds(sweeps: Iterable[Sweep], n_seeds: int) -> list[Sweep]:
    """Every sweep trained at `n_seeds` seeds (`Sweep.with_seeds`): seed becomes its last (fastest) axis; a sweep
    that already sweeps seed keeps its own. One seed leaves every sweep as it is (its cache key unchanged)."""
    if isinstance(n_seeds, int) and n_seeds > MAX_SEEDS:
        # the chapters would never find what was trained (`Cache.seeded` looks up to MAX_SEEDS)
        raise ValueError(f"the number of seeds can be at most {MAX_SEEDS} (what the chapters look for), got {n_seeds}")
    sweeps = list(sweeps)
    if not sweeps:
        return []
    return [s.with_seeds(n_seeds) for s in sweeps]


def refuse_gpu_sized(cache: Cache, todo: list[Sweep], label: str) -> None:
    """Raise RunnerError for a GPU-sized run that would train on CPUs, with how long it would take there."""
    total = sum(sweep_flops(s) for s in todo)
    days = sum(cost.sweep_seconds(s, cost.CPU_2CORE) for s in todo) / 86400
    names = ", ".join(s.name for s in todo)
    reason = no_cuda_reason()
    raise RunnerError(
        f"{len(todo)} sweeps of the {label} profile are not in {cache.root} ({names}): "
        f"{total / 1e15:.0f} PFLOP of training, about {days:.0f} days on a 2-core CPU (`monosem.cost`). "
        "Train them on a GPU (see book/scale.md, Running at scale), use --profile cpu, or pass --allow-cpu to train "
        f"here anyway{'. ' + reason[0].upper() + reason[1:] if reason else ''}"
    )


def pending(cache: Cache, sweeps: Iterable[Sweep]) -> list[Sweep]:
    """The distinct sweeps without a usable cached result (an unusable file is set aside), in order."""
    return [s for s in distinct(sweeps, cache) if not cache.valid(s)]


def train_all(
    cache: Cache,
    sweeps: list[Sweep],
    *,
    label: str,
    log: Callable[[str], object] = print,
    budget_s: float | None = None,
    gpu_sized: bool = False,
    progress: bool = True,
    compile: bool = False,
    merge: bool | None = None,
) -> int:
    """Train what is not cached yet; returns the number of sweeps trained.

    label: what the sweeps are (a profile name), for messages. budget_s: stop before a sweep that would end
    after this many seconds: its time predicted by the cost model (`monosem.cost`: FLOPs and bytes moved on this
    device), scaled by how the sweeps trained so far in this call compared with their prediction (the first
    sweep always starts). gpu_sized: refuse to train on a CPU, with an estimate of how long it would take.
    compile: every step through torch.compile (`training.train`); a machine without a C compiler, which
    torch.compile needs to build its kernels, is told so before anything trains.
    merge: train the sweeps of one shape together, as one batched model (`Cache.train_together`); by default
    where a step is launch-bound, on a GPU (`merge_units`).
    Ctrl-C raises `Interrupted`, whose message says how many sweeps are cached and how to resume.
    """
    if budget_s is not None and budget_s <= 0:
        raise ValueError(f"the time budget must be > 0 seconds, got {budget_s}")
    if compile and not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        raise RunnerError(
            "--compile needs a C compiler on this machine (torch.compile builds its kernels with one): none of cc, "
            "gcc, clang is on PATH; install one (apt-get install gcc) or train without --compile"
        )
    wanted = distinct(sweeps, cache)
    todo = pending(cache, wanted)
    if not todo:
        log(f"all {len(wanted)} sweeps of profile {label} are cached in {cache.root}")
        return 0
    total = sum(sweep_flops(s) for s in todo)
    if gpu_sized and default_device().type == "cpu":
        refuse_gpu_sized(cache, todo, label)
    cache.check_writable(sum(result_bytes(s) for s in todo))
    log(f"{len(todo)} sweeps to train at profile {label}: {total / 1e12:.1f} TFLOP")
    machine = cost.machine_for(_device_name())
    units = merge_units(todo, default_device().type == "cuda" if merge is None else merge)
    done = predicted_done = 0.0
    start = time.perf_counter()
    queue = list(units)
    n_trained = 0
    try:
        for i in range(1, len(units) + 1):
            # a unit another process is training waits until last (then it is read from the cache)
            unit = next((u for u in queue if not any(cache.busy(s) for s in u)), queue[0])
            queue.remove(unit)
            if len(unit) > 1:  # another process may have trained some of them meanwhile
                unit = [s for s in unit if not cache.valid(s)] or unit[:1]
            elapsed = time.perf_counter() - start
            predicted = unit_seconds(unit, machine)
            if budget_s is not None and done and elapsed + elapsed * predicted / predicted_done > budget_s:
                left = ", ".join(s.name for u in [unit, *queue] for s in u)
                message = (
                    f"stopping within the budget of {_minutes(budget_s)} after {_minutes(elapsed)}: "
                    f"{len(todo) - n_trained} sweeps left ({left}); run again to go on"
                )
                raise BudgetSpent(message)
            left_s = sum(unit_seconds(u, machine) for u in [unit, *queue])
            eta = f", about {_minutes(elapsed * left_s / predicted_done)} left" if done else ""
            what = " + ".join(s.name for s in unit)
            log(
                f"[{i}/{len(units)}] training {what} ({sum(s.n_inst for s in unit)} models"
                f"{', as one batched model' if len(unit) > 1 else ''}) at profile {label}{eta} ({_minutes(elapsed)} "
                "so far)"
            )
            if len(unit) == 1:
                seconds = cache.get_or_train(unit[0], progress=progress, compile=compile).seconds
            else:
                seconds = sum(r.seconds for r in cache.train_together(unit, progress=progress, compile=compile))
            flops = sum(sweep_flops(s) for s in unit)
            done += flops
            predicted_done += predicted
            n_trained += len(unit)
            log(f"      {what}: {_minutes(seconds)} of training, {flops / seconds / 1e12:.2f} TFLOP/s")
    except KeyboardInterrupt:
        n_cached = sum(cache.exists(s) for s in wanted)
        raise Interrupted(
            f"interrupted: {n_cached} of {len(wanted)} sweeps of profile {label} are cached in {cache.root}; "
            "run the same command again to go on from there"
        ) from None
    log(f"trained {len(todo)} sweeps in {_minutes(time.perf_counter() - start)}")
    return len(todo)


def merge_units(sweeps: list[Sweep], merge: bool) -> list[list[Sweep]]:
    """What trains as one batched model: with `merge`, the sweeps of one shape (`config.shape_of`) together, in
    order of first appearance; else each sweep alone. A GPU step at `cpu`'s shapes is launch-bound, about 96 kernel
    launches whatever the models' number (`cost.GPU_STEP_OVERHEAD`), so that `long`'s sweeps of one shape cost about
    what one of them does; on a CPU the step is arithmetic and merging gains nothing."""
    if not merge:
        return [[s] for s in sweeps]
    groups: dict[tuple, list[Sweep]] = {}
    for s in sweeps:
        groups.setdefault(shape_of(s.base), []).append(s)
    return list(groups.values())


def unit_seconds(unit: list[Sweep], machine: cost.Machine) -> float:
    """Predicted training time of `unit` (`merge_units`) as one batched model."""
    return cost.sweep_seconds(unit[0] if len(unit) == 1 else merge(unit)[0], machine)


def batch_table(cache: Cache, sweeps: list[Sweep]) -> list[dict[str, object]]:
    """One row per sweep: models, TFLOP of work and, when it is cached, the recorded training time, the achieved
    TFLOP/s and the device it trained on (a compact file keeps these too)."""
    rows = []
    for sweep in distinct(sweeps, cache):
        row: dict[str, object] = {"batch": sweep.name, "models": sweep.n_inst, "TFLOP": sweep_flops(sweep) / 1e12}
        row.update({"minutes": float("nan"), "TFLOP/s": float("nan"), "device": "-"})  # until it is trained
        if cache.exists(sweep):
            try:
                meta = cache.load(sweep).meta
            except CacheError as err:
                row["device"] = f"unreadable: {err}"
            else:
                seconds = float(meta.get("seconds", float("nan")))
                row.update(
                    minutes=seconds / 60, **{"TFLOP/s": sweep_flops(sweep) / seconds / 1e12}, device=meta.get("device")
                )
        rows.append(row)
    return rows


def export_compact(
    cache: Cache, sweeps: list[Sweep], keep_weights: set[str], target: Cache, log: Callable[[str], object] = print
) -> list:
    """Write the compact form of the cached results of `sweeps` into `target`, keeping the weights of the
    sweeps named in `keep_weights`; the files keep their cache names, so `target` works as a cache. Every
    sweep must be cached (RunnerError names those that are not)."""
    wanted = distinct(sweeps, cache)
    missing = [s.name for s in wanted if not cache.exists(s)]
    if missing:
        raise RunnerError(f"not trained yet in {cache.root}: {', '.join(missing)}")
    if target.root.resolve() == cache.root.resolve():
        raise RunnerError(f"export target {target.root} is the cache itself; choose another folder")
    written = []
    for sweep in wanted:
        source = cache.path(sweep)
        path = target.save(compact(cache.load(sweep), keep_weights=sweep.name in keep_weights))
        log(f"{sweep.name}: {source.stat().st_size / 1e6:.1f} MB -> {path} {path.stat().st_size / 1e6:.2f} MB")
        written.append(path)
    return written


def _device_name() -> str:
    device = default_device()
    if device.type != "cuda":
        return device.type
    return torch.cuda.get_device_name(device)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"
