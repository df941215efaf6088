"""LAMB for a batched model, and the learning-rate schedule as a pure function of the step.

`BatchedLamb` is `torch_optimizer.Lamb` with its defaults (betas (0.9, 0.999), eps 1e-6, no weight decay,
weight norm clamped to [0, 10], no Adam debiasing), applied to tensors whose first dimension is the
instance: the trust ratio is computed per instance and per parameter tensor, and every instance has its
own learning rate and its own clamp of the weight norm (`ModelConfig.weight_clamp`; 10 unless changed).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

T_MAX = 2**9
# The second moments are floored here before their square root: the smallest normal float32. A neuron that never
# fires has exact zeros there, and on x86 CPUs PyTorch's sqrt of 0 is several times slower than of a positive
# number (12 % of a step of chapter 5's E1 under torch.profiler; LR1, which `bench --profile-step` profiles, has
# few silent neurons). sqrt(TINY) ~ 1e-19 is
# far below half an ulp of any eps >= EXACT_EPS, so sqrt(v) + eps is unchanged bit for bit; a smaller eps
# skips the floor.
TINY = torch.finfo(torch.float32).tiny
EXACT_EPS = 1e-10


def lr_factor(step: int, t_max: int = T_MAX) -> float:
    """Multiplier of the base lr at a 0-based step: `CosineAnnealingLR(T_max, eta_min=0)` stepped every step
    and never reset, i.e. (1 + cos(pi step / T_max)) / 2, periodic with period 2 T_max."""
    return 0.5 * (1.0 + math.cos(math.pi * step / t_max))


class BatchedLamb:
    def __init__(
        self,
        params: list[Tensor],
        lr: Tensor,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        clamp_value: float | Tensor = 10.0,
    ) -> None:
        """lr (n_inst,): the base learning rates; clamp_value: the ceiling on the weight norm in the trust ratio, one
        for every instance or (n_inst,) per instance."""
        if lr.dim() != 1 or any(p.shape[0] != lr.shape[0] for p in params):
            raise ValueError("lr must have shape (n_inst,) matching the first dimension of every parameter")
        if not bool((lr > 0).all()):
            raise ValueError(f"every learning rate must be > 0, got {lr.tolist()}")
        clamp = torch.as_tensor(clamp_value, dtype=lr.dtype, device=lr.device).expand(lr.shape)
        if not bool((clamp > 0).all()):
            raise ValueError(f"every weight clamp must be > 0, got {clamp.tolist()}")
        self.params = params
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.floor = TINY if eps >= EXACT_EPS else 0.0
        self.clamp_value = clamp
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: list[Tensor], factor: float = 1.0) -> None:
        """One update of every parameter from its gradient, with learning rate `factor * lr` per instance."""
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            update = torch.sqrt(v.clamp_min(self.floor) if self.floor else v).add_(self.eps)
            torch.div(m, update, out=update)
            dims = tuple(range(1, p.dim()))
            # min(norm, clamp) is exact, so at the default 10 this is torch_optimizer's clamp(0, 10) bit for bit
            w_norm = torch.minimum(torch.linalg.vector_norm(p, dim=dims), self.clamp_value)
            u_norm = torch.linalg.vector_norm(update, dim=dims)
            # torch_optimizer falls back to a trust ratio of 1 when either norm is zero.
            trust = torch.where((w_norm == 0) | (u_norm == 0), torch.ones_like(w_norm), w_norm / u_norm)
            scale = (-factor * self.lr * trust).view(-1, *([1] * len(dims)))
            p.addcmul_(update, scale)
