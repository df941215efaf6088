"""Chapter 7, the mechanism of a monosemantic decoder (paper Section 5): claim 10.

The dissected models: the model of the paper's Fig. 24 and 26 (batch E1 at eps = 1/64: lr 0.003, bias decay 0.03,
initial mean bias -1), read from chapter 5's E1 sweep, which trains it at every profile; at the lower density of
the paper's Fig. 25 (eps = 1/256), one more sweep, `LOWEPS`, E1's recipe over the profile's lrs (its lr 0.003
model is the one compared with the dense model); and chapter 2's LR3 at seed 0 over the lrs, for the thresholds
against the learning rate. Each model is split by the sign of its final biases into a monosemantic part (bias <=
POSITIVE_BIAS) and a polysemantic part (bias > POSITIVE_BIAS, the paper's proxy).

The analysis tools are here too, each tested: the output on one feature of a single-feature input
(`feature_outputs`), the kinks of a sampled piecewise-linear curve (`find_kinks`), the linear map of a set of
neurons (`linear_map`), the best estimate of a feature from one read-out of the input under the training
distribution (`readout_posterior_mean`) and the thresholds of the best one- and two-neuron outputs at a model's
own N, d and eps (`optimal_kinks`), the yardstick for the paper's kinks, which it measured at N = 512.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.mechanism.train import DENSE_EPS, DENSE_ROW, LOW_EPS, sweeps
from monosem.claims import Finding, Gate, Part, rule_values, settled_gate
from monosem.data import random_projection
from monosem.metrics import POSITIVE_BIAS, is_monosemantic, is_positive_bias, single_feature_activations
from monosem.model import ToyModel
from monosem.paper import D_TOL, E_LR, E_ROWS, log2_steps
from monosem.profiles import PROFILES, Profile
from monosem.prose import number_text, scale_numbers
from monosem.results import SweepResult

__all__ = [
    "N_AMPLITUDES",
    "find_kinks",
    "feature_outputs",
    "served_features",
    "linear_map",
    "readout_posterior_mean",
    "Optimum",
    "OPTIMUM_SAMPLES",
    "OPTIMUM_STEP",
    "optimal_kinks",
    "kink_moments",
    "best_kinks",
    "KINK_MIN_CHANGE",
    "SV_HALF",
    "Dissection",
    "dissect",
    "Panel",
    "Mechanism",
    "example_features",
    "panels",
    "OPTIMUM_SEED",
    "paper_scale_optimum",
    "load",
    "FIRST_KINK",
    "SECOND_KINK",
    "FIRST_TOL",
    "SECOND_TOL",
    "ALWAYS",
    "MOST",
    "TRACK",
    "UNITY_TOL",
    "SLOPE_RANGE",
    "SLOPE_VARIES",
    "INTERCEPT",
    "first_kink",
    "second_kink",
    "under_identity",
    "steep_middle",
    "gap_at_one",
    "near_zero_or_one",
    "nonzero_range",
    "slope_in_range",
    "small_intercept",
    "claim10",
    "findings",
    "glue_values",
]

# Amplitudes at which the single-feature curves are sampled (0, 0.005, ..., 1).
N_AMPLITUDES = 201


def find_kinks(x: Tensor, y: Tensor, min_change: float, noise: float = 1e-9) -> tuple[Tensor, Tensor]:
    """The kinks of a piecewise-linear curve sampled at increasing x: positions and slope changes, (n_kinks,) each.

    A kink between two samples bends the sampled curve at the samples on either side of it, so consecutive bent
    samples (slope change above `noise`, relative to the largest slope) form one kink, placed where the straight
    segments before and after it meet: exact for a piecewise-linear curve whose kinks are more than two sample
    spacings apart (closer kinks merge into one). Kinks whose total slope change is below `min_change` in
    magnitude are dropped; a kink in the last sample interval cannot be seen.
    """
    x, y = x.double(), y.double()
    slope = torch.diff(y) / torch.diff(x)
    change = torch.diff(slope)  # at x[1:-1]
    bent = (change.abs() > noise * (1 + float(slope.abs().max()))).tolist()
    positions, changes = [], []
    m = 0
    while m < len(bent):
        if not bent[m]:
            m += 1
            continue
        end = m
        while end + 1 < len(bent) and bent[end + 1]:
            end += 1
        left, right = float(slope[m]), float(slope[end + 1])
        if abs(right - left) >= min_change:
            # y[m] + left (t - x[m]) = y[end + 1] + right (t - x[end + 1])
            t = (float(y[end + 1] - y[m]) - right * float(x[end + 1]) + left * float(x[m])) / (left - right)
            positions.append(t)
            changes.append(right - left)
        m = end + 1
    return torch.tensor(positions, dtype=torch.float64), torch.tensor(changes, dtype=torch.float64)


def feature_outputs(
    W_in: Tensor, b_in: Tensor, W_out: Tensor, proj: Tensor, amplitudes: Tensor, neurons: Tensor | None = None
) -> Tensor:
    """The output on feature j of the input a P_j (feature j alone at amplitude a), from the chosen neurons only.

    One model: W_in (d, k), b_in (k,), W_out (k, N), proj (d, N), amplitudes (A,), neurons (k,) bool (all when
    None). Returns (N, A), in the dtype of the weights.
    """
    pre = proj.T @ W_in  # (N, k): each neuron's pre-activation per unit of each feature
    w_out = W_out if neurons is None else W_out * neurons[:, None].to(W_out.dtype)
    n, out = pre.shape[0], []
    for start in range(0, n, 32):  # (A, 32, k) at a time: the paper's N = 512, k = 1024 fits in memory
        stop = min(start + 32, n)
        h = torch.relu(amplitudes[:, None, None].to(pre.dtype) * pre[None, start:stop] + b_in)
        out.append(torch.einsum("ajk,kj->ja", h, w_out[:, start:stop]))
    return torch.cat(out)


def served_features(acts: Tensor, r: Tensor) -> Tensor:
    """The feature each monosemantic neuron (r_i > MONO_THRESHOLD) responds to, -1 for the other neurons.

    acts (k, N): single-feature activations h_i(F_j) of one model; r (k,). Returns (k,) long.
    """
    return torch.where(is_monosemantic(r), acts.argmax(dim=1), -1)


def linear_map(W_in: Tensor, W_out: Tensor, proj: Tensor, neurons: Tensor) -> Tensor:
    """The map from input features to output features of the chosen neurons with their ReLU and biases left out
    (paper Fig. 26): P^T composed with the first layer and the second layer restricted to `neurons`.

    W_in (d, k), W_out (k, N), proj (d, N), neurons (k,) bool. Returns (N, N), [input feature, output feature].
    """
    return (proj.T @ W_in[:, neurons]) @ W_out[neurons]


def _lerp(values: Tensor, start: float, step: float, x: Tensor) -> Tensor:
    """Linear interpolation of `values` (given at start + i step) at the points x, which must lie on the grid."""
    pos = ((x - start) / step).clamp(0, len(values) - 1)
    i = pos.floor().clamp(max=len(values) - 2).long()
    frac = pos - i
    return values[i] * (1 - frac) + values[i + 1] * frac


def readout_posterior_mean(
    readout: Tensor, j: int, eps: float, amplitudes: Tensor, step: float = 1e-3, min_readout: float = 1e-3
) -> Tensor:
    """E[f_j | s], the best estimate in mean square of feature j from the scalar read-out s = u . x of the input
    x = P f, under the training distribution (each feature present with probability eps, then U(0, 1)), at the
    read-out of feature j alone at each amplitude a: s = a c, c = u . P_j > 0.

    readout (N,): u . P_k for every feature k. The other features add the interference z = sum_k f_k u . P_k.
    Its distribution is built exactly, one feature at a time (each convolves it with 1 - eps at 0 and eps
    uniform between 0 and u . P_k), as an atom at 0 (no other feature present) and the CDF F of the rest, on a
    grid of spacing `step` x c that spans the interference's mean +- 12 standard deviations and the read-outs
    (the mass outside is negligible). With G(x) = x F(x) - int F the partial first moment,
        E[f_j | s] = eps [s (F(s) - F(s - c)) - (G(s) - G(s - c))] / c^2
                     / ((1 - eps) F'(s) + eps (F(s) - F(s - c)) / c),
    where the atom counts in the two differences (f_j = s / c) and not in F'. Features with
    |u . P_k| < `min_readout` x c are left out (they move the read-out by less than that). At a = 0 the estimate
    is 0: z has the atom at 0 and f_j has none. Returns (A,) float64.
    """
    g = readout.double()
    a = torch.as_tensor(amplitudes, dtype=torch.float64)
    c = float(g[j])
    if not c > 0:
        raise ValueError(f"the read-out must see feature {j} with a positive weight, got u . P_j = {c}")
    others = torch.cat([g[:j], g[j + 1 :]])
    others = others[others.abs() >= min_readout * c]
    h = step * c
    mean, sd = eps / 2 * float(others.sum()), math.sqrt(eps / 3 * float((others**2).sum()))
    start = min(mean - 12 * sd, -c) - 2 * h
    n = int(math.ceil((max(mean + 12 * sd, c) + 2 * h - start) / h)) + 1
    x = start + h * torch.arange(n, dtype=torch.float64)
    cdf = torch.zeros(n, dtype=torch.float64)  # of the continuous part of z (its mass is 1 - atom)
    atom = 1.0
    for gk in others.tolist():
        # int F from the grid's start, padded so that it can be read at x - gk: 0 before, linear after
        integral = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum((cdf[1:] + cdf[:-1]) * h / 2, 0)])
        pad = int(math.ceil(abs(gk) / h)) + 2
        after = integral[-1] + float(cdf[-1]) * h * torch.arange(1, pad + 1, dtype=torch.float64)
        padded = torch.cat([torch.zeros(pad, dtype=torch.float64), integral, after])
        cells = math.floor(gk / h)
        frac = gk / h - cells
        lo = pad - cells  # padded index of x_i - gk, rounded up, for i = 0
        shifted = padded[lo - 1 : lo - 1 + n] * frac + padded[lo : lo + n] * (1 - frac)
        uniform = (x / gk).clamp(0, 1) if gk > 0 else 1 - (x / gk).clamp(0, 1)
        cdf = (1 - eps) * cdf + eps * (integral - shifted) / gk + eps * atom * uniform
        atom *= 1 - eps
    integral = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum((cdf[1:] + cdf[:-1]) * h / 2, 0)])

    def F(t: Tensor) -> Tensor:
        return _lerp(cdf, start, h, t)

    def G(t: Tensor) -> Tensor:
        return t * F(t) - _lerp(integral, start, h, t)

    s = a * c
    inside = F(s) - F(s - c) + atom  # P(s - c <= z < s): with f_j present, f_j = (s - z) / c is in (0, 1]
    moment = s * (F(s) - F(s - c)) - (G(s) - G(s - c)) + s * atom
    density = (F(s + h) - F(s - h)) / (2 * h)
    estimate = eps * moment / c**2 / ((1 - eps) * density + eps * inside / c)
    return torch.where(s > 0, estimate, torch.zeros_like(estimate))


class Optimum(NamedTuple):
    """The thresholds of the best one-neuron output (`threshold`) and the two kinks of the best two-neuron output
    (`two_first`, `two_second`) on feature j, as input amplitudes (see `optimal_kinks`)."""

    threshold: float
    two_first: float
    two_second: float


# The optimum's samples and grid: 2^17 draws of the interference give the threshold to about 0.01 and the second
# kink to about 0.03 (the spread over generators at N = 256 and 512); thresholds are read on a grid of 0.01.
OPTIMUM_SAMPLES = 2**17


OPTIMUM_STEP = 0.01


def optimal_kinks(
    proj: Tensor, eps: float, generator: torch.Generator, n_samples: int = OPTIMUM_SAMPLES, step: float = OPTIMUM_STEP
) -> Optimum:
    """Where the best ReLU read-out of one feature puts its kinks under the training distribution of a decoder
    with projection `proj` (d, N) and density `eps`: the yardstick for the paper's kinks at this N, d and eps.

    What is optimised. The paper reads its thresholds (about 0.4 at eps = 1/64) as the amplitude below which an
    apparent feature is more likely interference than signal, a trade-off whose balance point depends on N, d
    and eps, so its numbers at N = 512 need not hold at another scale. The quantity computed here is that
    balance point, exactly defined: the output on feature j is w relu(s - t) of the read-out s = P_j . x along
    the feature's own direction (P_j has unit norm, so a clean feature at amplitude a reads s = a and t is the
    threshold in amplitude units), and w and t minimise the squared error E[(f_j - w relu(s - t))^2] over the
    data (every feature present with probability eps, then U(0, 1)): t is "the amplitude below which the
    optimal one-neuron output is zero". The two-neuron optimum w1 relu(s - t1) + w2 relu(s - t2) gives the
    two kinks t1 < t2. Why P_j and not the model's own neuron directions: a yardstick of the scale, not of one
    model; the columns of P are nearly a tight frame (P P^T close to N/d times the identity), so the least-squares
    direction (P P^T)^-1 P_j is nearly P_j. What it leaves out: the positive-bias neurons' slope, which the
    model adds on top (so the model can afford a slightly different threshold) and a read-out direction tuned to
    the features that interfere most.

    How. The interference on feature j is z = sum_{k != j} f_k P_j . P_k; sample m draws the other features of
    feature m mod N, so the samples pool the features' interference (the optimum for a feature drawn at random,
    which the median over a model's features estimates). The amplitude of a present feature j runs over a
    shuffled midpoint grid of [0, 1], and presence is weighted exactly (eps present, 1 - eps absent) rather than
    drawn, so that only z carries sampling noise. For every t on a grid of `step` this gives the moments
    A_t = E[f_j relu(s - t)] and B_tt' = E[relu(s - t) relu(s - t')]; the best one-neuron threshold maximises
    A_t^2 / B_tt (the fall of the error at the best w = A_t / B_tt), the best pair A^T B^-1 A over the 2 x 2 block.
    Without interference (d = N, orthonormal columns) the optimum is the identity: threshold 0.
    """
    return best_kinks(*kink_moments(proj, eps, generator, n_samples, step))


def kink_moments(
    proj: Tensor, eps: float, generator: torch.Generator, n_samples: int = OPTIMUM_SAMPLES, step: float = OPTIMUM_STEP
) -> tuple[Tensor, Tensor, Tensor]:
    """The thresholds t (T,) on a grid of `step` over [0, 1], and the moments of `optimal_kinks` at them:
    A (T,) = E[f_j relu(s - t)] and B (T, T) = E[relu(s - t) relu(s - t')], sampled as described there."""
    p = proj.double()
    n = p.shape[1]
    gram = p.T @ p
    gram = gram / gram.diagonal()[:, None]  # row j: the read-out of feature k along P_j, per unit of f_k
    gram.fill_diagonal_(0.0)
    z = torch.empty(n_samples, dtype=torch.float64)
    chunk = 2**13
    for start in range(0, n_samples, chunk):
        m = min(chunk, n_samples - start)
        u = torch.rand(m, n, generator=generator, dtype=torch.float64)
        f = torch.where(u < eps, u / eps, 0.0)
        z[start : start + m] = (f * gram[torch.arange(start, start + m) % n]).sum(1)
    shuffle = torch.randperm(n_samples, generator=generator)
    a = ((torch.arange(n_samples, dtype=torch.float64) + 0.5) / n_samples)[shuffle]
    t = torch.arange(0, 1 + step / 2, step, dtype=torch.float64)
    present = torch.relu(a[:, None] + z[:, None] - t)
    absent = torch.relu(z[:, None] - t)
    B = (eps * present.T @ present + (1 - eps) * absent.T @ absent) / n_samples
    A = eps * present.T @ a / n_samples
    return t, A, B


def best_kinks(t: Tensor, A: Tensor, B: Tensor) -> Optimum:
    """The best one-neuron threshold (the t maximising A_t^2 / B_tt, the fall of the squared error at the best
    output weight A_t / B_tt) and the best two-neuron kinks (the pair t < t' maximising A^T B^-1 A over their
    2 x 2 block) from the moments of `kink_moments`."""
    diag = B.diagonal()
    one = torch.where(diag > 0, A**2 / diag.clamp(min=1e-300), 0.0)
    det = diag[:, None] * diag[None, :] - B**2
    # a pair whose 2 x 2 block is singular (both neurons silent, or one a copy of the other) adds nothing
    ok = torch.ones_like(det, dtype=torch.bool).triu(1) & (det > 1e-12 * diag[:, None] * diag[None, :])
    two = (A[:, None] ** 2 * diag[None, :] - 2 * A[:, None] * A[None, :] * B + A[None, :] ** 2 * diag[:, None]) / det
    first, second = divmod(int(torch.where(ok, two, -math.inf).argmax()), len(t))
    return Optimum(float(t[int(one.argmax())]), float(t[first]), float(t[second]))


# A bend of the curve of a feature's own monosemantic neurons smaller than this (1 % of the identity's slope) is
# not a kink: that curve has no other bends, so this only guards against rounding.
KINK_MIN_CHANGE = 0.01


# A singular value above this (halfway between 0 and 1) counts towards the rank of the linear map.
SV_HALF = 0.5


@dataclass(frozen=True)
class Dissection:
    """One model split by the sign of its final biases (N features, A amplitudes, k neurons).

    total, mono, poly (N, A): the output on feature j of feature j alone at each amplitude, from every neuron,
    from the negative-bias neurons (bias <= POSITIVE_BIAS) and from the positive-bias ones.
    n_serving (N,): the monosemantic neurons (r_i > MONO_THRESHOLD) that respond to each feature.
    kinks: per feature, the kinks found on the curve of its own monosemantic neurons (ascending positions).
    kink_error: the largest distance between such a kink and the threshold -b_i / (w_i . P_j) of its neuron.
    middle_slope, final_slope (N,): for features whose own curve has two kinks, its slope between them and after
    the second (nan otherwise). singular_values (N,): of the positive-bias neurons' linear map `linear_map`,
    descending; linear (N, N): that map itself; projection_distance: its distance from the orthogonal projection
    P^T (P P^T)^-1 P onto the row space of P (the least-squares linear decoder of the features), relative to the
    projection's norm. poly_slope, poly_intercept, poly_slope_range (N,): the positive-bias output on a feature alone,
    its rise from a = 0 to 1, its value at 0 (the biases' inner product with the second layer) and the spread of
    its local slope over [0, 1]. readout_units (N, d): the input weights of each feature's main monosemantic neuron
    (the largest slope on the feature; zero where none), for `readout_posterior_mean`. gate: whether the model
    can be tested (`claims.settled_gate` with the bias decay: every dissected model is a negative-bias recipe
    model, whose thresholds the decay sets).
    """

    eps: float
    seed: int
    gate: Gate
    d: int
    n_poly: int
    amplitudes: Tensor
    total: Tensor
    mono: Tensor
    poly: Tensor
    n_serving: Tensor
    kinks: tuple[Tensor, ...]
    kink_error: float
    middle_slope: Tensor
    final_slope: Tensor
    singular_values: Tensor
    poly_slope: Tensor
    poly_intercept: Tensor
    poly_slope_range: Tensor
    linear: Tensor
    projection_distance: float
    readout_units: Tensor
    proj: Tensor

    @property
    def settled(self) -> bool:
        """The model has settled and its bias decay has done its job: it can be tested."""
        return self.gate.open

    def features(self, n_neurons: int) -> list[int]:
        """Features served by exactly `n_neurons` monosemantic neurons whose own curve has that many kinks."""
        return [j for j in range(len(self.kinks)) if int(self.n_serving[j]) == n_neurons == len(self.kinks[j])]

    def kink(self, n_neurons: int, which: int) -> Tensor:
        """The `which`-th kink (0: the threshold) of every feature served by `n_neurons` neurons."""
        return torch.tensor([float(self.kinks[j][which]) for j in self.features(n_neurons)], dtype=torch.float64)

    def rank(self) -> int:
        return int((self.singular_values > SV_HALF).sum())


def dissect(result: SweepResult, index: int, n_amplitudes: int = N_AMPLITUDES) -> Dissection:
    """Instance `index` of a trained decoder sweep, split by the sign of its final biases and measured."""
    cfg = result.configs[index]
    W_in, b, W_out = (result[name][index].double() for name in ("W_in", "b_in", "W_out"))
    proj = result["proj"][index].double()
    a = torch.linspace(0, 1, n_amplitudes, dtype=torch.float64)
    poly = is_positive_bias(b)
    total = feature_outputs(W_in, b, W_out, proj, a)
    poly_curve = feature_outputs(W_in, b, W_out, proj, a, poly)
    one = ToyModel(W_in[None].float(), b[None].float(), W_out[None].float(), cfg.activation)
    served = served_features(single_feature_activations(one, proj[None].float(), cfg.task)[0], result.r[index])
    pre = proj.T @ W_in
    n = cfg.n_features
    kinks, error = [], 0.0
    middle = torch.full((n,), math.nan, dtype=torch.float64)
    final = torch.full((n,), math.nan, dtype=torch.float64)
    units = torch.zeros(n, cfg.d_embed, dtype=torch.float64)
    n_serving = torch.bincount(served[served >= 0], minlength=n)
    for j in range(n):
        own = (served == j).nonzero().flatten()
        if not len(own):
            kinks.append(torch.zeros(0, dtype=torch.float64))
            continue
        units[j] = W_in[:, own[(pre[j, own] * W_out[own, j]).argmax()]]

        def curve(x: Tensor, own: Tensor = own, j: int = j) -> Tensor:
            return torch.relu(x[:, None] * pre[j, own] + b[own]) @ W_out[own, j]

        found, _ = find_kinks(a, curve(a), KINK_MIN_CHANGE)
        kinks.append(found)
        exact = (-b[own] / pre[j, own]).sort().values
        if len(found) == len(exact):
            error = max(error, float((found - exact).abs().max()))
        if len(found) == 2:
            y = curve(torch.cat([found, torch.ones(1, dtype=torch.float64)]))
            middle[j] = (y[1] - y[0]) / (found[1] - found[0])
            final[j] = (y[2] - y[1]) / (1 - found[1])
    local = torch.diff(poly_curve, dim=1) / torch.diff(a)
    linear = linear_map(W_in, W_out, proj, poly)
    projection = proj.T @ torch.linalg.solve(proj @ proj.T, proj)
    return Dissection(
        eps=cfg.eps,
        seed=cfg.seed,
        gate=settled_gate(result, [index], decay=True),
        d=cfg.d_embed,
        n_poly=int(poly.sum()),
        amplitudes=a.float(),
        total=total.float(),
        mono=(total - poly_curve).float(),
        poly=poly_curve.float(),
        n_serving=n_serving,
        kinks=tuple(kinks),
        kink_error=error,
        middle_slope=middle,
        final_slope=final,
        singular_values=torch.linalg.svdvals(linear),
        poly_slope=poly_curve[:, -1] - poly_curve[:, 0],
        poly_intercept=poly_curve[:, 0],
        poly_slope_range=local.max(dim=1).values - local.min(dim=1).values,
        linear=linear.float(),
        projection_distance=float((linear - projection).norm() / projection.norm()),
        readout_units=units,
        proj=proj,
    )


class Panel(NamedTuple):
    """One feature's single-feature curves for a figure: the model's output in total, from its negative-bias and
    from its positive-bias neurons, the best read-out estimate, and the kinks of its own monosemantic neurons."""

    title: str
    amplitudes: Tensor
    curves: dict[str, Tensor]
    kinks: tuple[float, ...]


@dataclass(frozen=True)
class Mechanism:
    """The dissected models: E1 at eps = 1/64 (`dense`, the model of the paper's Fig. 24 and 26), LOWEPS at E1's lr
    (`sparse`, at the density of Fig. 25), LR3 seed 0 and LOWEPS at every lr (`dense_by_lr`, `sparse_by_lr`); the
    optimal kinks by eps at the models' own scale (`optimum`, with their projection) and at the paper's
    (`paper_optimum`, with a projection drawn at N = 512, d = 64); the example panels of the two models."""

    profile: Profile
    low: SweepResult | None
    dense: Dissection
    sparse: Dissection
    dense_by_lr: dict[float, Dissection]
    sparse_by_lr: dict[float, Dissection]
    optimum: dict[float, Optimum]
    paper_optimum: dict[float, Optimum]
    panels_dense: tuple[Panel, ...]
    panels_sparse: tuple[Panel, ...]


def example_features(d: Dissection, per_kind: int = 2) -> list[int]:
    """Features to plot: the `per_kind` one-neuron features whose threshold is closest to the median threshold,
    then the `per_kind` two-neuron features whose second kink is closest to theirs (fewer if there are fewer)."""
    chosen = []
    for n, which in ((1, 0), (2, 1)):
        feats = d.features(n)
        if feats:
            kinks = d.kink(n, which)
            order = (kinks - kinks.median()).abs().argsort(stable=True)
            chosen += [feats[int(i)] for i in order[:per_kind]]
    return chosen


def panels(d: Dissection, features: list[int]) -> tuple[Panel, ...]:
    """The figure panels of the chosen features, with the read-out estimate along each one's main neuron."""
    out = []
    for j in features:
        unit = d.readout_units[j]
        best = readout_posterior_mean(unit @ d.proj, j, d.eps, d.amplitudes)
        n = int(d.n_serving[j])
        out.append(
            Panel(
                f"feature {j}: {n} monosemantic neuron{'s' if n > 1 else ''}",
                d.amplitudes,
                {
                    "total": d.total[j],
                    "negative-bias part": d.mono[j],
                    "positive-bias part": d.poly[j],
                    "best read-out estimate": best.float(),
                },
                tuple(float(k) for k in d.kinks[j]),
            )
        )
    return tuple(out)


# The generator of `optimal_kinks` (and of the projection drawn at the paper's scale): fixed, so that the
# yardstick is the same number at every run.
OPTIMUM_SEED = 0


def _optimum_generator() -> torch.Generator:
    return torch.Generator().manual_seed(OPTIMUM_SEED)


def paper_scale_optimum(eps: float) -> Optimum:
    """`optimal_kinks` at the paper's N = 512, d = 64 (a projection drawn as the training draws one)."""
    paper = PROFILES["paper"]
    proj = random_projection(paper.n_features, paper.d_embed, _optimum_generator())
    return optimal_kinks(proj, eps, _optimum_generator())


def load(profile: Profile, cache: Cache | None = None) -> Mechanism:
    """The chapter's trained results, read from the cache (NotTrained names the command that trains them)."""
    cache = reader(profile, cache, "mechanism")
    lr3, low, row = (cache.get_or_train(s) for s in sweeps(profile))
    dense = dissect(row, row.index(eps=DENSE_EPS))
    dense_by_lr = {lr: dissect(lr3, lr3.index(lr=lr, seed=0)) for lr in profile.lrs}
    sparse_by_lr = {lr: dissect(low, low.index(lr=lr)) for lr in profile.lrs}
    sparse = sparse_by_lr[E_LR]
    optimum = {d.eps: optimal_kinks(d.proj, d.eps, _optimum_generator()) for d in (dense, sparse)}
    return Mechanism(
        profile,
        low,
        dense,
        sparse,
        dense_by_lr,
        sparse_by_lr,
        optimum,
        {eps: paper_scale_optimum(eps) for eps in (DENSE_EPS, LOW_EPS)},
        panels(dense, example_features(dense)),
        panels(sparse, example_features(sparse)),
    )


# The paper's thresholds (first kink) and second kinks, read off its Fig. 24 (eps = 1/64) and Fig. 25 (1/256).
FIRST_KINK = {1 / 64: 0.4, LOW_EPS: 0.3}


SECOND_KINK = {1 / 64: 0.8, LOW_EPS: 0.6}


# "About": within half the gap between the paper's values at its two densities, so that a measured kink matches
# at most one of them.
FIRST_TOL = 0.05


SECOND_TOL = 0.1


# The paper's "always" (the output stays under the identity): at least this fraction of the features, leaving room
# for the odd feature bent by a weak neuron of another.
ALWAYS = 0.9


# The paper's "most features": more than half of them.
MOST = 0.5


# "Closely tracks the input": within this of the truth at full amplitude.
TRACK = 0.1


# Singular values "all either zero or near-unity (0.99-1.03)": each within this of 0 or of 1. The paper's band is
# one fully trained model's; 10 % still tells equal gains in every direction from a generic rank-d map, whose
# singular values spread over a wide range.
UNITY_TOL = 0.1


# The paper's range of the slope the positive-bias neurons add to a feature's output, and how little that slope
# varies over amplitudes 0 to 1 ("typically < 0.01").
SLOPE_RANGE = (0.09, 0.16)


SLOPE_VARIES = 0.01


# The paper's bound on the inner product of the positive biases with the second layer.
INTERCEPT = 0.005


def _median(values: list[float]) -> float:
    return float(torch.tensor(values, dtype=torch.float64).median()) if values else math.nan


def first_kink(d: Dissection) -> float:
    """Median threshold of the features served by one monosemantic neuron (nan if none)."""
    k = d.kink(1, 0)
    return float(k.median()) if len(k) else math.nan


def second_kink(d: Dissection) -> float:
    """Median second kink of the features served by two monosemantic neurons (nan if none)."""
    k = d.kink(2, 1)
    return float(k.median()) if len(k) else math.nan


def under_identity(d: Dissection) -> float:
    """Fraction of one-neuron features whose negative-bias output stays below the identity on (0, 1]."""
    feats = d.features(1)
    if not feats:
        return math.nan
    return float((d.mono[feats][:, 1:] < d.amplitudes[1:]).all(dim=1).float().mean())


def steep_middle(d: Dissection) -> float:
    """Fraction of two-neuron features whose own curve rises faster between its kinks than after them."""
    feats = d.features(2)
    if not feats:
        return math.nan
    return float((d.middle_slope[feats] > d.final_slope[feats]).double().mean())


def gap_at_one(d: Dissection, n_neurons: int | None = None) -> float:
    """Median |1 - total output| at full amplitude over features served by `n_neurons` monosemantic neurons
    (any number >= 1 when None)."""
    feats = [j for j in range(len(d.kinks)) if len(d.kinks[j])] if n_neurons is None else d.features(n_neurons)
    if not feats:
        return math.nan
    return float((1 - d.total[feats, -1]).abs().median())


def near_zero_or_one(d: Dissection) -> bool:
    sv = d.singular_values
    return bool(((sv <= UNITY_TOL) | ((sv - 1).abs() <= UNITY_TOL)).all())


def nonzero_range(d: Dissection) -> tuple[float, float]:
    sv = d.singular_values[d.singular_values > SV_HALF]
    return (float(sv.min()), float(sv.max())) if len(sv) else (math.nan, math.nan)


def slope_in_range(d: Dissection) -> float:
    lo, hi = SLOPE_RANGE
    return float(((d.poly_slope >= lo) & (d.poly_slope <= hi)).double().mean())


def small_intercept(d: Dissection) -> float:
    return float((d.poly_intercept.abs() < INTERCEPT).double().mean())


def _about(value: float, target: float, tol: float) -> bool | None:
    return None if math.isnan(value) or math.isnan(target) else abs(value - target) <= tol


def _at_least(value: float, bound: float) -> bool | None:
    return None if math.isnan(value) else value >= bound


def _both(a: float, b: float, test) -> bool | None:
    return None if math.isnan(a) or math.isnan(b) else bool(test(a, b))


def claim10(res: Mechanism) -> Finding:
    """Claim 10 on the model of the paper's Fig. 24 and 26 (`dense`) and the low-density model (`sparse`), each part
    gated on the models it reads having settled with their bias decay done. Each kink is compared twice, in two
    parts: with the paper's number (measured at N = 512) and with the optimum at this run's N, d and eps
    (`optimal_kinks`), the balance of signal and interference that the paper's reading of the kinks predicts."""
    dense, sparse = res.dense, res.sparse
    n, d_embed = len(dense.kinks), dense.d
    inv_dense, inv_sparse = round(1 / dense.eps), round(1 / sparse.eps)
    opt_d, opt_s = res.optimum[dense.eps], res.optimum[sparse.eps]
    paper_d, paper_s = res.paper_optimum[DENSE_EPS], res.paper_optimum[LOW_EPS]
    first_d, first_s = FIRST_KINK[DENSE_EPS], FIRST_KINK[LOW_EPS]
    second_d, second_s = SECOND_KINK[DENSE_EPS], SECOND_KINK[LOW_EPS]
    here = f"N = {n}, d = {d_embed}"
    both = dense.gate & sparse.gate
    k1_d, k2_d, k1_s, k2_s = first_kink(dense), second_kink(dense), first_kink(sparse), second_kink(sparse)
    gap_d, gap_s = gap_at_one(dense), gap_at_one(sparse)
    track = gap_at_one(dense, 2)
    slope_var = float(dense.poly_slope_range.median())
    lo, hi = SLOPE_RANGE
    lo_sv, hi_sv = nonzero_range(dense)

    def kink_parts(
        label: str,
        measured: float,
        paper: float,
        optimum: float,
        at_paper: float,
        tol: float,
        name: str,
        fig: str,
        gate: Gate,
    ) -> tuple[Part, Part]:
        this_run = f"median {number_text(measured)}"
        return (
            Part(
                f"{label} at about the paper's {paper}",
                f"about {paper} ({fig}, N = 512)",
                this_run,
                f"median within {tol} of {paper} ({name})",
                _about(measured, paper, tol),
                gate,
            ),
            Part(
                f"{label} at about the optimum at this scale",
                f"the balance of signal and interference (Sec. 5.1); optimum at N = 512: {at_paper:.2f}",
                f"{this_run}; optimum at {here}: {optimum:.2f}",
                f"median within {tol} of the optimum (optimal_kinks, {name})",
                _about(measured, optimum, tol),
                gate,
            ),
        )

    parts = (
        *kink_parts(
            f"one monosemantic neuron (eps = 1/{inv_dense}): no output below a threshold",
            k1_d,
            first_d,
            opt_d.threshold,
            paper_d.threshold,
            FIRST_TOL,
            "FIRST_TOL",
            "Fig. 24",
            dense.gate,
        ),
        Part(
            "then a straight line under the identity",
            "always below the identity (Fig. 24)",
            f"fraction of one-neuron features below it: {number_text(under_identity(dense))}",
            f">= {ALWAYS} (ALWAYS)",
            _at_least(under_identity(dense), ALWAYS),
            dense.gate,
        ),
        Part(
            "two monosemantic neurons: a steep middle segment between two kinks",
            "rapid rise between the kinks (Fig. 24)",
            f"{len(dense.features(2))} two-neuron features; steeper between the kinks than after: "
            f"{number_text(steep_middle(dense))}",
            f"fraction >= {MOST} (MOST)",
            _at_least(steep_middle(dense), MOST),
            dense.gate,
        ),
        *kink_parts(
            "with the second kink",
            k2_d,
            second_d,
            opt_d.two_second,
            paper_d.two_second,
            SECOND_TOL,
            "SECOND_TOL",
            "Fig. 24",
            dense.gate,
        ),
        Part(
            "then tracking the identity",
            "closely tracks the input (Fig. 24)",
            f"median |1 - output| at amplitude 1: {number_text(track)}",
            f"median <= {TRACK} (TRACK)",
            track <= TRACK,
            dense.gate,
            testable=not math.isnan(track),
        ),
        *kink_parts(
            f"at eps = 1/{inv_sparse}: a threshold",
            k1_s,
            first_s,
            opt_s.threshold,
            paper_s.threshold,
            FIRST_TOL,
            "FIRST_TOL",
            "Fig. 25",
            sparse.gate,
        ),
        Part(
            "lower than at the higher density",
            f"{first_s} vs {first_d}",
            f"{number_text(k1_s)} vs {number_text(k1_d)} (optimum: {opt_s.threshold:.2f} vs {opt_d.threshold:.2f})",
            "lower in the low-density model (same lr, decay and initial bias)",
            _both(k1_s, k1_d, lambda s, d: s < d),
            both,
        ),
        *kink_parts(
            "and a second kink",
            k2_s,
            second_s,
            opt_s.two_second,
            paper_s.two_second,
            SECOND_TOL,
            "SECOND_TOL",
            "Fig. 25",
            sparse.gate,
        ),
        Part(
            "and outputs closer to the truth at high amplitude",
            "closer to the input amplitude (Fig. 25)",
            f"median |1 - output| at amplitude 1: {number_text(gap_s)} vs {number_text(gap_d)}",
            "smaller in the low-density model",
            _both(gap_s, gap_d, lambda s, d: s < d),
            both,
        ),
        Part(
            f"positive-bias neurons: a linear map of rank about d = {d_embed}",
            "rank d (Fig. 26)",
            f"singular values > {SV_HALF}: {dense.rank()}",
            f"within {D_TOL} of d (D_TOL)",
            abs(dense.rank() - d_embed) <= D_TOL,
            dense.gate,
        ),
        Part(
            "whose singular values are all about 0 or about 1",
            "all 0 or 0.99-1.03 (Fig. 26)",
            f"those > {SV_HALF} in {number_text(lo_sv)}-{number_text(hi_sv)}",
            f"every one within {UNITY_TOL} of 0 or 1 (UNITY_TOL)",
            near_zero_or_one(dense),
            dense.gate,
        ),
        Part(
            f"adding a slope of {lo}-{hi} to every feature's output",
            f"{lo}-{hi} for most features",
            f"fraction of features in range: {number_text(slope_in_range(dense))}",
            f"fraction >= {MOST} (MOST)",
            _at_least(slope_in_range(dense), MOST),
            dense.gate,
        ),
        Part(
            "a nearly constant slope",
            f"varies typically < {SLOPE_VARIES} over [0, 1]",
            f"median variation {number_text(slope_var, '.3f')}",
            f"median < {SLOPE_VARIES} (SLOPE_VARIES)",
            slope_var < SLOPE_VARIES,
            dense.gate,
        ),
        Part(
            "and almost nothing at zero amplitude",
            f"biases . second layer < {INTERCEPT}",
            f"fraction of features below: {number_text(small_intercept(dense))}",
            f"fraction >= {MOST} (MOST)",
            _at_least(small_intercept(dense), MOST),
            dense.gate,
        ),
    )
    return Finding(
        "10. Mechanism: thresholds against interference, and a rank-d linear map from the positive-bias neurons",
        parts,
        "fig-mech-dense",
        headline=(
            f"threshold about {first_d} at eps = 1/{inv_dense} (optimum at N = 512: {paper_d.threshold:.2f})",
            f"{number_text(k1_d)} (optimum at N = {n}: {opt_d.threshold:.2f})",
        ),
    )


def findings(res: Mechanism) -> list[Finding]:
    """Claim 10 (Section 5)."""
    return [claim10(res)]


def _status(d: Dissection) -> str:
    return "has settled, its bias decay done" if d.settled else f"cannot be tested at this scale ({d.gate.why})"


def glue_values(res: Mechanism) -> dict[str, Any]:
    out = scale_numbers(res.profile, [res.low] if res.low is not None else [])
    dense, sparse = res.dense, res.sparse
    n = res.profile.n_features
    sv_lo, sv_hi = nonzero_range(dense)
    everything = [dense, *res.dense_by_lr.values(), *res.sparse_by_lr.values()]
    out.update(
        low_eps_inv=round(1 / LOW_EPS),
        eps_n_over_d=dense.eps * n / dense.d,
        positive_bias=POSITIVE_BIAS,
        **rule_values(),
        dense_lr=E_LR,
        dense_decay=E_ROWS[DENSE_ROW],
        dense_steps=log2_steps(dense.gate.steps),
        dense_status=_status(dense),
        sparse_status=_status(sparse),
        decay_steps=log2_steps(dense.gate.decay_steps),
        n_dense_settled=sum(d.settled for d in res.dense_by_lr.values()),
        n_sparse_settled=sum(d.settled for d in res.sparse_by_lr.values()),
        n_poly=dense.n_poly,
        rank=dense.rank(),
        sv_range=f"{number_text(sv_lo)}-{number_text(sv_hi)}"
        if not math.isnan(sv_lo)
        else f"n/a (none above {SV_HALF})",
        d_over_n=dense.d / n,
        mean_diagonal=float(torch.diagonal(dense.linear).mean()),
        sv_sum_over_n=float(dense.singular_values.sum()) / n,
        slope_lo=float(torch.quantile(dense.poly_slope, 0.05)),
        slope_hi=float(torch.quantile(dense.poly_slope, 0.95)),
        slope_in_range=slope_in_range(dense),
        intercept_median=float(dense.poly_intercept.abs().median()),
        intercept_small=small_intercept(dense),
        projection_distance=dense.projection_distance,
        kink_error=max(d.kink_error for d in everything),
        optimum_samples=OPTIMUM_SAMPLES,
    )
    for label, eps in (("dense", DENSE_EPS), ("sparse", LOW_EPS)):
        for where, optimum in (("here", res.optimum[eps]), ("paper", res.paper_optimum[eps])):
            out[f"opt_{label}_{where}_first"] = optimum.threshold
            out[f"opt_{label}_{where}_two_first"] = optimum.two_first
            out[f"opt_{label}_{where}_second"] = optimum.two_second
    for label, d, shown in (("dense", dense, res.panels_dense), ("sparse", sparse, res.panels_sparse)):
        counts = torch.bincount(d.n_serving, minlength=3)
        out[f"{label}_n0"], out[f"{label}_n1"], out[f"{label}_n2"] = (int(c) for c in counts[:3])
        out[f"{label}_n_more"] = int(counts[3:].sum())
        out[f"{label}_first"] = number_text(first_kink(d))
        k = d.kink(2, 0)
        out[f"{label}_two_first"] = number_text(float(k.median()) if len(k) else math.nan)
        out[f"{label}_second"] = number_text(second_kink(d))
        out[f"{label}_steep"] = number_text(steep_middle(d))
        out[f"{label}_gap"] = number_text(gap_at_one(d))
        out[f"{label}_under"] = number_text(under_identity(d))
        gaps = [float((p.curves["total"] - p.curves["best read-out estimate"]).abs().mean()) for p in shown]
        out[f"{label}_readout_gap"] = number_text(_median(gaps), ".3f")
    return out
