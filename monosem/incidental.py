"""Incidental polysemanticity (Lecomte et al. 2023): a model with as many or more neurons than features, trained
with an L1 penalty, whose neurons still end up carrying two features each, by chance.

The model (n features, m >= n neurons, one-hot inputs e_j; all n of them form the whole data set, so every step
is a full-batch gradient step):

    e = W e_j + b        (m,)   the neurons' pre-activations; W: (m, n), b: (m,)
    h = phi(e)           phi = identity ("linear": Lecomte et al.'s model, b = 0 and not trained)
                         or ReLU ("relu": the hidden layer of Jermyn et al.'s model, with a trained bias b)
    y = ReLU(W^T h)      (n,)   tied weights: the neurons' weights read the features back out
    loss = sum_j ||y(e_j) - e_j||^2 + l1 * sum |W|

With phi the identity and b = 0 this is y = ReLU(W^T W x). Training is plain gradient descent with a constant
learning rate; with a bias decay, b <- b (1 - bias_decay * lr) after every step of the first half of training,
as in `monosem.training`. Gradients are written out by hand (checked against autograd in the tests); the leading
dimension of every tensor is the instance, as for the toy model, so a whole grid trains as one batched model.

The collision counter reads the final weights: neuron k *carries* feature j when |W[k, j]| > CARRY_THRESHOLD.

A variant of Lecomte et al.'s set-up. Their published code (github.com/kushalthaman/polysemanticity, `project-code`:
`models/autoencoder.py`, `experiments/collisions.py`) trains the same model (tied weights, ReLU on the outputs, summed
squared error plus l1 * sum |W|) with AdamW (PyTorch's defaults, so with a weight decay of 0.01) at lr 0.001 and
l1 0.001 for 7,500 steps, n = 256 features and m = 256 to 4096 neurons, from weights N(0, 1/m) (std 1/sqrt(m)),
and counts a neuron as polysemantic when two or more of its weights have |w| in [0.8, 1.2] (`LECOMTE_BAND`,
`n_polysemantic_band`). Here: plain gradient descent with a constant step, weights N(0, init_std^2) (the chapter
takes init_std = 0.5 / sqrt(m)), and the count |w| > CARRY_THRESHOLD; the ReLU neurons with a trained bias are
this book's addition.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm import tqdm

from monosem.config import require, require_choice, require_ints

HIDDEN = ("linear", "relu")
# A carried feature ends with |weight| near 1 (its column has unit norm, shrunk by the L1 penalty to about
# 1 - l1 / 8), and the L1 penalty drives every other weight to within about lr * l1 of zero: any threshold well
# between the two gives the same count; 0.5 is halfway.
CARRY_THRESHOLD = 0.5
# Lecomte et al.'s code counts a weight as a carried feature when |w| is in this band (`n_polysemantic_band`).
LECOMTE_BAND = (0.8, 1.2)
# The loss is recorded every LOSS_EVERY steps.
LOSS_EVERY = 16
# A run has settled when the mean loss of the last eighth of the run differs from that of the eighth before by less
# than this fraction of it (and its pair count is unchanged over the second half). Chapter 9's own tolerance, not the
# toy model's (`monosem.results.SETTLE_LOSS`, 1 % of held-out loss per doubling of steps, sized to the toy claims'
# loss resolutions): the windows differ (eighths of the run, not a doubling), and every step here is a full-batch
# step on the n one-hot inputs, so the recorded loss has no sampling noise and a change of 0.5 % between eighths is
# a real drift. 0.005 is the value this chapter was built and read with (it was the toy model's tolerance then); it
# is kept so that a change of the toy model's rule does not change this chapter's verdicts silently.
SETTLE_TOL = 0.005
# The seed of instance s draws its weights from a generator seeded with INIT_STREAM + s, apart from every other
# random stream of the library (the toy model's data and initialisation use small seeds).
INIT_STREAM = 2**61


@dataclass(frozen=True)
class IncidentalConfig:
    """One model and its training recipe.

    n_features: n, the number of features (one-hot inputs). n_neurons: m, the number of neurons (>= n: no
    pressure to superpose). hidden: "linear" (y = ReLU(W^T W x), no bias) or "relu" (y = ReLU(W^T ReLU(W x + b))).
    l1: lambda, the strength of the L1 penalty on the weights. lr: the gradient-descent step (plain gradient
    descent; Lecomte et al. use AdamW). n_steps: steps. init_std: the weights start as independent N(0, init_std^2)
    (Lecomte et al.: 1 / sqrt(m)). init_bias: the initial bias of every neuron
    ("relu" only). bias_decay: b <- b (1 - bias_decay * lr) after each step of the first half ("relu" only).
    seed: selects the initial weights (the same seed gives the same initial W for every setting).
    """

    n_features: int
    n_neurons: int
    hidden: str = "linear"
    l1: float = 0.01
    lr: float = 0.05
    n_steps: int = 4096
    init_std: float = 0.1
    init_bias: float = 0.0
    bias_decay: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        require_ints(self, "n_features", "n_neurons", "n_steps")
        require(
            self.n_neurons >= self.n_features,
            "n_neurons",
            f">= n_features ({self.n_features}): incidental polysemanticity is about models with no pressure to "
            "superpose",
            self.n_neurons,
        )
        require_choice(self, "hidden", HIDDEN)
        for name in ("l1", "lr", "init_std", "init_bias", "bias_decay"):
            require(math.isfinite(getattr(self, name)), name, "finite", getattr(self, name))
        require(self.l1 >= 0, "l1", ">= 0", self.l1)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(self.init_std > 0, "init_std", "> 0", self.init_std)
        require(0 <= self.bias_decay * self.lr < 1, "bias_decay", ">= 0 with bias_decay * lr < 1", self.bias_decay)
        no_bias = self.init_bias == 0 and self.bias_decay == 0
        require(
            self.hidden != "linear" or no_bias,
            "init_bias and bias_decay",
            "0 for hidden='linear' (the model has no bias)",
            (self.init_bias, self.bias_decay),
        )
        require_ints(self, "seed", least=0)

    def replace(self, **changes: object) -> IncidentalConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def init_weights(configs: list[IncidentalConfig]) -> tuple[Tensor, Tensor]:
    """W: (n_inst, m, n), each instance from its own seed's generator; b: (n_inst, m), the initial biases."""
    w = [
        torch.randn(c.n_neurons, c.n_features, generator=torch.Generator().manual_seed(INIT_STREAM + c.seed))
        * c.init_std
        for c in configs
    ]
    b = [torch.full((c.n_neurons,), c.init_bias) for c in configs]
    return torch.stack(w), torch.stack(b)


def forward(W: Tensor, b: Tensor, relu_hidden: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Pre-activations e and activations h of every neuron for every one-hot input, (n_inst, m, n) (column j:
    input e_j), and the outputs y = ReLU(W^T h), (n_inst, n, n) (column j: the output for input e_j).
    relu_hidden: (n_inst,) bool, which instances have a ReLU on the neurons."""
    e = W + b[:, :, None]
    # h = e - (the negative part of e, where there is a ReLU): no `where` over the big tensors (it is slow on a CPU)
    h = e.addcmul(e.clamp_max(0), relu_hidden.to(e.dtype)[:, None, None], value=-1)
    return e, h, torch.relu(W.transpose(1, 2) @ h)


def loss_and_grads(
    W: Tensor, b: Tensor, relu_hidden: Tensor, l1: Tensor, with_loss: bool = True
) -> tuple[Tensor | None, Tensor, Tensor]:
    """The loss of every instance, (n_inst,) (None unless `with_loss`), and its gradients with respect to W and b
    (b's is zero where the hidden layer is linear: that model has no bias). l1: (n_inst,)."""
    n = W.shape[-1]
    e, h, y = forward(W, b, relu_hidden)
    err = y - torch.eye(n, dtype=W.dtype, device=W.device)
    loss = (err * err).sum((1, 2)) + l1 * W.abs().sum((1, 2)) if with_loss else None
    # dL/dG for G = W^T h (y = ReLU(G)); the ReLU's gradient is 1 where y > 0.
    dG = 2 * err * (y > 0)
    # W appears twice in G = W^T h: as the read-out (h dG^T) and inside h (through e = W + b, gated by the ReLU).
    de = (W @ dG).mul_((e > 0) | ~relu_hidden[:, None, None])
    db = de.sum(-1).mul_(relu_hidden[:, None])
    dW = torch.baddbmm(de, h, dG.transpose(1, 2))
    dW.add_(torch.sign(W).mul_(l1[:, None, None]))
    return loss, dW, db


def snapshot_steps(n_steps: int) -> list[int]:
    """Steps (after the update) at which the counts are recorded: 0 (the initial weights), the powers of two and
    the last step."""
    steps = [0] + [2**i for i in range(n_steps.bit_length()) if 2**i <= n_steps]
    return steps if steps[-1] == n_steps else [*steps, n_steps]


def train(
    configs: list[IncidentalConfig], progress: bool = True, device: torch.device | str | None = None
) -> dict[str, Tensor]:
    """Train every configuration (all with the same n, m and n_steps) as one batched model (on CUDA when there is
    one, unless `device` says otherwise).

    The bias's step is lr / n, not lr: the bias of a neuron sums the gradients of all n inputs, so the loss is
    about n times more curved along it than along a weight, and with one step for both, gradient descent on the
    bias diverges at a step the weights need (the paper's LAMB sets every tensor's step by its own norms).

    Returns W: (n_inst, m, n), the final weights (the initial ones are `init_weights(configs)`, not stored);
    b: (n_inst, m), the final biases;
    loss_steps (n_rec,) and loss (n_inst, n_rec); snap_steps (n_snap,), snap_poly and snap_pairs (n_inst, n_snap),
    the number of polysemantic neurons and of collided pairs there; seconds (1,), the training wall time.
    """
    device = (
        torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    shapes = {(c.n_features, c.n_neurons, c.n_steps) for c in configs}
    if len(shapes) != 1:
        raise ValueError(f"every configuration of one batch must share n_features, n_neurons and n_steps, got {shapes}")
    n_features, _, n_steps = shapes.pop()

    def per_inst(name: str) -> Tensor:
        return torch.tensor([float(getattr(c, name)) for c in configs], device=device)

    lr, l1, decay = per_inst("lr"), per_inst("l1"), per_inst("bias_decay")
    relu_hidden = torch.tensor([c.hidden == "relu" for c in configs], device=device)
    W0, b = init_weights(configs)
    W0, b = W0.to(device), b.to(device)
    W = W0.clone()
    decay_factor = 1 - decay * lr
    loss_steps = torch.arange(0, n_steps, LOSS_EVERY)
    losses = torch.empty(len(configs), len(loss_steps), device=device)
    snaps = snapshot_steps(n_steps)
    snap_poly = torch.empty(len(configs), len(snaps), device=device)
    snap_pairs = torch.empty(len(configs), len(snaps), device=device)
    snap_poly[:, 0], snap_pairs[:, 0] = n_polysemantic(W0), n_collided_pairs(W0)
    snap_index = {s: j for j, s in enumerate(snaps)}
    start = time.perf_counter()
    for step in tqdm(
        range(n_steps), desc=f"m = {W.shape[1]} ({len(configs)} models)", disable=not progress, mininterval=2
    ):
        loss, dW, db = loss_and_grads(W, b, relu_hidden, l1, with_loss=step % LOSS_EVERY == 0)
        W.addcmul_(dW, -lr[:, None, None])
        b.sub_((lr / n_features)[:, None] * db)
        if step < n_steps / 2:
            b.mul_(decay_factor[:, None])
        if step % LOSS_EVERY == 0:
            losses[:, step // LOSS_EVERY] = loss
        if step + 1 in snap_index:
            j = snap_index[step + 1]
            snap_poly[:, j], snap_pairs[:, j] = n_polysemantic(W), n_collided_pairs(W)
    if W.device.type == "cuda":
        torch.cuda.synchronize()  # the clock stops when the device's queue has run, not when the host has queued it
    seconds = time.perf_counter() - start
    return {
        "W": W.cpu(),
        "b": b.cpu(),
        "loss_steps": loss_steps,
        "loss": losses.cpu(),
        "snap_steps": torch.tensor(snaps),
        "snap_poly": snap_poly.cpu(),
        "snap_pairs": snap_pairs.cpu(),
        "seconds": torch.tensor([seconds]),
    }


def settled(run: dict[str, Tensor]) -> Tensor:
    """Which instances of a trained batch have settled, (n_inst,) bool: the mean loss of the last eighth of the run
    differs from that of the eighth before by less than SETTLE_TOL of it, and the
    number of collided pairs has not changed since the last snapshot at or before half-way."""
    loss = run["loss"]
    eighth = max(1, loss.shape[1] // 8)
    last, before = loss[:, -eighth:].mean(-1), loss[:, -2 * eighth : -eighth].mean(-1)
    steps = run["snap_steps"]
    half = int((steps <= int(steps[-1]) // 2).nonzero()[-1])  # the last snapshot at or before half-way
    same_count = run["snap_pairs"][:, half] == run["snap_pairs"][:, -1]
    return ((last - before).abs() < SETTLE_TOL * last) & same_count


# --- the collision counter -------------------------------------------------------------------------------------


def carried(W: Tensor, threshold: float = CARRY_THRESHOLD) -> Tensor:
    """Which neuron carries which feature, (..., m, n) bool: |W[k, j]| > threshold."""
    return W.abs() > threshold


def features_per_neuron(W: Tensor, threshold: float = CARRY_THRESHOLD) -> Tensor:
    """How many features each neuron carries, (..., m)."""
    return carried(W, threshold).sum(-1)


def n_polysemantic(W: Tensor, threshold: float = CARRY_THRESHOLD) -> Tensor:
    """Neurons that carry two or more features, (...,)."""
    return (features_per_neuron(W, threshold) >= 2).sum(-1)


def n_polysemantic_band(W: Tensor, band: tuple[float, float] = LECOMTE_BAND) -> Tensor:
    """Lecomte et al.'s count, (...,): neurons with two or more weights of |w| in `band` (their code's [0.8, 1.2]).
    It differs from `n_polysemantic` only where a weight ends between CARRY_THRESHOLD and 0.8 or above 1.2."""
    a = W.abs()
    return (((a >= band[0]) & (a <= band[1])).sum(-1) >= 2).sum(-1)


def n_collided_pairs(W: Tensor, threshold: float = CARRY_THRESHOLD) -> Tensor:
    """Pairs of features carried by one neuron, summed over neurons, (...,): a neuron with c features adds
    c (c - 1) / 2. Equal to `n_polysemantic` when no neuron carries three or more."""
    c = features_per_neuron(W, threshold)
    return (c * (c - 1) // 2).sum(-1)


def n_uncarried(W: Tensor, threshold: float = CARRY_THRESHOLD) -> Tensor:
    """Features that no neuron carries, (...,)."""
    return (~carried(W, threshold).any(-2)).sum(-1)


# --- the birthday-problem predictions ---------------------------------------------------------------------------


def predicted(n: int, m: int) -> float:
    """Lecomte et al.'s prediction of the number of polysemantic neurons: n^2 / (4 m)."""
    return n * n / (4 * m)


def expected_colliding_pairs(n: int, m: int) -> float:
    """Pairs of features whose largest initial weight is on the same neuron, in expectation: C(n, 2) / m."""
    return n * (n - 1) / (2 * m)


def expected_opposite_pairs(n: int, m: int) -> float:
    """Of those, pairs whose two weights there have opposite signs: C(n, 2) / (2 m), about n^2 / (4 m)."""
    return n * (n - 1) / (4 * m)


def expected_mixed_neurons(n: int, m: int) -> float:
    """Neurons that are the largest initial weight of at least one feature with a positive sign and of at least one
    with a negative sign, in expectation, each feature picking one of the 2m (neuron, sign) slots at random:
    m (1 - 2 (1 - 1/2m)^n + (1 - 1/m)^n), which is n (n - 1) / 4m to leading order in n / m."""
    # 1 - 2a + b with a = (1 - x)^n, b = (1 - 2x)^n, x = 1/2m, as (1 - a)^2 - (a^2 - b): no cancellation when m >> n
    x = 1 / (2 * m)
    one_minus_a = -math.expm1(n * math.log1p(-x))
    a2_minus_b = (1 - 2 * x) ** n * math.expm1(n * math.log1p(x * x / (1 - 2 * x)))
    return m * (one_minus_a**2 - a2_minus_b)


def winners(W: Tensor) -> tuple[Tensor, Tensor]:
    """Each feature's neuron of largest |weight| and the sign of that weight, (..., n) each."""
    k = W.abs().argmax(-2)
    return k, torch.sign(W.gather(-2, k.unsqueeze(-2)).squeeze(-2))


def opposite_pairs(W: Tensor) -> Tensor:
    """Pairs of features whose largest |weight| is on the same neuron with opposite signs, (...,)."""
    k, s = winners(W)
    same = k.unsqueeze(-1) == k.unsqueeze(-2)
    opposite = s.unsqueeze(-1) != s.unsqueeze(-2)
    return torch.triu(same & opposite, diagonal=1).sum((-2, -1))


def mixed_sign_neurons(W: Tensor, threshold: float = CARRY_THRESHOLD) -> Tensor:
    """Polysemantic neurons among whose carried features at least one has a positive and one a negative weight,
    (...,): the collisions that the output ReLU makes free (their interference W_i . W_j is negative)."""
    c = carried(W, threshold)
    pos, neg = (c & (W > 0)).any(-1), (c & (W < 0)).any(-1)
    return ((c.sum(-1) >= 2) & pos & neg).sum(-1)


def initial_rank(W_init: Tensor, W: Tensor) -> Tensor:
    """For every feature, the rank (0: largest) of its final neuron of largest |weight| among its initial |weights|,
    (..., n): 0 where a feature ends on the neuron it started largest on."""
    final = W.abs().argmax(-2, keepdim=True)
    start = W_init.abs().gather(-2, final)
    return (W_init.abs() > start).sum(-2)
