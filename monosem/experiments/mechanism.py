"""Chapter 7, the mechanism of a monosemantic decoder (paper Section 5): claim 10.

Chapter 2's LR3 models at the profile's focus learning rate (from the cache) and one more sweep, `LOWEPS`, at a
quarter of the feature density (the paper's Fig. 25 density), each split by the sign of its final biases into a
monosemantic part (bias <= POSITIVE_BIAS) and a polysemantic part (bias > POSITIVE_BIAS, the paper's proxy).

The analysis tools are here too, each tested: the output on one feature of a single-feature input
(`feature_outputs`), the kinks of a sampled piecewise-linear curve (`find_kinks`), the linear map of a set of
neurons (`linear_map`) and the best estimate of a feature from one read-out of the input under the training
distribution (`readout_posterior_mean`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

from monosem.cache import Cache
from monosem.claims import Finding, Part, spread
from monosem.config import Sweep
from monosem.experiments import negative_bias
from monosem.experiments.common import lr_sweep, scale_numbers, seeds
from monosem.metrics import POSITIVE_BIAS, is_monosemantic, is_positive_bias, single_feature_activations
from monosem.model import ToyModel
from monosem.profiles import Profile
from monosem.results import SweepResult

WEIGHTS = {"LR3", "LOWEPS"}

# The density of the paper's Fig. 25 (batch E3), a quarter of the default 1/64.
LOW_EPS = 1 / 256
# Amplitudes at which the single-feature curves are sampled (0, 0.005, ..., 1).
N_AMPLITUDES = 201


def low_eps(profile: Profile) -> Sweep:
    """LR3's recipe (initial bias -1, bias decay 0.03) at the lower density LOW_EPS, over the profile's lrs, seed 0."""
    return lr_sweep(profile, "LOWEPS", eps=LOW_EPS, **negative_bias.RECIPE)


def sweeps(profile: Profile) -> list[Sweep]:
    return [negative_bias.lr3(profile), low_eps(profile)]


# --- analysis tools -------------------------------------------------------------------------------------------


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


# --- one model, dissected ---------------------------------------------------------------------------------------

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
    (the largest slope on the feature; zero where none), for `readout_posterior_mean`.
    """

    eps: float
    seed: int
    converged: bool
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
        converged=bool(result.converged()[index]),
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


# --- the chapter's results ----------------------------------------------------------------------------------------


class Panel(NamedTuple):
    """One feature's single-feature curves for a figure: the model's output in total, from its negative-bias and
    from its positive-bias neurons, the best read-out estimate, and the kinks of its own monosemantic neurons."""

    title: str
    amplitudes: Tensor
    curves: dict[str, Tensor]
    kinks: tuple[float, ...]


@dataclass(frozen=True)
class Mechanism:
    """The dissected models: LR3 at the focus lr (every seed), LR3 seed 0 and LOWEPS at every lr, and the example
    panels of the models shown in the figures."""

    profile: Profile
    lr3: SweepResult
    low: SweepResult
    focus: tuple[Dissection, ...]
    dense: dict[float, Dissection]
    sparse: dict[float, Dissection]
    shown_dense: Dissection
    shown_sparse: Dissection
    shown_sparse_lr: float
    panels_dense: tuple[Panel, ...]
    panels_sparse: tuple[Panel, ...]


def shown_lr(dissections: dict[float, Dissection]) -> float:
    """The learning rate whose model a figure shows: of the converged models (of all, if none has converged) the
    one with the most monosemantic neurons, as the paper dissects its highly monosemantic models."""
    ok = [lr for lr, d in dissections.items() if d.converged] or list(dissections)
    return max(ok, key=lambda lr: int(dissections[lr].n_serving.sum()))


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


def run(profile: Profile, cache: Cache | None = None, progress: bool = True) -> Mechanism:
    cache = cache or Cache.for_profile(profile.name)
    lr3, low = (cache.get_or_train(s, progress=progress) for s in sweeps(profile))
    focus = tuple(dissect(lr3, lr3.index(lr=profile.lr_focus, seed=s)) for s in seeds(profile))
    dense = {lr: focus[0] if lr == profile.lr_focus else dissect(lr3, lr3.index(lr=lr, seed=0)) for lr in profile.lrs}
    sparse = {lr: dissect(low, low.index(lr=lr)) for lr in profile.lrs}
    shown_dense = next((d for d in focus if d.converged), focus[0])
    sparse_lr = shown_lr(sparse)
    shown_sparse = sparse[sparse_lr]
    return Mechanism(
        profile,
        lr3,
        low,
        focus,
        dense,
        sparse,
        shown_dense,
        shown_sparse,
        sparse_lr,
        panels(shown_dense, example_features(shown_dense)),
        panels(shown_sparse, example_features(shown_sparse)),
    )


# --- claim 10 -----------------------------------------------------------------------------------------------------

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


def _over(ds: list[Dissection], measure) -> list[float]:
    """`measure` of each dissection for which it is defined (not nan)."""
    return [v for v in (measure(d) for d in ds) if not math.isnan(v)]


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


def _seeds_text(ds: tuple[Dissection, ...]) -> str:
    ok = [d for d in ds if d.converged]
    return f"{len(ok)} of {len(ds)} seeds converged"


def _about(values: list[float], target: float, tol: float) -> bool | None:
    return None if not values else abs(_median(values) - target) <= tol


def _fraction_part(values: list[float], at_least: float) -> bool | None:
    return None if not values else _median(values) >= at_least


def claim10(res: Mechanism) -> Finding:
    dense = [d for d in res.focus if d.converged]
    sparse = [d for d in res.sparse.values() if d.converged]
    pairs = [lr for lr in res.profile.lrs if res.dense[lr].converged and res.sparse[lr].converged]
    inv_dense = round(1 / res.focus[0].eps)
    first_d, first_s = FIRST_KINK[1 / 64], FIRST_KINK[LOW_EPS]
    second_d, second_s = SECOND_KINK[1 / 64], SECOND_KINK[LOW_EPS]
    seeds_text = _seeds_text(res.focus)
    lrs_text = f"{len(sparse)} of {len(res.sparse)} lrs converged"
    v_first = _over(dense, first_kink)
    v_under = _over(dense, under_identity)
    v_steep = _over(dense, steep_middle)
    v_second = _over(dense, second_kink)
    v_track = _over(dense, lambda d: gap_at_one(d, 2))
    s_first = _over(sparse, first_kink)
    s_second = _over(sparse, second_kink)
    lower = [lr for lr in pairs if first_kink(res.sparse[lr]) < first_kink(res.dense[lr])]
    closer = [lr for lr in pairs if gap_at_one(res.sparse[lr]) < gap_at_one(res.dense[lr])]
    n_two = [len(d.features(2)) for d in dense]
    ranks = [d.rank() for d in dense]
    ranges = {d.seed: nonzero_range(d) for d in dense}
    d_embed = res.focus[0].d
    lo, hi = SLOPE_RANGE

    def per(values: list[float], fmt: str = ".2f") -> str:
        return spread(values, fmt) if values else "none"

    def pair_text(measure) -> str:
        return "; ".join(f"lr {lr:g}: {measure(res.sparse[lr]):.2f} vs {measure(res.dense[lr]):.2f}" for lr in pairs)

    parts = (
        Part(
            f"one monosemantic neuron: no output below a threshold of about {first_d} (eps = 1/{inv_dense})",
            f"about {first_d} (Fig. 24)",
            f"median threshold {per(v_first)} ({seeds_text})",
            f"median within {FIRST_TOL} of {first_d} (FIRST_TOL)",
            _about(v_first, first_d, FIRST_TOL),
        ),
        Part(
            "then a straight line under the identity",
            "always below the identity (Fig. 24)",
            f"fraction of one-neuron features below it: {per(v_under)}",
            f"median fraction >= {ALWAYS} (ALWAYS)",
            _fraction_part(v_under, ALWAYS),
        ),
        Part(
            "two monosemantic neurons: a steep middle segment between two kinks",
            "rapid rise between the kinks (Fig. 24)",
            f"{per(n_two, '.0f')} two-neuron features; steeper between the kinks than after: {per(v_steep)}",
            f"median fraction >= {MOST} (MOST)",
            _fraction_part(v_steep, MOST),
        ),
        Part(
            f"with the second kink at about {second_d}",
            f"about {second_d} (Fig. 24)",
            f"median second kink {per(v_second)}",
            f"median within {SECOND_TOL} of {second_d} (SECOND_TOL)",
            _about(v_second, second_d, SECOND_TOL),
        ),
        Part(
            "then tracking the identity",
            "closely tracks the input (Fig. 24)",
            f"median |1 - output| at amplitude 1: {per(v_track)}",
            f"median <= {TRACK} (TRACK)",
            None if not v_track else _median(v_track) <= TRACK,
        ),
        Part(
            f"at eps = 1/{round(1 / LOW_EPS)}: a threshold of about {first_s}",
            f"about {first_s} (Fig. 25)",
            f"median threshold {per(s_first)} over lrs ({lrs_text})",
            f"median within {FIRST_TOL} of {first_s} (FIRST_TOL)",
            _about(s_first, first_s, FIRST_TOL),
        ),
        Part(
            "lower than at the higher density",
            f"{first_s} vs {first_d}",
            pair_text(first_kink) or "no lr at which both converged",
            "lower at every lr at which both models converged",
            None if not pairs else len(lower) == len(pairs),
        ),
        Part(
            f"and a second kink at about {second_s}",
            f"about {second_s}, down from {second_d} (Fig. 25)",
            f"median second kink {per(s_second)}",
            f"median within {SECOND_TOL} of {second_s} (SECOND_TOL)",
            _about(s_second, second_s, SECOND_TOL),
        ),
        Part(
            "and outputs closer to the truth at high amplitude",
            "closer to the input amplitude (Fig. 25)",
            f"median |1 - output| at amplitude 1, {pair_text(gap_at_one)}"
            if pairs
            else "no lr at which both converged",
            "smaller at every lr at which both models converged",
            None if not pairs else len(closer) == len(pairs),
        ),
        Part(
            f"positive-bias neurons: a linear map of rank about d = {d_embed}",
            "rank d (Fig. 26)",
            f"singular values > {SV_HALF}: {per(ranks, '.0f')} ({seeds_text})",
            f"within {negative_bias.D_TOL} of d in every converged seed (D_TOL)",
            None if not dense else all(abs(r - d_embed) <= negative_bias.D_TOL for r in ranks),
        ),
        Part(
            "whose singular values are all about 0 or about 1",
            "all 0 or 0.99-1.03 (Fig. 26)",
            "; ".join(f"seed {seed}: those > {SV_HALF} in {a:.2f}-{b:.2f}" for seed, (a, b) in ranges.items())
            or "none",
            f"every one within {UNITY_TOL} of 0 or 1 (UNITY_TOL), in every converged seed",
            None if not dense else all(near_zero_or_one(d) for d in dense),
        ),
        Part(
            f"adding a slope of {lo}-{hi} to every feature's output",
            f"{lo}-{hi} for most features",
            f"fraction of features in range: {per(_over(dense, slope_in_range))}",
            f"median fraction >= {MOST} (MOST)",
            _fraction_part(_over(dense, slope_in_range), MOST),
        ),
        Part(
            "a nearly constant slope",
            f"varies typically < {SLOPE_VARIES} over [0, 1]",
            f"median variation {per(_over(dense, lambda d: float(d.poly_slope_range.median())), '.3f')}",
            f"median < {SLOPE_VARIES} (SLOPE_VARIES)",
            None if not dense else _median(_over(dense, lambda d: float(d.poly_slope_range.median()))) < SLOPE_VARIES,
        ),
        Part(
            "and almost nothing at zero amplitude",
            f"biases . second layer < {INTERCEPT}",
            f"fraction of features below: {per(_over(dense, small_intercept))}",
            f"median fraction >= {MOST} (MOST)",
            _fraction_part(_over(dense, small_intercept), MOST),
        ),
    )
    return Finding(
        "10. Mechanism: thresholds against interference, and a rank-d linear map from the positive-bias neurons",
        parts,
        "fig-mech-dense",
    )


def findings(res: Mechanism) -> list[Finding]:
    """Claim 10 (Section 5)."""
    return [claim10(res)]


def _text(value: float, fmt: str = ".2f") -> str:
    """A number for the prose, or "n/a" where the model has nothing to measure (no such feature)."""
    return "n/a" if math.isnan(value) else format(value, fmt)


def numbers(res: Mechanism) -> dict[str, Any]:
    out = scale_numbers(res.profile, [res.low])
    dense, sparse = res.shown_dense, res.shown_sparse
    n = res.profile.n_features
    sv_lo, sv_hi = nonzero_range(dense)
    out.update(
        low_eps_inv=round(1 / LOW_EPS),
        eps_n_over_d=dense.eps * n / dense.d,
        positive_bias=POSITIVE_BIAS,
        n_seeds=len(res.focus),
        n_focus_converged=sum(d.converged for d in res.focus),
        dense_seed=dense.seed,
        dense_converged="has converged" if dense.converged else "has not converged",
        sparse_lr=res.shown_sparse_lr,
        sparse_converged="has converged" if sparse.converged else "has not converged",
        n_sparse_converged=sum(d.converged for d in res.sparse.values()),
        n_poly=dense.n_poly,
        rank=dense.rank(),
        sv_range=f"{_text(sv_lo)}-{_text(sv_hi)}" if not math.isnan(sv_lo) else f"n/a (none above {SV_HALF})",
        d_over_n=dense.d / n,
        mean_diagonal=float(torch.diagonal(dense.linear).mean()),
        sv_sum_over_n=float(dense.singular_values.sum()) / n,
        slope_lo=float(torch.quantile(dense.poly_slope, 0.05)),
        slope_hi=float(torch.quantile(dense.poly_slope, 0.95)),
        slope_in_range=slope_in_range(dense),
        intercept_median=float(dense.poly_intercept.abs().median()),
        intercept_small=small_intercept(dense),
        projection_distance=dense.projection_distance,
        kink_error=max(d.kink_error for d in [*res.focus, *res.dense.values(), *res.sparse.values()]),
    )
    for label, d, shown in (("dense", dense, res.panels_dense), ("sparse", sparse, res.panels_sparse)):
        counts = torch.bincount(d.n_serving, minlength=3)
        out[f"{label}_n0"], out[f"{label}_n1"], out[f"{label}_n2"] = (int(c) for c in counts[:3])
        out[f"{label}_n_more"] = int(counts[3:].sum())
        out[f"{label}_first"] = _text(first_kink(d))
        k = d.kink(2, 0)
        out[f"{label}_two_first"] = _text(float(k.median()) if len(k) else math.nan)
        out[f"{label}_second"] = _text(second_kink(d))
        out[f"{label}_steep"] = _text(steep_middle(d))
        out[f"{label}_gap"] = _text(gap_at_one(d))
        out[f"{label}_under"] = _text(under_identity(d))
        gaps = [float((p.curves["total"] - p.curves["best read-out estimate"]).abs().mean()) for p in shown]
        out[f"{label}_readout_gap"] = _text(_median(gaps), ".3f")
    return out
