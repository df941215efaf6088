"""`python -m monosem bench`: the reference's per-model loop against the batched trainer, in one run.

(a) trains each model of the LR1 sweep on its own, as the reference code does: `nn.Sequential`, autograd,
`torch_optimizer.Lamb`, `CosineAnnealingLR`, Bernoulli masks, the activations recomputed for the L1 term
and the bias decay through the state dict; (b) trains the same sweep as one batched
model with `monosem.training`. Both run the same number of steps from initialisation on the same device, taking
turns over several rounds; the printout gives models x steps per second, their ratio (the median over the
rounds) and the batched trainer's achieved GFLOP/s against a plain torch matmul measured in the same run.

`profile_step` runs the batched trainer under `torch.profiler` and prints where a step's time goes, op by op,
with the share spent in matrix products: what to optimise next, measured rather than guessed.
"""

from __future__ import annotations

import statistics
import time

import torch

from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.data import feature_probs, random_projection
from monosem.numerics import numerics
from monosem.profiles import Profile
from monosem.training import step_flops, train


def matmul_peak(device: torch.device, size: int | None = None, reps: int = 10) -> float:
    """GFLOP/s of a square float32 (TF32 where enabled) matmul, the best of `reps` after a warm-up; 2048^2 on
    a CPU, 8192^2 on a GPU (smaller products leave a GPU's tensor cores idle part of the time)."""
    size = size or (8192 if device.type == "cuda" else 2048)
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(reps + 2):
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def plain_loop(cfg: ModelConfig, device: torch.device, steps: int) -> float:
    """Seconds for `steps` steps of one model trained the way the reference code trains it."""
    import torch_optimizer  # the reference's optimizer; only the benchmark needs it

    gen = torch.Generator().manual_seed(cfg.seed)
    proj = random_projection(cfg.n_features, cfg.d_embed, gen).to(device)
    probs = feature_probs(cfg).float().to(device).expand(cfg.batch_size, -1)
    model = torch.nn.Sequential(
        torch.nn.Linear(cfg.d_embed, cfg.d_hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(cfg.d_hidden, cfg.d_out, bias=False),
    ).to(device)
    with torch.no_grad():
        model[0].bias += cfg.init_bias
    opt = torch_optimizer.Lamb(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2**9, eta_min=0)
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        opt.zero_grad(set_to_none=True)
        v = torch.rand(cfg.batch_size, cfg.n_features, device=device) * torch.bernoulli(probs)
        inputs = v @ proj.T
        # The reference recomputes the hidden activations for its L1 term, even when the L1 strength is 0.
        activations = model[:2](inputs)
        loss = ((model(inputs) - v) ** 2).sum() / cfg.batch_size
        loss = loss + cfg.l1 * activations.abs().sum() / cfg.batch_size
        loss.backward()
        opt.step()
        sched.step()
        if i < cfg.n_steps / 2:
            state = model.state_dict()
            state["0.bias"] *= 1 - cfg.bias_decay * cfg.lr
            model.load_state_dict(state)
    _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _bench_setup(profile: Profile, device_name: str, steps: int) -> tuple[torch.device, Sweep]:
    if steps < 1:
        raise ValueError(f"--steps must be >= 1, got {steps}")
    device = torch.device(device_name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but CUDA is not available here")
    return device, make_sweep("bench", profile.base(n_steps=steps), lr=profile.lrs)


MATMUL_OPS = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm", "aten::matmul")
# Substrings (of lower-cased names) of the GPU kernels that compute matrix products: cuBLAS's and CUTLASS's
# classic names (`ampere_sgemm_*`, `sm80_xmma_gemm_*`, `cutlass_80_tensorop_s1688gemm_*`) say "gemm"; Hopper's
# cuBLAS kernels are called `nvjet_tst_*` (no "gemm" in them) and some CUTLASS ones only `cutlass_*` or `*xmma*`.
MATMUL_KERNEL_PATTERNS = ("gemm", "nvjet", "xmma", "cutlass")
WARMUP_STEPS = 10


def is_matmul_kernel(name: str) -> bool:
    """Whether a GPU kernel (its profiler name) computes a matrix product (`MATMUL_KERNEL_PATTERNS`)."""
    name = name.lower()
    return any(pattern in name for pattern in MATMUL_KERNEL_PATTERNS)


def matmul_time(events: list, device_type: str) -> tuple[float, float]:
    """(total, in matrix products) of the self times (microseconds) of profiler `events` (`key_averages()`).

    cuda: GPU time of the kernels themselves (the aten op that launched one reports the same time again, so only
    events on the device count); matrix products by kernel name. cpu: ops nest (a matmul inside a linear inside ...),
    and self times add up to the total without double counting; matrix products by op name (`MATMUL_OPS`)."""
    if device_type == "cuda":
        kernels = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA]
        total = sum(e.self_device_time_total for e in kernels)
        return total, sum(e.self_device_time_total for e in kernels if is_matmul_kernel(e.key))
    total = sum(e.self_cpu_time_total for e in events)
    return total, sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS)


def profile_step(profile: Profile, device_name: str, steps: int, rows: int = 15) -> dict[str, float]:
    """Profile `steps` steps of the batched trainer on the LR1 sweep (after a warm-up) and print the ops that
    take the most time; returns the milliseconds per step and the share of it in matrix products."""
    device, sweep = _bench_setup(profile, device_name, WARMUP_STEPS + steps)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    plan = torch.profiler.schedule(wait=0, warmup=WARMUP_STEPS, active=steps, repeat=1)
    with torch.profiler.profile(activities=activities, schedule=plan) as prof:
        train(sweep, device=device, progress=False, profiler=prof)
    events = prof.key_averages()
    total, matmul = matmul_time(events, device.type)
    sort = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(events.table(sort_by=sort, row_limit=rows))
    out = {"ms_per_step": total / steps / 1e3, "matmul_share": matmul / total if total else 0.0}
    where = "GPU" if device.type == "cuda" else "CPU"
    print(
        f"{sweep.n_inst} models, {steps} profiled steps on {device}: {out['ms_per_step']:.2f} ms of {where} time "
        f"per step, {100 * out['matmul_share']:.0f} % of it in matrix products"
    )
    return out


def run_bench(
    profile: Profile,
    device_name: str,
    steps: int,
    compile: bool = False,
    repeats: int = 3,
    tf32: bool | None = None,
) -> dict[str, float]:
    """(a) the per-model loop, (b) the batched trainer and, with `compile`, (c) the batched trainer with its
    forward and backward through `torch.compile` (compilation time excluded: a warm-up run compiles first).

    Every trainer, and the matmul peak they are measured against, runs under the same numerical settings
    (`numerics(device, tf32)`): TF32 matmuls on CUDA as `tf32` says (default: on with CUDA, as `train`'s), so that
    the ratio compares loops, not precisions; the printout states the setting.

    The trainers take turns `repeats` times, so that a slow spell of a shared machine hits both alike; each
    round gives a ratio, and the rates and ratios reported are the medians over the rounds.
    """
    if repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {repeats}")
    device, sweep = _bench_setup(profile, device_name, steps)
    tf32 = device.type == "cuda" if tf32 is None else tf32
    precision = "TF32" if tf32 and device.type == "cuda" else "float32"
    cfg = sweep.configs[0]
    n = sweep.n_inst
    print(
        f"LR1 sweep at the {profile.name} profile's size: {n} models, N={cfg.n_features} d={cfg.d_embed} "
        f"k={cfg.d_hidden} batch={cfg.batch_size}, {steps} steps each, device {device}, "
        f"{torch.get_num_threads()} threads, {repeats} rounds, {precision} matmuls in every trainer"
    )
    with numerics(device, tf32):
        peak = matmul_peak(device)
    seconds: dict[str, list[float]] = {"plain": [], "batched": [], "batched again": [], "compiled": []}
    for _ in range(repeats):
        with numerics(device, tf32):  # what `train` sets for (b), set for (a) too
            seconds["plain"].append(sum(plain_loop(c, device, steps) for c in sweep.configs))
        seconds["batched"].append(train(sweep, device=device, progress=False, tf32=tf32).meta["seconds"])
    if compile:
        # Only after (a) and (b), so that compiling cannot change what they measure; then (b) and (c) take turns.
        # Four steps compile both graphs (with the loss, at steps 1, 2 and 4, and without it, at step 3).
        warm = make_sweep("bench", cfg.replace(n_steps=4), lr=profile.lrs)
        train(warm, device=device, progress=False, compile=True, tf32=tf32)
        for _ in range(repeats):
            seconds["batched again"].append(train(sweep, device=device, progress=False, tf32=tf32).meta["seconds"])
            compiled = train(sweep, device=device, progress=False, compile=True, tf32=tf32)
            seconds["compiled"].append(compiled.meta["seconds"])
    flops = step_flops(cfg) * n * steps
    rows = {"matmul_peak_gflops": peak}
    for name in ("plain", "batched", "compiled") if compile else ("plain", "batched"):
        rows[f"{name}_model_steps_per_s"] = n * steps / statistics.median(seconds[name])
        rows[f"{name}_gflops"] = flops / statistics.median(seconds[name]) / 1e9
    speedups = [a / b for a, b in zip(seconds["plain"], seconds["batched"], strict=True)]
    rows["speedup"] = statistics.median(speedups)
    rows["batched_fraction_of_peak"] = rows["batched_gflops"] / peak
    if compile:
        rows["compiled_over_batched"] = statistics.median(
            b / c for b, c in zip(seconds["batched again"], seconds["compiled"], strict=True)
        )
    print(
        f"(a) per-model loop, torch_optimizer.Lamb : {rows['plain_model_steps_per_s']:8.1f} model-steps/s  "
        f"{rows['plain_gflops']:7.1f} GFLOP/s"
    )
    print(
        f"(b) batched trainer (monosem.training)    : {rows['batched_model_steps_per_s']:8.1f} model-steps/s  "
        f"{rows['batched_gflops']:7.1f} GFLOP/s"
    )
    if compile:
        print(
            f"(c) batched trainer, torch.compile        : {rows['compiled_model_steps_per_s']:8.1f} model-steps/s  "
            f"{rows['compiled_gflops']:7.1f} GFLOP/s  ({rows['compiled_over_batched']:.2f}x of (b))"
        )
    rounds = ", ".join(f"{r:.2f}x" for r in speedups)
    print(f"speed-up (b)/(a), median of the rounds    : {rows['speedup']:8.2f}x  (rounds: {rounds})")
    print(
        f"{f'matmul peak ({precision})':42s}: {peak:8.1f} GFLOP/s; the batched trainer reaches "
        f"{100 * rows['batched_fraction_of_peak']:.0f} % of it"
    )
    return rows


def draw_forms(profile: Profile, device_name: str, repeats: int = 5, draws: int = 20) -> dict[str, float]:
    """The data draw's two forms (`monosem.data.threshold_draw`: float arithmetic only, the CPU's; fewer passes over
    the features, the GPU's), side by side at the profile's shapes (one stream of B x N uniforms thresholded for
    one instance and for every lr of a sweep): microseconds per draw, medians of `repeats` rounds in which they
    take turns, and the ratio. They give the same bits (tests/test_data.py); this says which is faster here."""
    from monosem.data import _fewer_passes, _float_only

    device, _ = _bench_setup(profile, device_name, 1)
    gen = torch.Generator(device=device).manual_seed(0)
    out = {}
    for n in (1, len(profile.lrs)):
        p = torch.full((n, 1, profile.n_features), 1 / 64, device=device)
        times: dict[str, list[float]] = {"float only": [], "fewer passes": []}
        for _ in range(repeats):
            for name, form in (("float only", _float_only), ("fewer passes", _fewer_passes)):
                _sync(device)
                start = time.perf_counter()
                for _ in range(draws):
                    form(torch.rand(profile.batch_size, profile.n_features, generator=gen, device=device), p)
                _sync(device)
                times[name].append((time.perf_counter() - start) / draws * 1e6)
        a, b = (statistics.median(times[k]) for k in ("float only", "fewer passes"))
        print(
            f"{profile.name}, {n} instance(s), B = {profile.batch_size}, N = {profile.n_features} on {device.type}: "
            f"float only {a:.0f} us, fewer passes {b:.0f} us per draw (fewer passes {a / b:.2f}x as fast)"
        )
        out[f"{n}"] = a / b
    return out


def sparse_decoder(
    profile: Profile, sweeps: list[Sweep], device_name: str, repeats: int = 3, steps: int = 3, batch_size: int = 0
) -> dict[str, float]:
    """The decoder's step dense and sparse (`monosem.data.sparse_step`), side by side on every sweep of `sweeps` (the
    profile's) that trains with the sparse step: one data draw and one loss-and-gradients call per step (the
    optimizer is the same for both and left out), milliseconds per step, medians of `repeats` rounds in which they
    take turns, the ratio, and the cost model's predicted ratio on this device (`monosem.cost`). batch_size: instead
    of each sweep's own (the paper's K at k = 16 draws 2^19 samples a step: slow on a CPU, and linear in the
    batch)."""
    import dataclasses

    from monosem import cost
    from monosem.data import DataStream, sparse_step
    from monosem.model import ToyModel

    device, _ = _bench_setup(profile, device_name, steps)
    if batch_size < 0:
        raise ValueError(f"--batch must be a positive number of samples (0: each sweep's own), got {batch_size}")
    machine = cost.machine_for(device.type if device.type == "cpu" else torch.cuda.get_device_name(device))
    out = {}
    for sweep in sweeps:
        if not sparse_step(sweep.configs):
            continue
        configs = tuple(c.replace(batch_size=batch_size or c.batch_size) for c in sweep.configs)
        model = ToyModel.init(configs, device)
        sparse = DataStream.for_configs(configs, device)
        streams = {"dense": dataclasses.replace(sparse, sparse=False), "sparse": sparse}
        times: dict[str, list[float]] = {"dense": [], "sparse": []}
        with numerics(device, device.type == "cuda"):
            for _ in range(repeats):
                for name, stream in streams.items():
                    _sync(device)
                    start = time.perf_counter()
                    for _ in range(steps):
                        x, target = stream.sample()
                        model.loss_and_grads(x, target)
                    _sync(device)
                    times[name].append((time.perf_counter() - start) / steps * 1e3)
        a, b = (statistics.median(times[k]) for k in ("dense", "sparse"))
        predicted = cost.step_seconds(configs, machine, sparse=False) / cost.step_seconds(configs, machine)
        print(
            f"{sweep.name} ({sweep.n_inst} models, k = {configs[0].d_hidden}, N = {configs[0].n_features}, "
            f"B = {configs[0].batch_size}) on {device.type}: dense {a:.1f} ms, sparse {b:.1f} ms a step (sparse "
            f"{a / b:.2f}x as fast; the cost model predicts {predicted:.2f}x for a whole step)"
        )
        out[sweep.name] = a / b
    if not out:
        print(f"no sweep of profile {profile.name} trains with the sparse decoder step (k <= N / 4, one seed)")
    return out
