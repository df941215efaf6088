"""How long a sweep takes to train: a roofline over the operations of one step, FLOPs and bytes moved.

Counting FLOPs alone (`training.step_flops`) misses where small-k steps spend their time: the data draw and the
elementwise work are passes over (B, N) and (n, B, N) tensors with no arithmetic to speak of, and at k = 16 on the
paper's shapes they move tens of GB a step. So each operation of a step (`step_ops`: the draw, the embedding, the
forward and backward products, the elementwise passes, the optimizer) costs max(FLOPs / flop rate, bytes / bandwidth)
on a `Machine`, the step the sum of its operations plus a fixed overhead (the host's per-op dispatch, which a GPU
cannot hide behind small kernels), and a sweep `n_steps` steps plus its held-out evaluations.

The CPU's constants are fitted to the recorded times of the `cpu` profile's sweeps; a GPU's are its data sheet's
numbers, to be replaced by the first measurement (`scripts/gpu_first_run.sh` prints predicted against measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monosem.config import ModelConfig, Sweep
from monosem.data import sparse_step
from monosem.training import HELDOUT_SAMPLES, snapshot_steps

FLOAT_BYTES = 4
# Passes over a (B, N) tensor (reads and writes) of one draw of the features (`DataStream._draw`): torch.rand
# writes u; u / p reads it and writes; p - u reads and writes; sign_ and clamp_min_ read and write in place;
# mul_ reads two and writes one.
DRAW_PASSES = 12
# Passes over (n, B, k) of the step's elementwise work (`ToyModel.loss_and_grads`) besides the products: ReLU
# (2), the derivative through sign(h) and its product (5), the bias gradient's sum (1); GeLU and SoLU recompute
# their derivative from e (about 10 passes more); the L1 term (sign, scale, add: 7).
HIDDEN_PASSES = {"relu": 8, "gelu": 18, "solu": 16}
L1_PASSES = 7
# Passes over (n, B, d_out): the target's subtraction (3) and the scaling into the gradient (2).
OUTPUT_PASSES = 5
# Passes of LAMB over the parameters (`optim.BatchedLamb`): reading p, g, m, v, writing m, v, p, and the
# temporaries of the update and its norms.
OPTIMIZER_PASSES = 16


@dataclass(frozen=True)
class Op:
    """One operation of a step: its floating-point work and the bytes it reads and writes."""

    name: str
    flops: float
    bytes: float


@dataclass(frozen=True)
class Machine:
    """What a step costs on a device: an effective matmul rate (FLOP/s), an effective memory bandwidth (bytes/s)
    and a per-step overhead (seconds), with where the numbers come from."""

    name: str
    flops: float
    bandwidth: float
    overhead: float
    source: str = ""

    def op_seconds(self, op: Op) -> float:
        return max(op.flops / self.flops, op.bytes / self.bandwidth)


# Fitted with `fit` to the recorded times of the `cpu` profile's sweeps (results/cpu: trained 2026-12-07 by
# `python -m monosem train --profile cpu` on this project's 2-core machine, torch 2.13.0's CPU build), leaving out
# LR1, LR2, LR3 and RG1, trained in the run's first 27 minutes while other work shared the two cores
# (book/performance.md; LR1 took 4.5 times LR2's time there for the same work). Command:
#   python scripts/calibrate_cost.py results/cpu --exclude LR1,LR2,LR3,RG1 --write tests/data/cpu_timings.json
# All 19 others are predicted within 30 % (0.76-1.26 of the recorded time; tests/test_cost.py). The CPU has no
# per-step overhead to speak of: its dispatch is hidden in the passes' time.
CPU_2CORE = Machine(
    "2-core CPU",
    flops=3.16e11,
    bandwidth=1.47e10,
    overhead=0.0,
    source="fitted to 19 recorded times of results/cpu, 2026-12-07",
)

# The host's dispatch per op of eager PyTorch, about 8 microseconds, times the 96 ops of a step (counted with a
# TorchDispatchMode over 64 steps of the ci profile's LR1): a GPU step is never shorter, however small the sweep.
GPU_STEP_OVERHEAD = 96 * 8e-6

# Data-sheet numbers. H100 SXM: TF32 tensor cores 495 TFLOP/s dense (the 989 on the data sheet is with 2:4
# sparsity), taken at 400 effective; HBM3 at 3.35 TB/s. H200: the same chip with 4.8 TB/s of HBM3e.
H100_SXM = Machine(
    "H100 SXM", flops=400e12, bandwidth=3.35e12, overhead=GPU_STEP_OVERHEAD, source="data sheet, not measured"
)
H200 = Machine("H200", flops=400e12, bandwidth=4.8e12, overhead=GPU_STEP_OVERHEAD, source="data sheet, not measured")


def machine_for(device_name: str) -> Machine:
    """The Machine for a device: "cpu" the calibrated CPU; a GPU by its name (`torch.cuda.get_device_name`), H200
    or else H100's numbers (the one GPU this project plans for)."""
    if device_name == "cpu":
        return CPU_2CORE
    return H200 if "H200" in device_name.upper() else H100_SXM


def _matmul(name: str, batch: int, m: int, k: int, n: int) -> Op:
    """A batched product (batch, m, k) @ (batch, k, n): its FLOPs and the bytes of both operands and the result."""
    return Op(name, 2.0 * batch * m * k * n, FLOAT_BYTES * batch * (m * k + k * n + m * n))


def _n_streams(configs: tuple[ModelConfig, ...]) -> int:
    """How many (B, N) feature tensors a step draws: one when every instance shares its seed and density (the
    stream broadcasts), else one per instance (`DataStream.sample`)."""
    shared = len({c.seed for c in configs}) == 1 and len({(c.eps, c.freq) for c in configs}) == 1
    return 1 if shared else len(configs)


def step_ops(
    configs: tuple[ModelConfig, ...], batch_size: int | None = None, train: bool = True, sparse: bool | None = None
) -> list[Op]:
    """The operations of one step of a sweep of `configs` (one batched model), or with `train` False of one
    forward pass with its loss (a held-out chunk of `batch_size` samples, always dense). sparse: the sparse decoder
    step (`sparse_ops`; default: where the trainer takes it, `data.sparse_step`)."""
    if train and (sparse_step(configs) if sparse is None else sparse):
        return sparse_ops(configs)
    base = configs[0]
    n, s = len(configs), _n_streams(configs)
    b = batch_size or base.batch_size
    big_n, d, k, o = base.n_features, base.d_embed, base.d_hidden, base.d_out
    draws = 2 if base.task == "abs" else 1
    # abs: f1 - f2 and |f| are three passes more
    features = FLOAT_BYTES * s * b * big_n * (DRAW_PASSES * draws + (5 if base.task == "abs" else 0))
    ops = [Op("data draw", 0.0, features), _matmul("embed x = f P^T", s, b, big_n, d)]
    if base.task == "reprojector":
        ops.append(_matmul("target Q f", s, b, big_n, d))
    ops += [
        _matmul("e = x W_in + b", n, b, d, k),
        Op("h = act(e)", 0.0, FLOAT_BYTES * n * b * k * 2),
        _matmul("y = h W_out", n, b, k, o),
        Op("err = y - target", 0.0, FLOAT_BYTES * b * o * (2 * n + s)),
    ]
    if not train:
        return ops
    l1 = any(c.l1 for c in configs)
    hidden = HIDDEN_PASSES[base.activation] - 2 + (L1_PASSES if l1 else 0)  # act(e) counted above
    params = n * (d * k + k + k * o)
    return ops + [
        Op("gradient scaling", 0.0, FLOAT_BYTES * n * b * o * (OUTPUT_PASSES - 3)),
        _matmul("dW_out = h^T g_y", n, k, b, o),
        _matmul("g_h = g_y W_out^T", n, b, o, k),
        Op("elementwise backward", 0.0, FLOAT_BYTES * n * b * k * hidden),
        _matmul("dW_in = x^T g_e", n, d, b, k),
        Op("LAMB", 0.0, FLOAT_BYTES * params * OPTIMIZER_PASSES),
    ]


# Bytes per active feature of the sparse step's bookkeeping (`data.SparseFeatures.from_draw`): nonzero's three int64
# indices, the value, the shifted rows and columns, the argsort of the columns and the transposed copy.
SPARSE_ENTRY_BYTES = 96


def sparse_ops(configs: tuple[ModelConfig, ...]) -> list[Op]:
    """The operations of one step of the sparse decoder step (`ToyModel._sparse_decoder`): the uniform draw and its
    comparison are the only passes over (B, N); the embedding and the decoder's two products with the features
    gather the W rows of the E = eps N B active features per stream; the rest are (B, k) and (k, k) products. Not
    calibrated on its own: the CPU's constants are the dense step's (`bench --sparse` prints both side by side)."""
    base = configs[0]
    n, b = len(configs), base.batch_size
    m = _n_streams(configs)  # streams of features (one seed: 1, or one per instance)
    big_n, d, k = base.n_features, base.d_embed, base.d_hidden
    active = m * b * big_n * base.eps
    per_stream = n // m  # instances a stream's product serves side by side

    def gather(name: str, width: int) -> Op:
        return Op(name, 2.0 * active * width, active * (12 + FLOAT_BYTES * width) + FLOAT_BYTES * m * b * width)

    hidden = HIDDEN_PASSES[base.activation] - 2 + (L1_PASSES if any(c.l1 for c in configs) else 0)
    params = n * (d * k + k + k * big_n)
    return [
        # the uniforms written, read by one comparison for every stream, its mask read by nonzero
        Op("data draw", 0.0, b * big_n * (2 * FLOAT_BYTES + 2) + active * SPARSE_ENTRY_BYTES),
        gather("embed x = f P^T (sparse)", d),
        _matmul("e = x W_in + b", n, b, d, k),
        Op("h = act(e)", 0.0, FLOAT_BYTES * n * b * k * 2),
        gather("z = f W_out^T (sparse)", per_stream * k),
        _matmul("G = W_out W_out^T", n, k, big_n, k),
        _matmul("h G", n, b, k, k),
        Op("loss and g_h", 0.0, FLOAT_BYTES * n * b * k * 6),
        _matmul("h^T h", n, k, b, k),
        _matmul("h^T h W_out", n, k, k, big_n),
        gather("f^T h (sparse)", per_stream * k),
        Op("elementwise backward", 0.0, FLOAT_BYTES * n * b * k * hidden),
        _matmul("dW_in = x^T g_e", n, d, b, k),
        Op("LAMB", 0.0, FLOAT_BYTES * params * OPTIMIZER_PASSES),
    ]


def step_seconds(configs: tuple[ModelConfig, ...], machine: Machine, sparse: bool | None = None) -> float:
    """Seconds of one training step of a sweep of `configs` on `machine` (sparse: as `step_ops`)."""
    return sum(machine.op_seconds(op) for op in step_ops(configs, sparse=sparse)) + machine.overhead


def heldout_seconds(configs: tuple[ModelConfig, ...], machine: Machine) -> float:
    """Seconds of the held-out evaluations of a run: one forward pass over HELDOUT_SAMPLES samples per snapshot
    (`training.heldout_loss`; runs of 2^11 steps or more take some of them at shared steps, counted here anyway)."""
    n_evals = len(snapshot_steps(configs[0].n_steps))
    ops = step_ops(configs, batch_size=HELDOUT_SAMPLES, train=False)
    return n_evals * sum(machine.op_seconds(op) for op in ops)


def run_seconds(configs: tuple[ModelConfig, ...], machine: Machine) -> float:
    """Predicted training time of one batched model of `configs` on `machine`."""
    return configs[0].n_steps * step_seconds(configs, machine) + heldout_seconds(configs, machine)


def sweep_seconds(sweep: Sweep, machine: Machine) -> float:
    """Predicted training time of `sweep` on `machine`: what `runner.train_all` should budget with."""
    return run_seconds(sweep.configs, machine)


def step_bytes(configs: tuple[ModelConfig, ...]) -> float:
    """Bytes one training step moves (`step_ops`), for reports."""
    return sum(op.bytes for op in step_ops(configs))


def fit(
    timed: list[tuple[tuple[ModelConfig, ...], float]], name: str = "fitted", source: str = ""
) -> tuple[Machine, list[float]]:
    """The Machine whose predictions best match `timed` (a sweep's configs with its recorded seconds): a grid search
    over flop rate, bandwidth and per-step overhead minimising the largest |log(predicted / recorded)| (to 0.01),
    then the sum of their squares. Returns it and the ratios predicted / recorded, in order."""

    def ratios(machine: Machine) -> list[float]:
        return [run_seconds(configs, machine) / seconds for configs, seconds in timed]

    def score(machine: Machine) -> tuple[float, float]:
        logs = [math.log(r) for r in ratios(machine)]
        return round(max(map(abs, logs)), 2), sum(v * v for v in logs)

    grid = [10 ** (e / 12) for e in range(-12, 13)]  # a factor of 10 either way, in steps of 21 %
    best = None
    for f in grid:
        for bw in grid:
            for ov in (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3):
                machine = Machine(name, 1e11 * f, 1e10 * bw, ov, source)
                key = score(machine)
                if best is None or key < best[0]:
                    best = (key, machine)
    return best[1], ratios(best[1])
