"""The toy model with a leading instance dimension: e = x W_in + b, h = act(e), y = h W_out (no output bias; chapter
10's option `out_bias` adds one, y = h W_out + b_out).

Weights are stored in the layout the batched matmuls want (W_in: (n_inst, d, k), W_out: (n_inst, k, d_out)),
the transposes of `nn.Linear`'s weights. Gradients are written out by hand: on two CPU cores the autograd
graph of this small model costs more than its arithmetic (see `python -m monosem bench`), and the
hand-written backward is checked against autograd in the tests.

A sparse model (`weight_density` < 1, paper Section 4.1.4) keeps its weights dense in memory but multiplies them
and their gradients by a fixed 0/1 connectivity mask, so that a missing weight is exactly zero at initialisation
and its gradient is exactly zero at every step; LAMB then never moves it (its moments stay zero, so its update
is zero) and its trust ratio sees the norms of the existing weights only.

At small k (k <= N / 4, a decoder of one data stream: `data.sparse_step`) the decoder's part of the step runs from the
active features alone (`_sparse_decoder`), never a dense (B, N) tensor: the paper's K at k = 16 to 128, whose dense
step is memory traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from monosem.config import ModelConfig
from monosem.data import SparseFeatures, init_generator

_SQRT_2PI = math.sqrt(2 * math.pi)


def solu(e: Tensor) -> Tensor:
    return e * torch.exp(e)


def _relu_grad(e: Tensor, h: Tensor) -> Tensor:
    return (e > 0).to(e.dtype)


def _gelu_grad(e: Tensor, h: Tensor) -> Tensor:
    # d/de [e Phi(e)] = Phi(e) + e phi(e), for PyTorch's exact (erf) GeLU.
    return 0.5 * (1 + torch.erf(e / math.sqrt(2))) + e * torch.exp(-0.5 * e * e) / _SQRT_2PI


def _solu_grad(e: Tensor, h: Tensor) -> Tensor:
    return torch.exp(e) + h


# Each activation with its derivative, as a function of the pre-activation e and the activation h.
ACTIVATION_FNS = {"relu": (torch.relu, _relu_grad), "gelu": (F.gelu, _gelu_grad), "solu": (solu, _solu_grad)}


# The mask of seed s is drawn from a generator seeded with MASK_STREAM + s, far above the data module's seeds
# (3 s + 0, 1, 2), so that a mask never shares a random stream with a projection, a data stream or an init.
MASK_STREAM = 2**62


def mask_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(MASK_STREAM + seed)


def erdos_renyi_mask(shape: tuple[int, ...], density: float, generator: torch.Generator) -> Tensor:
    """A 0/1 mask (float32) with exactly round(density * numel) ones at uniformly random places: the adjacency
    matrix of a random bipartite graph with a fixed number of edges (Erdos-Renyi G(n, M))."""
    numel = math.prod(shape)
    n_edges = round(density * numel)
    mask = torch.zeros(numel)
    mask[torch.randperm(numel, generator=generator)[:n_edges]] = 1.0
    return mask.reshape(shape)


def connectivity(cfg: ModelConfig) -> tuple[Tensor, Tensor]:
    """The fixed masks of one model, (d, k) for L1 and (k, d_out) for L2, from its seed; all ones when dense."""
    d, k, n_out = cfg.d_embed, cfg.d_hidden, cfg.d_out
    if cfg.weight_density == 1:
        return torch.ones(d, k), torch.ones(k, n_out)
    gen = mask_generator(cfg.seed)
    return erdos_renyi_mask((d, k), cfg.weight_density, gen), erdos_renyi_mask((k, n_out), cfg.weight_density, gen)


@dataclass
class ToyModel:
    """Weights of a whole sweep. W_in: (n_inst, d, k); b_in: (n_inst, k); W_out: (n_inst, k, d_out).

    masks: None for dense models, else the connectivity masks (mask_in: (n_inst, d, k), mask_out:
    (n_inst, k, d_out)), all ones for a dense instance of a sweep that has sparse ones.
    b_out: (n_inst, d_out), the output bias of a model with `out_bias` (every instance of a sweep shares that
    option); None for the paper's model, which then runs exactly the code it ran before the option existed."""

    W_in: Tensor
    b_in: Tensor
    W_out: Tensor
    activation: str
    masks: tuple[Tensor, Tensor] | None = None
    b_out: Tensor | None = None

    @classmethod
    def init(cls, configs: tuple[ModelConfig, ...], device: torch.device | str = "cpu") -> ToyModel:
        """PyTorch's default `nn.Linear` initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
        bias, plus each instance's `init_bias` offset. Each instance draws from its own seed's generator.
        A sparse instance's weights are that draw times its mask (the dense fan-in sets the scale: the paper's
        sparsity is "naive", and LAMB's trust ratio makes the steps relative to the weights' norm anyway)."""
        base = configs[0]
        d, k, n_out = base.d_embed, base.d_hidden, base.d_out
        w_in, b_in, w_out, b_out = [], [], [], []
        for cfg in configs:
            gen = init_generator(cfg.seed)
            # Drawn in nn.Linear's (out, in) order so that a seed gives the same numbers as the reference.
            w_in.append(_uniform((k, d), 1 / math.sqrt(d), gen).T)
            b_in.append(_uniform((k,), 1 / math.sqrt(d), gen) + cfg.init_bias)
            w_out.append(_uniform((n_out, k), 1 / math.sqrt(k), gen).T)
            if cfg.out_bias:  # drawn after every other weight, as nn.Linear(k, d_out) draws its bias after its weight
                b_out.append(_uniform((n_out,), 1 / math.sqrt(k), gen))
        if len(b_out) not in (0, len(configs)):
            raise ValueError("every instance of a sweep must share out_bias (it adds a parameter)")
        stack = [torch.stack(t).contiguous().to(device) for t in (w_in, b_in, w_out)]
        model = cls(*stack, base.activation)
        if b_out:
            model.b_out = torch.stack(b_out).contiguous().to(device)
        if any(cfg.weight_density < 1 for cfg in configs):
            pairs = [connectivity(cfg) for cfg in configs]
            model.masks = tuple(torch.stack(m).to(device) for m in zip(*pairs, strict=True))
            model.W_in.mul_(model.masks[0])
            model.W_out.mul_(model.masks[1])
        return model

    @property
    def params(self) -> list[Tensor]:
        return [self.W_in, self.b_in, self.W_out] + ([] if self.b_out is None else [self.b_out])

    @property
    def n_inst(self) -> int:
        return self.W_in.shape[0]

    def preact(self, x: Tensor) -> Tensor:
        """x: (n or 1, B, d) -> e: (n, B, k)."""
        return torch.baddbmm(self.b_in[:, None, :], x.expand(self.n_inst, -1, -1), self.W_in)

    def hidden(self, x: Tensor) -> Tensor:
        """x: (n or 1, B, d) -> h: (n, B, k)."""
        return ACTIVATION_FNS[self.activation][0](self.preact(x))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (n or 1, B, d) -> (h: (n, B, k), y: (n, B, d_out))."""
        h = self.hidden(x)
        if self.b_out is not None:
            return h, torch.baddbmm(self.b_out[:, None, :], h, self.W_out)
        return h, torch.bmm(h, self.W_out)

    @torch.no_grad()
    def loss_and_grads(
        self,
        x: Tensor,
        target: Tensor | SparseFeatures,
        l1: Tensor | None = None,
        with_loss: bool = True,
        bias_push: Tensor | None = None,
    ) -> tuple[Tensor | None, list[Tensor]]:
        """Per-instance loss sum_o (y_o - t_o)^2 averaged over the batch, shape (n,) (None unless `with_loss`),
        and the gradients of loss + l1 * sum|h| / B with respect to `params` ([W_in, b_in, W_out], and b_out when
        the model has one) (l1: (n,) or None); for a sparse model, times the masks: the gradient with respect to
        the existing weights only. bias_push (n,) or None: added to b_i's gradient times the fraction of the batch
        on which neuron i fires (e > 0; `ModelConfig.bias_push`). x: (n or 1, B, d); target: (n or 1, B, d_out), or the
        features as `SparseFeatures` (the decoder task: `_sparse_decoder`)."""
        act, act_grad = ACTIVATION_FNS[self.activation]
        batch = x.shape[1]
        e = self.preact(x)
        h = act(e)
        g_b_out = None
        if isinstance(target, SparseFeatures):
            loss, g_w_out, g_h = self._sparse_decoder(h, target, with_loss)
        else:
            if self.b_out is None:
                err = torch.bmm(h, self.W_out).sub_(target)
            else:
                err = torch.baddbmm(self.b_out[:, None, :], h, self.W_out).sub_(target)
            loss = torch.linalg.vecdot(err, err).mean(-1) if with_loss else None
            g_y = err.mul_(2 / batch)
            g_w_out = torch.bmm(h.transpose(1, 2), g_y)
            g_h = torch.bmm(g_y, self.W_out.transpose(1, 2))
            g_b_out = None if self.b_out is None else g_y.sum(1)
        if l1 is not None:
            g_h.add_(torch.sign(h) * (l1 / batch)[:, None, None])
        if self.activation == "relu":
            g_e = g_h.mul_(torch.sign(h))  # h >= 0, so sign(h) is the 0/1 derivative, and fast on CPU
        else:
            g_e = g_h.mul_(act_grad(e, h))
        g_w_in = torch.bmm(x.expand(self.n_inst, -1, -1).transpose(1, 2), g_e)
        if self.masks is not None:
            g_w_in.mul_(self.masks[0])
            g_w_out.mul_(self.masks[1])
        g_b_in = g_e.sum(1)
        if bias_push is not None:
            g_b_in.add_((e > 0).to(e.dtype).mean(1) * bias_push[:, None])
        if self.b_out is None:
            return loss, [g_w_in, g_b_in, g_w_out]
        return loss, [g_w_in, g_b_in, g_w_out, g_b_out]

    def _sparse_decoder(self, h: Tensor, f: SparseFeatures, with_loss: bool) -> tuple[Tensor | None, Tensor, Tensor]:
        """The decoder's loss, dW_out and g_h from the active features alone (`data.sparse_step`), never a dense
        (B, N) tensor: with y = h W_out and G = W_out W_out^T (k x k), ||y - f||^2 = h G h^T - 2 h z^T + ||f||^2
        where z = f W_out^T (a sparse product); g_h = 2/B (h G - z); dW_out = 2/B (h^T h W_out - h^T f), h^T f the
        transposed sparse product. The dense step's sums in another order: equal to float32 rounding. Features of
        one stream serve every instance (its W_out side by side); of one stream per instance, each its own."""
        if self.b_out is not None:
            raise ValueError("the sparse decoder step has no output bias: train a model with one densely")
        n, batch, k = h.shape
        w_t = self.W_out.transpose(1, 2)  # (n, N, k)
        if f.n_streams == 1:  # one product for every instance: (N, n k)
            z = f.times(w_t.permute(1, 0, 2).reshape(1, -1, n * k)).view(batch, n, k).transpose(0, 1)
            f_h = f.t_times(h.transpose(0, 1).reshape(1, batch, n * k)).view(-1, n, k).permute(1, 2, 0)
        else:
            z, f_h = f.times(w_t), f.t_times(h).transpose(1, 2)
        hg = torch.bmm(h, torch.bmm(self.W_out, w_t))
        loss = None
        if with_loss:
            loss = (torch.linalg.vecdot(hg, h) - 2 * torch.linalg.vecdot(h, z)).mean(-1) + f.sq_sum / batch
        g_h = hg.sub_(z).mul_(2 / batch)
        g_w_out = torch.bmm(torch.bmm(h.transpose(1, 2), h), self.W_out).sub_(f_h).mul_(2 / batch)
        return loss, g_w_out, g_h

    def detached(self) -> ToyModel:
        return self.to("cpu")

    def to(self, device: torch.device | str) -> ToyModel:
        """A copy on `device` (never the same tensors: training the copy leaves this model as it is)."""
        masks = None if self.masks is None else tuple(m.to(device).clone() for m in self.masks)
        w_in, b_in, w_out, *b_out = (p.detach().to(device).clone() for p in self.params)
        return ToyModel(w_in, b_in, w_out, self.activation, masks, b_out[0] if b_out else None)


def _uniform(shape: tuple[int, ...], bound: float, gen: torch.Generator) -> Tensor:
    return (torch.rand(shape, generator=gen) * 2 - 1) * bound
