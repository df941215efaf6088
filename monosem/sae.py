"""Sparse autoencoders on a trained toy model's hidden activations: the dictionary-learning recipe of *Towards
Monosemanticity* (Bricken et al. 2023), batched over the L1 coefficient the way the toy model batches its sweeps.

For activations x (n or 1, B, d_in) and n autoencoders of m latents each (one per L1 coefficient):
    x_bar = x - b_dec;  f = ReLU(x_bar W_enc + b_enc);  x_hat = f W_dec + b_dec
    loss = mean over the batch of |x - x_hat|^2 + l1 * |f|_1
The rows of W_dec are the dictionary vectors, kept at unit norm (their gradient's component along each row is
removed before the step and the rows are renormalised after it), so that the L1 penalty cannot be dodged by
shrinking codes against growing decoder rows. b_dec starts at the geometric median of a sample of activations.
Adam (`Adam`). Latents that have not fired for `dead_window` steps are resampled at `resample_steps()`: each
dead latent's dictionary vector becomes an input drawn with probability proportional to the square of its
reconstruction loss (centred on b_dec and normalised), its encoder column that direction at 0.2 times the mean
norm of the alive latents' encoder columns, its encoder bias zero, and its Adam moments are reset.

Every instance shares the data and the initialisation of its seed and has its own resampling generator, so
instance i equals the autoencoder trained alone with its L1 coefficient (tested). Gradients are written out by
hand, as for the toy model (`monosem.model`), and checked against autograd in the tests.

The measurements: the true feature directions in activation space (`feature_directions`), the largest cosine of
each with a set of unit directions (`max_cosine`: decoder rows, or the neurons' own axes), the fraction of
variance unexplained, L0 and dead latents (`evaluate`), and the latents' codes of single-feature inputs, on which
`monosem.metrics.monosemanticity` reads the paper's r_i exactly as it does for neurons (`latent_activations`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from monosem.config import require, require_ints
from monosem.data import DataStream, feature_probs
from monosem.metrics import single_feature_activations
from monosem.model import ToyModel
from monosem.numerics import numerics
from monosem.results import SweepResult

# Generators of the autoencoders' own random streams, seeded far from the data module's (3 s + 0, 1, 2) and the
# connectivity masks' (2^62 + s): SAE_STREAM + 4 s + (0 data, 1 initialisation, 2 resampling, 3 evaluation data).
SAE_STREAM = 2**61
DATA, INIT, RESAMPLE, EVAL = range(4)
# A feature counts as recovered when some unit's direction has at least this cosine with it.
RECOVERED = 0.9
# The loss and L0 are recorded every this many steps.
LOG_EVERY = 16
# Weiszfeld iterations for the geometric median that b_dec starts at, and the sample it is taken over.
GEOMEDIAN_ITERS = 50
GEOMEDIAN_INPUTS = 4096


def sae_generator(seed: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(SAE_STREAM + 4 * seed + stream)


@dataclass(frozen=True)
class SAEConfig:
    """One batch of sparse autoencoders, one per L1 coefficient.

    d_in: width of the activations (the toy model's k). d_dict: m, latents per autoencoder. l1s: the L1
    coefficients lambda, one autoencoder each (the instance axis). n_steps, batch_size, lr: Adam's steps, inputs
    per step and learning rate. n_resamples: how many times dead latents are resampled, every `resample_every`
    steps from step `resample_every` on; dead_window: a latent is dead (for resampling) when it has not fired on
    any input of the training batches of this many steps before a resampling. resample_inputs: inputs whose losses
    weight the draw of the new directions. resample_scale: the new encoder column's norm over the mean of the
    alive ones. seed: data, initialisation and resampling streams (`sae_generator`).
    """

    d_in: int
    d_dict: int
    l1s: tuple[float, ...]
    n_steps: int
    batch_size: int
    lr: float = 1e-3
    n_resamples: int = 4
    resample_every: int = 1000
    dead_window: int = 500
    resample_inputs: int = 8192
    resample_scale: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        require_ints(
            self, "d_in", "d_dict", "n_steps", "batch_size", "resample_every", "dead_window", "resample_inputs"
        )
        require_ints(self, "n_resamples", least=0)
        finite = bool(self.l1s) and all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in self.l1s)
        require(finite, "l1s", "a non-empty tuple of finite numbers >= 0", self.l1s)
        require(len(set(self.l1s)) == len(self.l1s), "l1s", "distinct values", self.l1s)
        require(math.isfinite(self.lr) and self.lr > 0, "lr", "a finite number > 0", self.lr)
        require(
            self.dead_window <= self.resample_every,
            "dead_window",
            f"at most resample_every ({self.resample_every}): a latent resampled at one resampling must have the "
            "whole window to fire before the next",
            self.dead_window,
        )
        require(
            self.n_resamples * self.resample_every < self.n_steps,
            "n_resamples",
            f"below n_steps / resample_every ({self.n_steps} / {self.resample_every}): the last resampled latents "
            "need steps to train",
            self.n_resamples,
        )
        require(0 < self.resample_scale <= 1, "resample_scale", "in (0, 1]", self.resample_scale)

    @property
    def n_inst(self) -> int:
        return len(self.l1s)

    def resample_steps(self) -> list[int]:
        """The steps (counted after the update) after which dead latents are resampled."""
        return [self.resample_every * (i + 1) for i in range(self.n_resamples)]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "l1s": list(self.l1s)}

    def replace(self, **changes: Any) -> SAEConfig:
        return dataclasses.replace(self, **changes)


# --- the activations an autoencoder learns from --------------------------------------------------------------


@dataclass
class Activations:
    """Fresh hidden activations of one trained toy model (instance `index` of a trained sweep) on its own data
    distribution: features drawn as in training, through the fixed projection and the trained first layer, on
    the generator's device."""

    model: ToyModel  # the one instance
    stream: DataStream

    @classmethod
    def of(cls, result: SweepResult, index: int, generator: torch.Generator) -> Activations:
        cfg, device = result.configs[index], generator.device
        full = result.model()
        model = ToyModel(*(p[index : index + 1].to(device) for p in full.params), full.activation)
        probs = feature_probs(cfg).to(device=device, dtype=torch.float32)[None]
        proj = result["proj"][index : index + 1].float().to(device)
        out_proj = result.out_proj[index : index + 1].float().to(device) if result.out_proj is not None else None
        groups = [(generator, torch.zeros(1, dtype=torch.long, device=device), probs)]
        return cls(model, DataStream(cfg.task, 1, probs, proj, out_proj, groups, True))

    def sample(self, n: int) -> tuple[Tensor, Tensor]:
        """n fresh inputs: hidden activations (1, n, k) and the task's targets (1, n, d_out)."""
        x, target = dataclasses.replace(self.stream, batch_size=n).sample()
        return self.model.hidden(x), target


# --- the batched autoencoder ----------------------------------------------------------------------------------


@dataclass
class SparseAutoencoder:
    """n autoencoders. W_enc: (n, d_in, m); b_enc: (n, m); W_dec: (n, m, d_in), unit-norm rows (the dictionary
    vectors); b_dec: (n, d_in)."""

    W_enc: Tensor
    b_enc: Tensor
    W_dec: Tensor
    b_dec: Tensor

    @classmethod
    def init(cls, n_inst: int, d_dict: int, b_dec: Tensor, generator: torch.Generator) -> SparseAutoencoder:
        """Unit-norm random dictionary vectors, the encoder their transpose (each latent starts by reading the
        direction it writes), zero encoder bias, b_dec as given ((d_in,), on the autoencoder's device); every
        instance the same. The draw is made on the generator's device (the CPU) and moved."""
        d_in = b_dec.shape[-1]
        w_dec = torch.randn(d_dict, d_in, generator=generator).to(b_dec.device)
        w_dec = w_dec / w_dec.norm(dim=-1, keepdim=True)
        return cls(
            w_dec.T.expand(n_inst, -1, -1).clone(),
            torch.zeros(n_inst, d_dict, device=b_dec.device),
            w_dec.expand(n_inst, -1, -1).clone(),
            b_dec.expand(n_inst, -1).clone(),
        )

    @property
    def params(self) -> list[Tensor]:
        return [self.W_enc, self.b_enc, self.W_dec, self.b_dec]

    @property
    def n_inst(self) -> int:
        return self.W_enc.shape[0]

    def encode(self, x: Tensor) -> Tensor:
        """x: (n or 1, B, d_in) -> codes f: (n, B, m)."""
        return torch.relu(torch.baddbmm(self.b_enc[:, None], x - self.b_dec[:, None], self.W_enc))

    def decode(self, f: Tensor) -> Tensor:
        """f: (n, B, m) -> x_hat: (n, B, d_in)."""
        return torch.baddbmm(self.b_dec[:, None], f, self.W_dec)

    @torch.no_grad()
    def loss_and_grads(self, x: Tensor, l1: Tensor) -> tuple[Tensor, Tensor, Tensor, list[Tensor]]:
        """Per instance: the reconstruction loss mean_B |x - x_hat|^2 (n,), the penalty mean_B |f|_1 (n,), the
        codes f (n, B, m), and the gradients of reconstruction + l1 * penalty with respect to [W_enc, b_enc,
        W_dec, b_dec], the decoder's with its component along each dictionary vector removed. x: (n or 1, B,
        d_in); l1: (n,)."""
        batch = x.shape[1]
        x_bar = (x - self.b_dec[:, None]).expand(self.n_inst, -1, -1)
        f = torch.relu(torch.baddbmm(self.b_enc[:, None], x_bar, self.W_enc))
        err = torch.baddbmm(self.b_dec[:, None], f, self.W_dec).sub_(x)
        recon = torch.linalg.vecdot(err, err).mean(-1)
        penalty = f.sum(-1).mean(-1)
        g_x_hat = err.mul_(2 / batch)
        g_w_dec = torch.bmm(f.transpose(1, 2), g_x_hat)
        g_w_dec.sub_(torch.linalg.vecdot(g_w_dec, self.W_dec)[..., None] * self.W_dec)
        g_e = torch.bmm(g_x_hat, self.W_dec.transpose(1, 2)).add_((l1 / batch)[:, None, None]).mul_(torch.sign(f))
        g_w_enc = torch.bmm(x_bar.transpose(1, 2), g_e)
        g_b_enc = g_e.sum(1)
        # b_dec enters twice: added to the output, subtracted from the encoder's input.
        g_b_dec = g_x_hat.sum(1) - torch.bmm(self.W_enc, g_b_enc[..., None])[..., 0]
        return recon, penalty, f, [g_w_enc, g_b_enc, g_w_dec, g_b_dec]

    def normalise_decoder(self) -> None:
        self.W_dec.div_(self.W_dec.norm(dim=-1, keepdim=True))

    def detached(self) -> SparseAutoencoder:
        return SparseAutoencoder(*(p.detach().cpu().clone() for p in self.params))

    @classmethod
    def from_arrays(cls, arrays: dict[str, Tensor]) -> SparseAutoencoder:
        return cls(*(arrays[name].float() for name in ("W_enc", "b_enc", "W_dec", "b_dec")))


class Adam:
    """Adam (`torch.optim.Adam` with its defaults) on tensors whose first dimension is the instance; its state
    is element-wise, so each instance is updated exactly as if alone. `exp_avg`, `exp_avg_sq`: the moments, which
    resampling zeroes for a resampled latent; the step count, and so the bias correction, stays shared."""

    def __init__(self, params: list[Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.eps = params, lr, eps
        self.beta1, self.beta2 = betas
        self.n_steps = 0
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        self.n_steps += 1
        step_size = self.lr / (1 - self.beta1**self.n_steps)
        root_correction = math.sqrt(1 - self.beta2**self.n_steps)
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            m.lerp_(g, 1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = v.sqrt().div_(root_correction).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)


def geometric_median(x: Tensor, iters: int = GEOMEDIAN_ITERS) -> Tensor:
    """The point minimising the sum of Euclidean distances to the rows of x (B, d), by Weiszfeld's iterations
    from the mean."""
    y = x.mean(0)
    for _ in range(iters):
        w = 1 / (x - y).norm(dim=-1).clamp(min=1e-8)
        y = (w[:, None] * x).sum(0) / w.sum()
    return y


@torch.no_grad()
def resample(
    sae: SparseAutoencoder, opt: Adam, dead: Tensor, x: Tensor, generators: list[torch.Generator], scale: float
) -> Tensor:
    """Resample the dead latents (dead: (n, m) bool) from the inputs x (1, R, d_in), as in *Towards
    Monosemanticity*: each dead latent gets an input drawn with probability proportional to the square of its
    reconstruction loss; centred on b_dec and normalised it becomes the dictionary vector, times `scale` times
    the mean encoder-column norm of the alive latents the encoder column; the encoder bias is zeroed and the
    latent's Adam moments are reset. The draws use the CPU `generators`, one per instance. Returns the number
    resampled per instance (n,)."""
    loss = (sae.decode(sae.encode(x)) - x).pow(2).sum(-1)  # (n, R)
    weights = loss.pow(2)
    enc_norm = sae.W_enc.norm(dim=1)  # (n, m)
    counts = dead.sum(-1)
    for i in range(sae.n_inst):
        idx = dead[i].nonzero().squeeze(1)
        if len(idx) == 0:
            continue
        alive = ~dead[i]
        target = scale * (enc_norm[i][alive].mean() if alive.any() else enc_norm[i].mean())
        w = weights[i].cpu() if float(weights[i].sum()) > 0 else torch.ones(weights.shape[1])
        picks = torch.multinomial(w, len(idx), replacement=True, generator=generators[i]).to(x.device)
        v = x[0, picks] - sae.b_dec[i]
        v = v / v.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        sae.W_dec[i, idx] = v
        sae.W_enc[i][:, idx] = (v * target).T
        sae.b_enc[i, idx] = 0.0
        for state in (opt.exp_avg, opt.exp_avg_sq):
            state[0][i][:, idx] = 0.0  # W_enc: (d_in, m)
            state[1][i][idx] = 0.0  # b_enc: (m,)
            state[2][i][idx] = 0.0  # W_dec: (m, d_in)
    return counts


def train_sae(
    cfg: SAEConfig, sample: Callable[[int], Tensor], progress: bool = True, desc: str = "SAE"
) -> dict[str, Tensor]:
    """Train `cfg.n_inst` autoencoders (one per L1 coefficient) on activations from `sample(n) -> (1, n, d_in)`,
    every instance on the same batches, on the device of the batches. Returns, on the CPU: l1s (n,); the final
    weights W_enc, b_enc, W_dec, b_dec; the traces log_steps and recon, penalty, l0 (n, n_log) (reconstruction
    loss, mean |f|_1, mean active latents per input); the resampling record resample_steps, n_resampled and
    n_fired_again (n, n_resamples) (latents resampled, and how many of them fired within `dead_window` steps
    after), resampled (n, m) bool (latents resampled at least once); and seconds, the training wall time."""
    n = cfg.n_inst
    b_dec = geometric_median(sample(GEOMEDIAN_INPUTS)[0])
    device = b_dec.device
    l1 = torch.tensor(cfg.l1s, dtype=torch.float32, device=device)
    sae = SparseAutoencoder.init(n, cfg.d_dict, b_dec, sae_generator(cfg.seed, INIT))
    opt = Adam(sae.params, cfg.lr)
    generators = [sae_generator(cfg.seed, RESAMPLE) for _ in range(n)]
    resample_at = cfg.resample_steps()
    check_at = [s + cfg.dead_window for s in resample_at]
    log_steps = torch.arange(0, cfg.n_steps, LOG_EVERY)
    recon_log, penalty_log, l0_log = (torch.empty(n, len(log_steps), device=device) for _ in range(3))
    n_resampled, n_fired_again = (torch.zeros(n, len(resample_at), dtype=torch.long, device=device) for _ in range(2))
    resampled = torch.zeros(n, cfg.d_dict, dtype=torch.bool, device=device)
    last_fired, resampled_at = (torch.full((n, cfg.d_dict), -1, dtype=torch.long, device=device) for _ in range(2))

    start = time.perf_counter()
    with numerics(device, tf32=False):
        for step in tqdm(range(cfg.n_steps), desc=desc, disable=not progress, mininterval=2):
            x = sample(cfg.batch_size)
            recon, penalty, f, grads = sae.loss_and_grads(x, l1)
            opt.step(grads)
            sae.normalise_decoder()
            last_fired.masked_fill_(f.amax(1) > 0, step)
            if step % LOG_EVERY == 0:
                j = step // LOG_EVERY
                recon_log[:, j], penalty_log[:, j] = recon, penalty
                l0_log[:, j] = (f > 0).sum(-1).float().mean(-1)
            if step + 1 in check_at:  # before a resampling at the same step
                j = check_at.index(step + 1)
                n_fired_again[:, j] = ((resampled_at == resample_at[j]) & (last_fired >= resample_at[j])).sum(-1)
            if step + 1 in resample_at:
                # drawn at every scheduled resampling, so that the data stream does not depend on other instances
                inputs = sample(cfg.resample_inputs)
                dead = last_fired < step + 1 - cfg.dead_window
                counts = resample(sae, opt, dead, inputs, generators, cfg.resample_scale)
                n_resampled[:, resample_at.index(step + 1)] = counts
                resampled |= dead
                resampled_at.masked_fill_(dead, step + 1)
        if device.type == "cuda":
            torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    final = sae.detached()
    arrays = {
        "l1s": l1,
        "W_enc": final.W_enc,
        "b_enc": final.b_enc,
        "W_dec": final.W_dec,
        "b_dec": final.b_dec,
        "log_steps": log_steps,
        "recon": recon_log,
        "penalty": penalty_log,
        "l0": l0_log,
        "resample_steps": torch.tensor(resample_at, dtype=torch.long),
        "n_resampled": n_resampled,
        "n_fired_again": n_fired_again,
        "resampled": resampled,
        "seconds": torch.tensor(seconds, dtype=torch.float64),
    }
    return {k: v.cpu() for k, v in arrays.items()}


# --- measurements ---------------------------------------------------------------------------------------------


@torch.no_grad()
def feature_directions(model: ToyModel, proj: Tensor) -> Tensor:
    """The true feature directions in activation space, h(F_j) - h(0): how the hidden activations move when
    feature j alone is present at unit strength, (n, N, k). h(0) = act(b) is shared by every input (an
    autoencoder's b_dec absorbs it); for a model whose biases are all negative it is zero and the direction is
    h(F_j) itself, the vector the paper's r_i reads (`monosem.metrics.single_feature_activations`)."""
    acts = single_feature_activations(model, proj).transpose(1, 2)
    return acts - model.hidden(torch.zeros(1, 1, proj.shape[1], dtype=proj.dtype))


def max_cosine(directions: Tensor, units: Tensor | None = None) -> Tensor:
    """For each direction (n or 1, N, d), the largest cosine with any of the unit vectors `units` (n or 1, m, d):
    an autoencoder's dictionary vectors; None: the neurons' own axes (the standard basis). Returns (n, N);
    a zero direction (a feature the model ignores) scores 0."""
    unit = directions / directions.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    if units is None:
        return unit.max(dim=-1).values
    return torch.matmul(unit, units.transpose(1, 2)).max(dim=-1).values


def mean_pairwise_cosine(vectors: Tensor) -> float:
    """The mean cosine between distinct rows of `vectors` (N, d): near 1 when they all point the same way."""
    unit = vectors / vectors.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    cos = unit @ unit.T
    n = cos.shape[0]
    return float((cos.sum() - cos.diagonal().sum()) / (n * (n - 1)))


@torch.no_grad()
def latent_activations(sae: SparseAutoencoder, model: ToyModel, proj: Tensor) -> Tensor:
    """The codes of the hidden activations of single-feature inputs, f_l(h(F_j)), (n, m, N): the latents'
    counterpart of the neurons' h_i(F_j), for `monosem.metrics.monosemanticity`."""
    acts = single_feature_activations(model, proj).transpose(1, 2)  # (1, N, k)
    return sae.encode(acts).transpose(1, 2)


def features_covered(acts: Tensor, mono: Tensor) -> Tensor:
    """The fraction of the N features that some monosemantic unit responds to most: acts (n, m, N) of units
    on single-feature inputs, mono (n, m) bool. Unlike "# mono units / # features", a feature served by two
    monosemantic units counts once."""
    n, n_features = acts.shape[0], acts.shape[-1]
    top = acts.argmax(dim=-1)  # (n, m)
    hit = torch.zeros(n, n_features + 1, dtype=torch.bool)  # last column: the non-monosemantic units
    hit.scatter_(1, torch.where(mono, top, n_features), True)
    return hit[:, :n_features].float().mean(-1)


@torch.no_grad()
def evaluate(sae: SparseAutoencoder, h: Tensor, target: Tensor, w_out: Tensor) -> dict[str, Tensor]:
    """On held-out activations h (1, B, d_in) with the toy task's targets (1, B, d_out) and the toy model's
    second layer w_out (1, d_in, d_out), per instance (n,): fvu, the fraction of variance unexplained
    sum |h - h_hat|^2 / sum |h - mean h|^2; l0, mean active latents per input; dead, latents whose code is 0 on every
    one of these B held-out inputs (samples of the toy model's own input distribution, not single-feature inputs;
    a latent alive here may still be silent on every F_j, and a dead one might fire on an input outside these B);
    spliced_loss, the toy task's loss with h_hat in place of h."""
    f = sae.encode(h)
    h_hat = sae.decode(f)
    fvu = (h_hat - h).pow(2).sum((1, 2)) / (h - h.mean(1, keepdim=True)).pow(2).sum()
    y = torch.bmm(h_hat, w_out.expand(sae.n_inst, -1, -1))
    return {
        "fvu": fvu,
        "l0": (f > 0).sum(-1).float().mean(-1),
        "dead": (~(f > 0).any(1)).sum(-1),
        "spliced_loss": (y - target).pow(2).sum(-1).mean(-1),
    }
