"""The training loop: one sweep, one batched model, read top to bottom.

Recipe (Appendix A and the reference code): LAMB with a periodic cosine schedule stepped every step; the
loss is the sum of squared errors over output dimensions, averaged over the batch, plus l1 * sum|h| / B;
during the first half of training the bias decays after every step as b <- b (1 - bias_decay * lr) with
the *base* learning rate. The loss is recorded every 16 steps; the mean bias and the number of
monosemantic neurons and every neuron's r_i, with that step's loss, at steps 1, 2, 4, ... (and at the last step),
and for each of them the loss on a fixed held-out set, taken where the model is at rest (`rest_steps`); from 2^11
steps on, the number of monosemantic neurons there is the mean over the last periods of the lr schedule (`mono_steps`).
A sparse model (`weight_density` < 1) trains in the same loop: its connectivity masks live in the model, which
zeroes the missing weights at initialisation and their gradients at every step (`monosem.model`).
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import Tensor
from tqdm import tqdm

from monosem.config import ModelConfig, Sweep
from monosem.data import DataStream
from monosem.metrics import model_monosemanticity, mono_per_feature
from monosem.model import ToyModel
from monosem.numerics import full_precision, numerics
from monosem.optim import T_MAX, BatchedLamb, lr_factor
from monosem.results import SweepResult

LOSS_EVERY = 16
# The held-out set every snapshot is evaluated on: the same samples at every snapshot, so that the change between
# two snapshots is a paired difference, free of the sampling noise of the recorded batch losses (which spread by
# 5-9 % within a window at `cpu`); 2^14 samples put the held-out loss itself within about 1 % of the expected
# loss, and the paired change between snapshots within a small fraction of that (`python -m monosem bench
# --heldout` measures both).
HELDOUT_SAMPLES = 2**14
HELDOUT_CHUNK = 2**11
# With a checkpoint path, the state of a sweep in training is saved every this many steps (and resumed from it), so
# that a stop loses at most these steps: about a minute for a `long` sweep of six models on two CPU cores. The save
# is a few MB at `cpu` shapes, a fraction of a second.
CHECKPOINT_EVERY = 2**12
CHECKPOINT_FORMAT = "monosem-checkpoint-1"
# The reported final loss averages the recorded losses over one period of the lr schedule.
FINAL_LOSS_WINDOW = 2**10


def step_flops(cfg: ModelConfig) -> int:
    """Matmul FLOPs of one training step of one model: the embedding, the forward and weight-gradient
    matmuls of layer 1, and the forward, weight- and input-gradient matmuls of layer 2."""
    b, n, d, k, o = cfg.batch_size, cfg.n_features, cfg.d_embed, cfg.d_hidden, cfg.d_out
    return 2 * b * (n * d + 2 * d * k + 3 * k * o)


def snapshot_steps(n_steps: int) -> list[int]:
    """Steps (counted after the update) at which the traces are recorded: powers of two, and the last step."""
    steps = [2**i for i in range(n_steps.bit_length()) if 2**i <= n_steps]
    return steps if steps[-1] == n_steps else [*steps, n_steps]


@torch.no_grad()
def heldout_loss(model: ToyModel, data: DataStream, n_samples: int = HELDOUT_SAMPLES) -> tuple[Tensor, Tensor]:
    """The task loss of every instance on the held-out set (`DataStream.heldout`), (n,), and the loss of the best
    constant output there, (n,): sum over outputs of the targets' variance, the loss of a model that has learned
    nothing but the mean (a model with every neuron dead does no better)."""
    chunk = min(HELDOUT_CHUNK, n_samples)
    loss = torch.zeros(model.n_inst, device=model.W_in.device)
    t_sum = t_sq = None
    for x, target in data.heldout(n_samples, chunk):
        err = model.forward(x)[1].sub_(target)
        loss += torch.linalg.vecdot(err, err).sum(-1)
        t_sum = target.sum(1) if t_sum is None else t_sum + target.sum(1)
        t_sq = target.square().sum(1) if t_sq is None else t_sq + target.square().sum(1)
    mean = t_sum / n_samples
    const = (t_sq / n_samples - mean.square()).sum(-1).expand(model.n_inst)
    return loss / n_samples, const


def rest_steps(snaps: list[int], n_steps: int) -> list[int]:
    """The step at which each snapshot's held-out loss is taken: where the model is at rest. The lr schedule is
    periodic (2^10 steps) and every snapshot from 2^10 on falls at the top of a period, where the model is at the
    top of its noise (at lr 0.03 the recorded loss there is about 14 % above that half a period later, at lr 0.001
    0.2 %: comparing losses there would penalise high learning rates). So from 2^10 on, the held-out loss is taken
    half a period earlier, at the bottom of the schedule (lr factor 0: the model has annealed), in runs long enough
    to have two such points (2^11 steps); earlier snapshots, and every snapshot of a shorter run, at their own step.
    Snapshots 2^9 and 2^10 then share a value."""
    if n_steps < 4 * T_MAX:
        return list(snaps)
    return [s - T_MAX if s >= 2 * T_MAX else s for s in snaps]


# The points over which a snapshot's # mono / # features is averaged: MONO_POINTS evenly spaced over each of the lr
# schedule's last MONO_PERIODS periods (the snapshot itself the last point). At high lr the count swings with the
# schedule: LR1 at `long` (2^17 steps), continued for six periods, counts 0.58-0.63 at the bottom of every period and
# 0.75-0.79 at the top at lr 0.03 (0.67-0.71 and 0.70-0.73 at lr 0.01; the same at both ends at lr <= 0.005), so
# one point moves by more than the settledness rule's SETTLE_MONO between two doublings of a model that has stopped
# changing ("3": a period's eight points). And one period's mean is not enough either: the same two models (lr 0.01
# and 0.03) continued for 32 periods at their own lr (8 points a period, every point kept) give period means
# with a standard deviation of 0.008 and 0.011 that do not drift (the means of 1, 2, 4 and 8 periods spread as
# 1/sqrt(periods): 0.0080, 0.0052, 0.0033, 0.0018 at lr 0.01), so the difference of two one-period means exceeds
# SETTLE_MONO = 0.02 in 12 % and 30 % of pairs: a false alarm of the rule at every doubling of a flat model (LR2's
# two: 0.0085 and 0.0081, 11 % and 14 %). Four periods (32 points) bring the difference's spread to 0.0055 and
# 0.0073 (LR2: 0.0063, 0.0058), the threshold to 2.7-3.6 of them (0 of 59 pairs over it at any of the four). Chapter
# 1 measures the same at every profile: its continuations record every period (`settling.window_pairs`).
MONO_POINTS = 8
MONO_PERIODS = 4


def mono_periods(step: int, n_steps: int) -> int:
    """How many periods of the lr schedule the snapshot at `step` averages # mono / # features over: MONO_PERIODS,
    or fewer where they would reach into the first half of the run up to `step` (1 at 2^11, 2 at 2^12, 4 from
    2^13 on); 0 (its own step only) before 2^11 and in every snapshot of a run shorter than that."""
    period = 2 * T_MAX
    if n_steps < 2 * period or step < 2 * period:
        return 0
    return min(MONO_PERIODS, step // (2 * period))


def mono_steps(snaps: list[int], n_steps: int) -> list[tuple[int, ...]]:
    """The steps whose # mono / # features each snapshot's `snap_mono` averages: MONO_POINTS evenly spaced over each
    of the `mono_periods` periods of the lr schedule that end at the snapshot (which is the last of them); a snapshot
    with 0 periods, its own step only. Every snapshot's `snap_r` and `snap_bias` are its own step's."""
    out = []
    for s in snaps:
        periods = mono_periods(s, n_steps)
        window, n = periods * 2 * T_MAX, periods * MONO_POINTS
        out.append(tuple(s - window + window * (i + 1) // n for i in range(n)) if periods else (s,))
    return out


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(
    sweep: Sweep,
    device: torch.device | str | None = None,
    progress: bool = True,
    tf32: bool | None = None,
    profiler: torch.profiler.profile | None = None,
    compile: bool = False,
    init: ToyModel | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY,
    moment_warmup: int = 0,
    record_periods: bool = False,
) -> SweepResult:
    """Train every instance of `sweep` as one batched model and return its compact results.

    device: default CUDA when available, else CPU. tf32: let CUDA matmuls use TF32 (default: on with CUDA;
    no effect on a CPU). The result's `meta` records the device and the TF32 setting. profiler: a running
    `torch.profiler.profile`, told of every step (`python -m monosem bench --profile-step`). compile: run
    the forward and backward through `torch.compile` (off by default: on two CPU cores it is slower, see
    `python -m monosem bench --compile`; the optimizer step does not compile with PyTorch 2.13's CPU backend).
    init: start from these weights instead of the seeds' initialisation (a model trained on; the optimizer's
    moments start at zero).
    moment_warmup: before the first step, accumulate the optimizer's moments over this many batches at lr 0, the
    weights unmoved (for a model trained on from `init`: zero moments make LAMB's first steps sign-like and as large
    as the lr allows, which at high lr knocks a settled model out of its minimum).
    record_periods: also record every whole period of the lr schedule: its # mono / # features averaged over
    MONO_POINTS points (`period_mono`) and its held-out loss at rest, half a period before its end
    (`period_heldout`), (n, n_steps // 2^10) each: what measures a flat model's noise (`monosem.settling`).
    checkpoint: a file to save the state of the sweep to every `checkpoint_every` steps and to resume from when it
    holds this sweep's state (the result is then the uninterrupted run's, bit for bit: the weights, the optimizer's
    moments, the data streams' generators and every array recorded so far are saved); removed when training ends.
    A file that holds another sweep, or cannot be read, is warned about and replaced.
    """
    device = torch.device(device) if device is not None else default_device()
    tf32 = device.type == "cuda" if tf32 is None else tf32
    configs = sweep.configs
    base = configs[0]
    n_steps, n_inst = base.n_steps, sweep.n_inst

    def per_inst(name: str) -> torch.Tensor:
        return torch.tensor([getattr(c, name) for c in configs], dtype=torch.float32, device=device)

    lr, bias_decay = per_inst("lr"), per_inst("bias_decay")
    # Decided once here, not per step: a device-side test inside the loop would stall a GPU every step.
    l1 = per_inst("l1") if any(c.l1 for c in configs) else None
    push = per_inst("bias_push") if any(c.bias_push for c in configs) else None
    decay_factor = 1 - bias_decay * lr
    data = DataStream.for_configs(configs, device)
    if init is not None and (init.n_inst, init.W_in.shape[1:], init.W_out.shape[1:]) != (
        n_inst,
        (base.d_embed, base.d_hidden),
        (base.d_hidden, base.d_out),
    ):
        raise ValueError(f"init holds {init.n_inst} models of another shape than sweep {sweep.name!r}")
    model = ToyModel.init(configs, device) if init is None else init.to(device)
    opt = BatchedLamb(model.params, lr, clamp_value=per_inst("weight_clamp"))
    loss_and_grads = torch.compile(model.loss_and_grads) if compile else model.loss_and_grads

    if moment_warmup < 0:
        raise ValueError(f"moment_warmup must be >= 0 steps, got {moment_warmup}")
    for _ in range(moment_warmup):
        x, target = data.sample()
        opt.step(loss_and_grads(x, target, l1, with_loss=False)[1], 0.0)

    loss_steps = torch.arange(0, n_steps, LOSS_EVERY)
    losses = torch.empty(n_inst, len(loss_steps), device=device)
    snaps = snapshot_steps(n_steps)
    snap_index = {s: j for j, s in enumerate(snaps)}
    snap_mono = torch.zeros(n_inst, len(snaps), device=device)
    snap_r = torch.empty(n_inst, len(snaps), base.d_hidden, device=device)
    snap_bias = torch.empty(n_inst, len(snaps), device=device)
    snap_loss = torch.empty(n_inst, len(snaps), device=device)
    snap_heldout = torch.empty(n_inst, len(snaps), device=device)
    heldout_at: dict[int, list[int]] = {}
    for j, rest in enumerate(rest_steps(snaps, n_steps)):
        heldout_at.setdefault(rest, []).append(j)
    mono_at: dict[int, list[tuple[int, float]]] = {}
    for j, points in enumerate(mono_steps(snaps, n_steps)):
        for point in points:
            mono_at.setdefault(point, []).append((j, 1 / len(points)))
    period = 2 * T_MAX
    n_periods = n_steps // period if record_periods else 0
    period_mono = torch.zeros(n_inst, n_periods, device=device)
    period_heldout = torch.empty(n_inst, n_periods, device=device)
    period_points = {
        q * period + period * (i + 1) // MONO_POINTS: q for q in range(n_periods) for i in range(MONO_POINTS)
    }
    period_rest = {(q + 1) * period - T_MAX: q for q in range(n_periods)}
    measured = set(snap_index) | set(mono_at) | set(heldout_at) | set(period_points) | set(period_rest)

    arrays_so_far = {
        "loss": losses,
        "snap_mono": snap_mono,
        "snap_r": snap_r,
        "snap_bias": snap_bias,
        "snap_loss": snap_loss,
        "snap_heldout": snap_heldout,
    }
    if record_periods:
        arrays_so_far.update(period_mono=period_mono, period_heldout=period_heldout)
    heldout_const = None
    first, seconds_before = 0, 0.0
    fingerprint = [c.to_dict() for c in configs]
    state = _read_checkpoint(checkpoint, fingerprint) if checkpoint is not None else None
    if state is not None:
        first, seconds_before = state["step"], state["seconds"]
        for name, value in state["arrays"].items():
            arrays_so_far[name].copy_(value)
        heldout_const = None if state["heldout_const"] is None else state["heldout_const"].to(device)
        for tensors, saved in ((model.params, "params"), (opt.exp_avg, "exp_avg"), (opt.exp_avg_sq, "exp_avg_sq")):
            for t, v in zip(tensors, state[saved], strict=True):
                t.copy_(v)
        for (gen, _, _), gen_state in zip(data.groups, state["generators"], strict=True):
            gen.set_state(gen_state)

    start = time.perf_counter()
    with numerics(device, tf32):
        steps = range(first, n_steps)
        desc = f"{sweep.name} ({n_inst} models)"
        for step in tqdm(steps, desc=desc, disable=not progress, mininterval=2, initial=first, total=n_steps):
            x, target = data.sample()
            record = step % LOSS_EVERY == 0 or step + 1 in snap_index
            loss, grads = loss_and_grads(x, target, l1, with_loss=record, bias_push=push)
            opt.step(grads, lr_factor(step))
            if step < n_steps / 2:
                model.b_in.mul_(decay_factor[:, None])
            if step % LOSS_EVERY == 0:
                losses[:, step // LOSS_EVERY] = loss
            done = step + 1
            if done in measured:
                with full_precision():  # measured as the final weights are, whatever the steps' precision
                    r_now = None
                    if done in snap_index:
                        j = snap_index[done]
                        snap_r[:, j] = model_monosemanticity(model, data.proj, base.task)
                        snap_bias[:, j] = model.b_in.mean(-1)
                        snap_loss[:, j] = loss
                        r_now = snap_r[:, j]
                    if done in mono_at or done in period_points:
                        if r_now is None:
                            r_now = model_monosemanticity(model, data.proj, base.task)
                        mono_now = mono_per_feature(r_now, base.n_features)
                        for j_mean, weight in mono_at.get(done, ()):
                            snap_mono[:, j_mean] += weight * mono_now
                        if done in period_points:
                            period_mono[:, period_points[done]] += mono_now / MONO_POINTS
                    if done in heldout_at or done in period_rest:
                        value, heldout_const = heldout_loss(model, data)
                        for j in heldout_at.get(done, ()):
                            snap_heldout[:, j] = value
                        if done in period_rest:
                            period_heldout[:, period_rest[done]] = value
            if profiler is not None:
                profiler.step()
            if checkpoint is not None and (step + 1) % checkpoint_every == 0 and step + 1 < n_steps:
                _write_checkpoint(
                    checkpoint,
                    {
                        "format": CHECKPOINT_FORMAT,
                        "configs": fingerprint,
                        "step": step + 1,
                        "seconds": seconds_before + time.perf_counter() - start,
                        "arrays": {name: a.cpu() for name, a in arrays_so_far.items()},
                        "heldout_const": None if heldout_const is None else heldout_const.cpu(),
                        "params": [p.cpu() for p in model.params],
                        "exp_avg": [m.cpu() for m in opt.exp_avg],
                        "exp_avg_sq": [v.cpu() for v in opt.exp_avg_sq],
                        "generators": [gen.get_state() for gen, _, _ in data.groups],
                    },
                )
        if device.type == "cuda":
            torch.cuda.synchronize()
    seconds = seconds_before + time.perf_counter() - start

    final = model.detached()
    r = model_monosemanticity(final, data.proj.cpu(), base.task)
    window = max(1, FINAL_LOSS_WINDOW // LOSS_EVERY)
    arrays = {
        "loss_steps": loss_steps,
        "loss": losses.cpu(),
        "snap_steps": torch.tensor(snaps),
        "snap_mono": snap_mono.cpu(),
        "snap_r": snap_r.cpu(),
        "snap_bias": snap_bias.cpu(),
        "snap_loss": snap_loss.cpu(),
        "snap_heldout": snap_heldout.cpu(),
        "heldout_const": heldout_const.cpu(),
        "final_loss": losses[:, -window:].mean(-1).cpu(),
        "r": r,
        "W_in": final.W_in,
        "b_in": final.b_in,
        "W_out": final.W_out,
        "proj": data.proj.cpu(),
    }
    if data.out_proj is not None:
        arrays["out_proj"] = data.out_proj.cpu()
    if record_periods:
        arrays.update(period_mono=period_mono.cpu(), period_heldout=period_heldout.cpu())
    meta = {"seconds": seconds, "device": str(device), "tf32": tf32, "compile": compile, "sparse_step": data.sparse}
    if first:
        meta["resumed_at"] = first
    result = SweepResult.from_arrays(sweep, arrays, meta)
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    return result


def _read_checkpoint(path: str | os.PathLike[str], fingerprint: list[dict]) -> dict | None:
    """The saved state at `path` if it is a checkpoint of the sweep with these configurations, else None (with a
    warning when there is a file that is not)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same: start again
        warnings.warn(f"cannot read checkpoint {path} ({type(exc).__name__}); training from step 0", stacklevel=3)
        return None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or state.get("configs") != fingerprint:
        warnings.warn(f"checkpoint {path} holds another sweep's state; training from step 0", stacklevel=3)
        return None
    return state


def _write_checkpoint(path: str | os.PathLike[str], state: dict) -> None:
    """Save `state` at `path` atomically (a stop mid-write leaves the previous checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
