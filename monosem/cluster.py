"""Train sweeps on a Ray cluster: every sweep still to train, or part of one, becomes a Ray task.

A task takes one GPU where the cluster has GPUs, else `cpus_per_task` CPUs, and returns its result object to
the driver, which writes it into the cache at once (atomically, through `Cache`): the workers need no shared
file system. A sweep with more than its share of the work (all the work over the number of workers) is cut
into shards (`monosem.shards`) and merged when its last part is back; a finished part is kept in
`<cache>/parts/<sweep file>/` until then, so that an interrupted driver loses no finished task and the same
command resumes from the cache. A worker that dies has its task run again (Ray's `max_retries`); an error
raised by the training code itself is not retried: it stops the run, with everything finished kept.

Every node needs this library at the driver's version (a task refuses to train otherwise: the cache key
holds the version) and the training stack (`pip install -r requirements.txt`); see the book's page "Running at
scale" (book/scale.md).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import platform
import shutil
import socket
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from monosem import runner
from monosem.cache import Cache, result_bytes
from monosem.config import Sweep
from monosem.results import SweepResult
from monosem.shards import max_shards, merge, split
from monosem.version import __version__

RAY_REQUIREMENT = "ray>=2.40,<3"
# Attempts after a worker dies (a killed process, a lost node); errors raised by the training code are final.
MAX_RETRIES = 3
DEVICES = ("cpu", "cuda")
# How long the address check waits for the connection and for the first answer of a Ray cluster (seconds).
CHECK_TIMEOUT_S = 5.0
# The start of every HTTP/2 connection (RFC 9113, 3.4) and an empty SETTINGS frame: what a gRPC client sends
# first. A Ray cluster (its GCS, or its client server for ray://) speaks gRPC and answers with a SETTINGS frame.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_SETTINGS = 4


def plan(sweeps: list[Sweep], n_workers: int) -> list[list[Sweep]]:
    """The parts each sweep trains as: a sweep with more work than its share, all the work over `n_workers`,
    is cut into as many parts as bring each under the share, as far as its first swept axis allows."""
    if n_workers < 1:
        raise ValueError(f"the number of workers must be >= 1, got {n_workers}")
    share = sum(runner.sweep_flops(s) for s in sweeps) / n_workers
    return [split(s, min(max_shards(s), math.ceil(runner.sweep_flops(s) / share * (1 - 1e-9)))) for s in sweeps]


def parts_cache(cache: Cache, sweep: Sweep) -> Cache:
    """Where the finished parts of `sweep` wait for the others (removed once the sweep is merged and cached)."""
    return Cache(cache.root / "parts" / cache.path(sweep).stem, cache.version)


def train_on_ray(
    cache: Cache,
    sweeps: list[Sweep],
    *,
    label: str,
    address: str | None = None,
    device: str | None = None,
    workers: int | None = None,
    cpus_per_task: int = 1,
    gpu_sized: bool = False,
    train: Callable[..., SweepResult] | None = None,
    log: Callable[[str], object] | None = None,
    progress: bool = True,
) -> int:
    """Train what is not cached yet as Ray tasks; returns the number of sweeps trained.

    address: None uses the Ray of this process if it is initialised, else starts a local instance;
    "local" starts a local instance; "auto" or "HOST:PORT" (or "ray://HOST:PORT") joins a running cluster.
    A Ray this call started is shut down when it returns; one it found is left running.
    device: "cuda" (one GPU per task), "cpu", or None: cuda if the cluster has a GPU.
    workers: balance the work over this many workers (default: the cluster's GPUs, or CPUs / cpus_per_task).
    gpu_sized: refuse to train on CPUs (as `runner.train_all`). train: the training function the tasks call
    (default `monosem.training.train`). Bad input (an unreachable address, cuda on a cluster without a GPU)
    raises ValueError before anything is written; a task that fails raises `runner.RunnerError`, Ctrl-C
    `runner.Interrupted`, both with what finished kept in the cache.
    """
    if device not in (None, *DEVICES):
        raise ValueError(
            f"device must be one of {', '.join(DEVICES)} (or None: cuda if the cluster has a GPU), got {device!r}"
        )
    if isinstance(cpus_per_task, bool) or not isinstance(cpus_per_task, int) or cpus_per_task < 1:
        raise ValueError(f"cpus_per_task must be a positive integer, got {cpus_per_task!r}")
    if address is not None and address.startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise ValueError(
            f"{address} is a Ray Client address, and Ray Client needs gRPC, which is not installed here: "
            "pip install 'ray[client]', or give the cluster's GCS address (HOST:6379) from a node of the cluster"
        )
    if address not in (None, "local", "auto"):
        _check_reachable(address)
    log = log or tqdm.write
    wanted = runner.distinct(sweeps, cache)
    todo = runner.pending(cache, wanted)
    if not todo:
        log(f"all {len(wanted)} sweeps of profile {label} are cached in {cache.root}")
        return 0
    ray = _import_ray()
    started = not ray.is_initialized()
    if not started and address is not None:
        raise ValueError(f"Ray is already initialised in this process; cannot also connect to {address!r}")
    if started:
        _connect(ray, address or "local")
    try:
        resources = ray.cluster_resources()
        n_gpus, n_cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
        where = f"Ray cluster of {n_cpus} CPUs and {n_gpus} GPUs"
        device = device or ("cuda" if n_gpus else "cpu")
        if device == "cuda" and not n_gpus:
            raise ValueError(f"device cuda was asked for, but the {where} has no GPU")
        if gpu_sized and device == "cpu":
            runner.refuse_gpu_sized(cache, todo, label)
        if device == "cpu" and n_cpus < cpus_per_task:
            raise ValueError(f"a task needs {cpus_per_task} CPUs, more than the {where} has")
        cache.check_writable(sum(result_bytes(s) for s in todo))  # the driver writes every result, before any task
        n_workers = workers or (n_gpus if device == "cuda" else n_cpus // cpus_per_task)
        options: dict[str, Any] = {"max_retries": MAX_RETRIES, "retry_exceptions": False}
        options.update({"num_gpus": 1, "num_cpus": 1} if device == "cuda" else {"num_cpus": cpus_per_task})
        task = ray.remote(_train_task).options(**options)
        with contextlib.ExitStack() as held:
            # Each sweep under its lock, as `Cache.get_or_train` trains it: a sweep that another process (a second
            # driver, a `train` without Ray) is training into this cache is left to it, not trained twice.
            mine = [s for s in todo if held.enter_context(cache.claim(s, wait=False)) and not cache.exists(s)]
            others = [s.name for s in todo if s not in mine and not cache.exists(s)]
            if others:
                log(f"left to the other process training them into {cache.root}: {', '.join(others)}")
            if not mine:
                return 0
            return _run(ray, task, cache, mine, plan(mine, n_workers), device, train, label, where, log, progress)
    finally:
        if started:
            ray.shutdown()


def _run(ray, task, cache, todo, planned, device, train, label, where, log, progress) -> int:
    total = sum(runner.sweep_flops(s) for s in todo)
    # By sweep, not by name: two chapters may name different sweeps alike.
    parts_of = dict(zip(todo, planned, strict=True))
    left = {s: len(p) for s, p in parts_of.items()}
    queue = []  # (sweep, part) to submit
    for sweep, parts in zip(todo, planned, strict=True):
        for part in parts:
            if len(parts) > 1 and parts_cache(cache, sweep).valid(part):
                left[sweep] -= 1  # a part an interrupted run finished
            else:
                queue.append((sweep, part))
    # The largest first: the longest tasks start while every worker is free.
    queue.sort(key=lambda item: -runner.sweep_flops(item[1]))
    split_note = ", ".join(f"{s.name} in {len(p)} parts" for s, p in parts_of.items() if len(p) > 1)
    log(
        f"{len(todo)} sweeps to train at profile {label}: {total / 1e12:.1f} TFLOP in {len(queue)} tasks on {device} "
        f"({where}){'; split: ' + split_note if split_note else ''}"
    )
    refs = {task.remote(part, device, __version__, train): (sweep, part) for sweep, part in queue}
    start, done_flops, n_done = time.perf_counter(), 0.0, 0
    bar = tqdm(total=len(todo), unit="sweep", desc=f"{label} on Ray", disable=not progress)
    # Sweeps whose parts an interrupted run finished only need merging.
    finished: list[tuple[Sweep, SweepResult | None]] = [(s, None) for s in todo if left[s] == 0]
    try:
        while finished or refs:
            if not finished:
                ready, _ = ray.wait(list(refs), num_returns=1)
                sweep, part = refs.pop(ready[0])
                try:
                    result = ray.get(ready[0])
                except ray.exceptions.RayError as err:
                    raise runner.RunnerError(f"training {part.name} failed on the {where}: {_one_line(err)}") from err
                if len(parts_of[sweep]) == 1:
                    cache.save(result)
                    finished.append((sweep, result))
                else:
                    parts_cache(cache, sweep).save(result)
                    left[sweep] -= 1
                    if left[sweep] == 0:
                        finished.append((sweep, None))
            for sweep, result in finished:
                result = result or _merge_parts(cache, sweep, parts_of[sweep])
                n_done += 1
                done_flops += runner.sweep_flops(sweep)
                elapsed = time.perf_counter() - start
                eta = elapsed * (total - done_flops) / done_flops
                bar.update(1)
                bar.set_postfix_str(f"about {_minutes(eta)} left", refresh=False)
                nodes = sorted({m.get("node", "?") for m in result.meta.get("parts", [result.meta])})
                log(
                    f"[{n_done}/{len(todo)}] {sweep.name} ({sweep.n_inst} models) trained on {', '.join(nodes)}: "
                    f"{_minutes(result.seconds)} of training; {_minutes(elapsed)} so far, about {_minutes(eta)} left"
                )
            finished = []
    except KeyboardInterrupt:
        n_cached = sum(cache.exists(s) for s in todo)
        kept = " (and the finished parts of the others)" if split_note else ""
        raise runner.Interrupted(
            f"interrupted: {n_cached} of the {len(todo)} sweeps to train are now cached in {cache.root}{kept}; "
            "run the same command again to go on from there"
        ) from None
    finally:
        bar.close()
        for ref in refs:  # after an error or Ctrl-C: stop what still runs, on a cluster this call may leave up
            ray.cancel(ref, force=True)
    log(f"trained {len(todo)} sweeps in {_minutes(time.perf_counter() - start)}")
    return len(todo)


def _merge_parts(cache: Cache, sweep: Sweep, parts: list[Sweep]) -> SweepResult:
    store = parts_cache(cache, sweep)
    merged = merge(sweep, [store.load(part) for part in parts])
    cache.save(merged)
    shutil.rmtree(store.root)  # only this sweep's own parts, now inside the merged file
    if not any(store.root.parent.iterdir()):
        store.root.parent.rmdir()
    return merged


def _train_task(part: Sweep, device: str, version: str, train: Callable[..., SweepResult] | None) -> SweepResult:
    """What a worker runs: train one sweep (or part) and return the result; the driver caches it."""
    node = platform.node()
    if version != __version__:
        raise RuntimeError(
            f"node {node} has monosem {__version__}, the driver {version}: install the same version on every node"
        )
    from monosem import training

    result = (train or training.train)(part, device=device, progress=False)
    result.meta["node"] = node
    return result


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise runner.RunnerError(f"Ray is not installed here: pip install '{RAY_REQUIREMENT}'") from None
    return ray


def _check_reachable(address: str) -> None:
    """A clear error within seconds for an address where no Ray cluster answers, rather than Ray's retries: nothing
    listens there, or something that does not speak gRPC (the dashboard's HTTP port, a listener that never
    answers), at which `ray.init` would wait for minutes and ignore Ctrl-C."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"a Ray address is auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        conn = socket.create_connection((host.strip("[]"), int(port)), timeout=CHECK_TIMEOUT_S)
    except OSError as err:
        raise ValueError(f"cannot reach a Ray cluster at {address}: {err.strerror or err}") from None
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        conn.close()  # a TLS cluster answers only a TLS handshake: the connection is all that is checked
        return
    hint = (
        "the address of a Ray cluster is its head node's GCS port (6379 unless `ray start --port` chose another; "
        "8265 is the dashboard), or ray://HOST:10001 for Ray Client"
    )
    with conn:
        try:
            conn.sendall(_HTTP2_PREFACE)
            header = b""
            while len(header) < 9:
                chunk = conn.recv(9 - len(header))
                if not chunk:
                    break
                header += chunk
        except TimeoutError:
            raise ValueError(
                f"something at {address} accepts connections but gives no answer of a Ray cluster within "
                f"{CHECK_TIMEOUT_S:g} s: {hint}"
            ) from None
        except OSError as err:
            raise ValueError(
                f"what answers at {address} is not a Ray cluster ({err.strerror or err}): {hint}"
            ) from None
    if len(header) < 9 or header[3] != _SETTINGS:
        what = "an HTTP/1 server" if header.startswith(b"HTTP/") else "not a Ray cluster (no gRPC)"
        raise ValueError(f"what answers at {address} is {what}: {hint}")


def _connect(ray: Any, address: str) -> None:
    local = {"include_dashboard": False} if address == "local" else {}
    try:
        ray.init(address=address, logging_level=logging.WARNING, **local)
    except Exception as err:  # Ray raises ConnectionError, RuntimeError or its own errors for the same thing
        causes, cause = [], err
        while cause is not None:
            causes.append(cause)
            cause = cause.__cause__
        # Ray 2.60 passes the GCS client's AuthenticationError on as text inside a RuntimeError.
        if any("AuthenticationError" in f"{type(c).__name__} {c}" for c in causes):
            raise ValueError(
                f"the Ray cluster at {address} asks for its authentication token: set RAY_AUTH_MODE=token, with "
                "the head node's ~/.ray/auth_token here too or its contents in RAY_AUTH_TOKEN "
                "(see book/scale.md, Running at scale)"
            ) from None
        raise ValueError(f"cannot connect to the Ray cluster at {address}: {_one_line(err)}") from None


def _one_line(err: BaseException) -> str:
    cause = getattr(err, "cause", None) or err  # a RayTaskError carries the worker's exception
    lines = [line for line in str(cause).splitlines() if line.strip()]
    return f"{type(cause).__name__}: {lines[-1] if lines else ''}".rstrip(": ")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"
