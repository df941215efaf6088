"""`python -m monosem bench`: the reference's per-model loop against the batched trainer, in one run.

(a) trains each model of the LR1 sweep on its own, as the reference code does: `nn.Sequential`, autograd,
`torch_optimizer.Lamb`, `CosineAnnealingLR`, Bernoulli masks, the activations recomputed for the L1 term
and the bias decay through the state dict; (b) trains the same sweep as one batched
model with `monosem.training`. Both run the same number of steps from initialisation on the same device; the
printout gives models x steps per second, their ratio, and the batched trainer's achieved GFLOP/s against
a plain torch matmul measured in the same run.
"""

from __future__ import annotations

import time

import torch
import torch_optimizer

from monosem.config import ModelConfig, make_sweep
from monosem.data import feature_probs, random_projection
from monosem.profiles import Profile
from monosem.training import step_flops, train


def matmul_peak(device: torch.device, size: int = 2048, reps: int = 10) -> float:
    """GFLOP/s of a square float32 matmul, the best of `reps` after a warm-up."""
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


def run_bench(profile: Profile, device_name: str, steps: int) -> dict[str, float]:
    if steps < 1:
        raise ValueError(f"--steps must be >= 1, got {steps}")
    device = torch.device(device_name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but CUDA is not available here")
    sweep = make_sweep("bench", profile.base(n_steps=steps), lr=profile.lrs)
    cfg = sweep.configs[0]
    n = sweep.n_inst
    print(
        f"LR1 sweep at the {profile.name} profile's size: {n} models, N={cfg.n_features} d={cfg.d_embed} "
        f"k={cfg.d_hidden} batch={cfg.batch_size}, {steps} steps each, device {device}, "
        f"{torch.get_num_threads()} threads"
    )
    # On a GPU the batched trainer uses TF32 matmuls by default, so its peak is the TF32 one.
    torch.backends.cuda.matmul.allow_tf32 = device.type == "cuda"
    peak = matmul_peak(device)
    torch.backends.cuda.matmul.allow_tf32 = False
    plain_s = sum(plain_loop(c, device, steps) for c in sweep.configs)
    batched = train(sweep, device=device, progress=False)
    batched_s = batched.meta["seconds"]
    flops = step_flops(cfg) * n * steps
    rows = {
        "plain_model_steps_per_s": n * steps / plain_s,
        "batched_model_steps_per_s": n * steps / batched_s,
        "speedup": plain_s / batched_s,
        "plain_gflops": flops / plain_s / 1e9,
        "batched_gflops": flops / batched_s / 1e9,
        "matmul_peak_gflops": peak,
    }
    rows["batched_fraction_of_peak"] = rows["batched_gflops"] / peak
    print(
        f"(a) per-model loop, torch_optimizer.Lamb : {rows['plain_model_steps_per_s']:8.1f} model-steps/s  "
        f"{rows['plain_gflops']:7.1f} GFLOP/s"
    )
    print(
        f"(b) batched trainer (monosem.training)    : {rows['batched_model_steps_per_s']:8.1f} model-steps/s  "
        f"{rows['batched_gflops']:7.1f} GFLOP/s"
    )
    print(f"speed-up (b)/(a)                          : {rows['speedup']:8.2f}x")
    precision = "TF32" if device.type == "cuda" else "float32"
    print(
        f"{f'matmul peak (2048^2, {precision})':42s}: {peak:8.1f} GFLOP/s; the batched trainer reaches "
        f"{100 * rows['batched_fraction_of_peak']:.0f} % of it"
    )
    return rows
