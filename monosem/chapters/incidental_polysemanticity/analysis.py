"""Chapter 9 (beyond the paper), incidental polysemanticity (Lecomte et al. 2023): with at least as many neurons
as features, an L1 penalty and a random initialisation still leave some neurons carrying two features, about
n^2 / 4m of them; and whether chapter 2's negative initial bias removes them.

The set-up is a variant of Lecomte et al.'s (their published code: AdamW, weights N(0, 1/m), a neuron polysemantic
when two of its weights have |w| in [0.8, 1.2]; see `monosem.incidental`): plain gradient descent, weights
N(0, INIT_NORM^2 / m), and the count |w| > CARRY_THRESHOLD (their band count is computed beside it).

Not a sweep of the toy model: the model of `monosem.incidental`, one batch per number of neurons m (m fixes the
shapes), each batch holding every (setting, seed), cached with `Cache.get_or_compute`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from monosem import incidental as inc
from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.incidental_polysemanticity.train import (
    BIAS_DECAY,
    BIAS_SCALES,
    GRIDS,
    INIT_NORM,
    L1,
    LR,
    SETTINGS,
    Grid,
    configs,
    train_batches,
)
from monosem.claims import Finding, Part
from monosem.incidental import IncidentalConfig
from monosem.profiles import Profile
from monosem.prose import spread

__all__ = [
    "Incidental",
    "load",
    "mean_settled",
    "predictions",
    "power_law_exponent",
    "mechanism",
    "solved",
    "compare",
    "EXISTS_FROM",
    "SLOPE_TOL",
    "RATIO_TOL",
    "MECHANISM",
    "FEWER",
    "COMPARE_TEST",
    "settled_text",
    "SETTLED_TEST",
    "lecomte",
    "CONTROL",
    "negative_bias",
    "findings",
    "table",
    "glue_values",
]


@dataclass(frozen=True)
class Incidental:
    """The trained batches by m (`monosem.incidental.train`'s tensors) and their configurations, instances in
    `configs` order."""

    profile: Profile
    grid: Grid
    runs: dict[int, dict[str, Tensor]]
    configs: dict[int, list[IncidentalConfig]]

    @property
    def n(self) -> int:
        return self.grid.n_features

    @property
    def ms(self) -> tuple[int, ...]:
        return self.grid.n_neurons

    def rows(self, setting: str) -> slice:
        i, s = list(SETTINGS).index(setting), len(self.grid.seeds)
        return slice(i * s, (i + 1) * s)

    def final(self, setting: str, name: str = "W") -> list[Tensor]:
        """A final tensor of every seed of `setting`, one entry per m."""
        return [self.runs[m][name][self.rows(setting)] for m in self.ms]

    def initial(self, setting: str) -> list[Tensor]:
        """The initial weights of every seed of `setting`, one entry per m (drawn again from the seeds)."""
        return [inc.init_weights(self.configs[m])[0][self.rows(setting)] for m in self.ms]

    def per_m(self, setting: str, count) -> Tensor:
        """`count(W)` of every seed, (n_m, n_seeds)."""
        return torch.stack([count(W) for W in self.final(setting)]).to(torch.float64)

    def poly(self, setting: str = "linear") -> Tensor:
        return self.per_m(setting, inc.n_polysemantic)

    def pairs(self, setting: str = "linear") -> Tensor:
        return self.per_m(setting, inc.n_collided_pairs)

    def settled(self, setting: str = "linear") -> Tensor:
        """(n_m, n_seeds) bool."""
        return torch.stack([inc.settled(self.runs[m])[self.rows(setting)] for m in self.ms])

    def seconds(self) -> float:
        return sum(float(r["seconds"].sum()) for r in self.runs.values())

    # --- what the figures take ---

    def by_setting(self, what: str) -> dict[str, Tensor]:
        """`what` ("poly", "pairs" or "settled") of every setting, by its label, (n_m, n_seeds) each."""
        return {label: getattr(self, what)(setting) for setting, label in SETTINGS.items()}

    def lecomte_counts(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Lecomte et al.'s model: polysemantic neurons and collided pairs, and which runs settled, by label."""
        ok = self.settled()
        return {"polysemantic neurons": self.poly(), "collided pairs": self.pairs()}, {
            "polysemantic neurons": ok,
            "collided pairs": ok,
        }

    def weights(self, m: int, settings: tuple[str, ...], seed_index: int = 0) -> dict[str, Tensor]:
        """The final W (m, n) of one seed of each of `settings`, by label."""
        return {SETTINGS[s]: self.runs[m]["W"][self.rows(s)][seed_index] for s in settings}

    def traces(self, m: int) -> tuple[Tensor, dict[str, Tensor], Tensor, dict[str, Tensor]]:
        """At m neurons: the snapshot steps, the polysemantic counts there (n_seeds, n_snap) by label, the loss
        steps and the losses (n_seeds, n_rec) by label."""
        run = self.runs[m]
        poly = {label: run["snap_poly"][self.rows(s)] for s, label in SETTINGS.items()}
        loss = {label: run["loss"][self.rows(s)] for s, label in SETTINGS.items()}
        return run["snap_steps"], poly, run["loss_steps"], loss


def load(profile: Profile, cache: Cache | None = None) -> Incidental:
    """The chapter's trained batches, read from the cache (NotTrained names the command that trains them)."""
    runs = train_batches(profile, reader(profile, cache, "incidental_polysemanticity"), progress=False)
    return Incidental(profile, GRIDS.of(profile), runs, {m: configs(profile, m) for m in GRIDS.of(profile).n_neurons})


def mean_settled(values: Tensor, ok: Tensor) -> list[float]:
    """Per m, the mean over settled seeds (nan where none settled)."""
    return [float(v[o].mean()) if o.any() else float("nan") for v, o in zip(values, ok, strict=True)]


def predictions(res: Incidental) -> Tensor:
    return torch.tensor([inc.predicted(res.n, m) for m in res.ms], dtype=torch.float64)


def power_law_exponent(ms: tuple[int, ...], counts: list[float]) -> float:
    """The least-squares slope of log(count) against log(m), over the m with a positive count (nan with fewer
    than two)."""
    pts = [(math.log(m), math.log(c)) for m, c in zip(ms, counts, strict=True) if c > 0 and math.isfinite(c)]
    if len(pts) < 2:
        return float("nan")
    x = torch.tensor([p[0] for p in pts], dtype=torch.float64)
    y = torch.tensor([p[1] for p in pts], dtype=torch.float64)
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum())


def mechanism(res: Incidental) -> dict[str, float]:
    """Lecomte et al.'s model, pooled over every m and settled seed: the fraction of polysemantic neurons that
    carry exactly two features with weights of opposite signs; the fraction of two-feature neurons whose pair was
    already there at initialisation (the neuron was the largest initial |weight| of both, with opposite signs); the
    fraction of features that end on the neuron of their largest initial weight, and within their five largest."""
    mixed = two = poly = from_init = 0
    rank0 = rank5 = n_feat = 0
    ok = res.settled("linear")
    for keep, W, W0 in zip(ok, res.final("linear"), res.initial("linear"), strict=True):
        W, W0 = W[keep], W0[keep]
        c = inc.features_per_neuron(W)
        mixed_two = (c == 2) & (inc.carried(W) & (W > 0)).any(-1) & (inc.carried(W) & (W < 0)).any(-1)
        mixed += int(mixed_two.sum())
        two += int((c == 2).sum())
        poly += int((c >= 2).sum())
        # a final pair (i, j) on neuron k that was there at initialisation: k was the largest |weight| of both, signs
        # opposite
        k0, s0 = inc.winners(W0)
        for w, k, sg in zip(W, k0, s0, strict=True):
            for neuron in (inc.features_per_neuron(w) == 2).nonzero().flatten().tolist():
                i, j = inc.carried(w)[neuron].nonzero().flatten().tolist()
                from_init += int(k[i] == neuron and k[j] == neuron and sg[i] != sg[j])
        rank = inc.initial_rank(W0, W)
        n_feat += rank.numel()
        rank0 += int((rank == 0).sum())
        rank5 += int((rank < 5).sum())
    nan = float("nan")
    return {
        "poly_total": poly,
        "frac_two": two / poly if poly else nan,
        "frac_mixed_two": mixed / poly if poly else nan,
        "frac_from_init": from_init / two if two else nan,
        "frac_rank0": rank0 / n_feat if n_feat else nan,
        "frac_rank5": rank5 / n_feat if n_feat else nan,
    }


def solved(res: Incidental, setting: str) -> Tensor:
    """Runs that settled with every feature carried by some neuron, (n_m, n_seeds) bool: a model that has dropped
    features has fewer polysemantic neurons for the wrong reason."""
    return res.settled(setting) & (res.per_m(setting, inc.n_uncarried) == 0)


def compare(res: Incidental, a: str, b: str) -> dict[str, Any]:
    """Setting a against setting b, per m, over the seeds `solved` in both: the mean polysemantic counts, and at how
    many m a has fewer (by at least FEWER) and more (by at least FEWER)."""
    ok = solved(res, a) & solved(res, b)
    pa, pb = res.poly(a), res.poly(b)
    rows = []
    for j, m in enumerate(res.ms):
        if ok[j].any():
            rows.append((m, float(pa[j][ok[j]].mean()), float(pb[j][ok[j]].mean()), int(ok[j].sum())))
    return {
        "rows": rows,
        "n_tested": len(rows),
        "n_fewer": sum(x <= y - FEWER for _, x, y, _ in rows),
        "n_more": sum(x >= y + FEWER for _, x, y, _ in rows),
        "text": "; ".join(f"m = {m}: {x:.2f} vs {y:.2f} ({k} of {len(res.grid.seeds)} seeds)" for m, x, y, k in rows)
        or "no m where both settled with every feature carried",
    }


# Part "they exist": at every m where n^2 / 4m >= this, the mean count over settled seeds is above zero.
EXISTS_FROM = 1.0


# Part "falls as 1/m": the fitted exponent of the mean count against m is within this of -1 (a quarter power
# tells 1/m from 1/m^(3/4) and 1/m^(5/4)).
SLOPE_TOL = 0.25


# Part "n^2 / 4m": the total count over every m, over the total predicted, is within a factor sqrt(2): nearer, on a
# log scale, to n^2 / 4m than to n^2 / 2m (every chance collision survives) or n^2 / 8m.
RATIO_TOL = math.sqrt(2)


# Part "mechanism": at least this fraction of polysemantic neurons carry exactly two features of opposite signs.
MECHANISM = 0.9


# "Fewer"/"more": the means over seeds differ by at least one neuron per model (one seed's extra neuron moves a mean
# over S seeds by only 1/S).
FEWER = 1.0


COMPARE_TEST = (
    f"fewer by >= {FEWER:g} (FEWER) at some m and more by >= {FEWER:g} at none, over the seeds that settled with "
    "every feature carried in both"
)


def settled_text(res: Incidental, setting: str = "linear") -> str:
    """How many runs of `setting` settled (chapter 9's rule, `monosem.incidental.settled`), for a part's "this run"."""
    ok = res.settled(setting)
    return f"over the {int(ok.sum())} of {ok.numel()} runs that settled"


SETTLED_TEST = (
    f"settled runs only: loss change < {inc.SETTLE_TOL:.1%} (SETTLE_TOL) between the last two eighths, pair count "
    "unchanged over the second half"
)


def lecomte(res: Incidental) -> Finding:
    """Lecomte et al.'s claim on their model. Only settled runs count (each part says how many); an m where none
    settled is left out, and a part with nothing left is not tested. Whether the runs settled is no part of the
    claim: it is what the parts need."""
    ok = res.settled("linear")
    pred = predictions(res)
    poly, pairs = mean_settled(res.poly(), ok), mean_settled(res.pairs(), ok)
    expected = [c for c, p in zip(poly, pred.tolist(), strict=True) if p >= EXISTS_FROM and math.isfinite(c)]
    slope = power_law_exponent(res.ms, poly)
    finite = [(c, float(p)) for c, p in zip(poly, pred, strict=True) if math.isfinite(c)]
    ratio = sum(c for c, _ in finite) / sum(p for _, p in finite) if finite else float("nan")
    mech = mechanism(res)
    runs = settled_text(res)
    listing = ", ".join(
        f"{c:.2f} (m = {m}, n²/4m = {p:g})" for m, c, p in zip(res.ms, poly, pred.tolist(), strict=True)
    )
    parts = (
        Part(
            "polysemantic neurons appear with as many or more neurons than features",
            "yes, by chance (abstract)",
            f"mean polysemantic neurons {runs}: {listing}",
            f"mean > 0 at every m where n²/4m >= {EXISTS_FROM:g} (EXISTS_FROM) and some seed settled; {SETTLED_TEST}",
            all(c > 0 for c in expected),
            testable=bool(expected),
        ),
        Part(
            "their number falls as 1/m",
            "n²/4m (the paper's count, as reported to us)",
            f"fitted exponent {slope:.2f} ({runs})",
            f"within {SLOPE_TOL} of -1 (SLOPE_TOL)",
            abs(slope + 1) <= SLOPE_TOL,
            testable=not math.isnan(slope),
        ),
        Part(
            "their number is n²/4m",
            "16, 8, 4, 2, 1 for n = 64, m = 64..1024",
            f"measured / predicted, summed over m: {ratio:.2f} (pairs: {sum(x for x in pairs if math.isfinite(x)):.1f}"
            f" vs {sum(p for _, p in finite):.1f} predicted; {runs})",
            f"within a factor {RATIO_TOL:.2f} (RATIO_TOL): nearer n²/4m than n²/2m or n²/8m",
            1 / RATIO_TOL <= ratio <= RATIO_TOL,
            testable=not math.isnan(ratio),
        ),
        Part(
            "each is two features whose weights have opposite signs (the derivation of n²/4m)",
            "(this chapter's derivation; the abstract: chance overlap at initialisation, kept by training)",
            f"{mech['frac_mixed_two']:.0%} of {mech['poly_total']} polysemantic neurons ({runs})",
            f">= {MECHANISM:.0%} (MECHANISM)",
            mech["frac_mixed_two"] >= MECHANISM,
            testable=mech["poly_total"] > 0,
        ),
    )
    return Finding(
        "Lecomte et al.: with m >= n neurons, about n²/4m neurons are polysemantic by chance",
        parts,
        "fig-incidental-counts",
        headline=("n²/4m (16, 8, 4, 2, 1 at n = 64)", "" if math.isnan(ratio) else f"{ratio:.2f} x n²/4m"),
    )


# The clean comparison of the negative initial bias: against the same ReLU model at bias 0 with the same bias decay,
# so that the initial bias is the only difference.
CONTROL = "relu0d"


def negative_bias(res: Incidental) -> Finding:
    """Chapter 2's negative initial bias against bias 0, in the same ReLU model with the same bias decay, L1 and seeds
    (`CONTROL`): the initial bias is the only difference. The comparisons that differ in more than the initial bias
    (against bias 0 without the decay, chapter 1's recipe; the whole recipe against Lecomte et al.'s model, which
    has no ReLU on its neurons) are numbers of the page, not parts."""
    parts, counts = [], []
    for scale in BIAS_SCALES:
        c = compare(res, f"neg{scale:g}", CONTROL)
        counts.append(c)
        parts.append(
            Part(
                f"bias -{scale:g}σ with decay: fewer polysemantic neurons than bias 0 with decay (same ReLU model, "
                "same L1, same seeds)",
                "not tested by either paper",
                c["text"],
                COMPARE_TEST,
                c["n_fewer"] > 0 and c["n_more"] == 0,
                testable=c["n_tested"] > 0,
            )
        )
    first = counts[0]
    return Finding(
        "Beyond both papers: chapter 2's negative initial bias reduces incidental polysemanticity",
        tuple(parts),
        "fig-incidental-bias",
        headline=(
            "not tested by either paper",
            f"-{BIAS_SCALES[0]:g}σ vs 0: fewer at {first['n_fewer']}, more at {first['n_more']} of "
            f"{first['n_tested']} m",
        ),
    )


def findings(res: Incidental) -> list[Finding]:
    return [lecomte(res), negative_bias(res)]


def table(res: Incidental):
    """One row per (setting, m): the prediction, polysemantic neurons and collided pairs (median [min, max] over
    seeds), features no neuron carries, settled seeds, the final loss and its relative change from the second-last
    eighth of the run to the last."""
    import pandas as pd

    rows = []
    for setting, label in SETTINGS.items():
        poly, pairs, ok = res.poly(setting), res.pairs(setting), res.settled(setting)
        lost = res.per_m(setting, inc.n_uncarried)
        for j, m in enumerate(res.ms):
            loss = res.runs[m]["loss"][res.rows(setting)]
            eighth = max(1, loss.shape[1] // 8)
            change = loss[:, -eighth:].mean(-1) / loss[:, -2 * eighth : -eighth].mean(-1) - 1
            rows.append(
                {
                    "model": label,
                    "m": m,
                    "n²/4m": inc.predicted(res.n, m),
                    "polysemantic neurons": spread(poly[j], ".0f"),
                    "collided pairs": spread(pairs[j], ".0f"),
                    "features carried by none": spread(lost[j], ".0f"),
                    "settled": f"{int(ok[j].sum())} of {ok.shape[1]}",
                    "final loss": spread(loss[:, -1], ".3f"),
                    "loss change, last eighth": spread(100 * change, ".2f") + " %",
                }
            )
    return pd.DataFrame(rows)


def glue_values(res: Incidental) -> dict[str, Any]:
    g = res.grid
    ok = res.settled("linear")
    poly, pairs = mean_settled(res.poly(), ok), mean_settled(res.pairs(), ok)
    pred = predictions(res).tolist()
    out: dict[str, Any] = {
        "profile": res.profile.name,
        "n": g.n_features,
        "n_m": len(g.n_neurons),
        "m_min": min(g.n_neurons),
        "m_max": max(g.n_neurons),
        "ms": ", ".join(map(str, g.n_neurons)),
        "n_seeds": len(g.seeds),
        "n_settings": len(SETTINGS),
        "n_models": len(SETTINGS) * len(g.seeds) * len(g.n_neurons),
        "steps": g.n_steps,
        "lr": LR,
        "l1": L1,
        "init_norm": INIT_NORM,
        "threshold": inc.CARRY_THRESHOLD,
        "carried_weight": 1 - L1 / 8,
        "bias_decay": BIAS_DECAY,
        "bias_small": BIAS_SCALES[0],
        "bias_large": BIAS_SCALES[1],
        "minutes": res.seconds() / 60,
        "n_settled": int(ok.sum()),
        "n_runs": ok.numel(),
        "poly_text": ", ".join(f"{c:.2f}" for c in poly),
        "pairs_text": ", ".join(f"{c:.2f}" for c in pairs),
        "pred_text": ", ".join(f"{p:g}" for p in pred),
        "mixed_text": ", ".join(f"{inc.expected_mixed_neurons(g.n_features, m):.2f}" for m in g.n_neurons),
        "all_text": ", ".join(f"{inc.expected_colliding_pairs(g.n_features, m):.2f}" for m in g.n_neurons),
        "slope": power_law_exponent(res.ms, poly),
    }
    finite = [(c, p) for c, p in zip(poly, pred, strict=True) if math.isfinite(c)]
    out["ratio"] = sum(c for c, _ in finite) / sum(p for _, p in finite) if finite else float("nan")
    out.update({f"mech_{k}": v for k, v in mechanism(res).items()})
    init_opp = [float(inc.opposite_pairs(W0).double().mean()) for W0 in res.initial("linear")]
    out["init_opposite_text"] = ", ".join(f"{c:.2f}" for c in init_opp)
    for setting in SETTINGS:
        s_ok = res.settled(setting)
        out[f"{setting}_poly_text"] = ", ".join(f"{c:.2f}" for c in mean_settled(res.poly(setting), s_ok))
        out[f"{setting}_settled"] = int(s_ok.sum())
        out[f"{setting}_lost_max"] = int(res.per_m(setting, inc.n_uncarried).max())
        out[f"{setting}_pairs_max"] = int(res.pairs(setting).max())
    relu_ok = res.settled("relu0")
    relu_means = mean_settled(res.poly("relu0"), relu_ok)
    out["n_m_above"] = len(res.ms) - 1
    out["relu0_zero_above"] = sum(c == 0 for m, c in zip(res.ms, relu_means, strict=True) if m > res.n)
    out["relu0_neg_carried"] = sum(
        int((inc.carried(W[ok]) & (W[ok] < 0)).sum())
        for m, W, ok in zip(res.ms, res.final("relu0"), relu_ok, strict=True)
        if m > res.n
    )
    out["runs_per_setting"] = len(res.ms) * len(g.seeds)
    out["relu0_settled_first"] = int(relu_ok[0].sum())
    out["settle_tol"] = inc.SETTLE_TOL
    band, ours = res.per_m("linear", inc.n_polysemantic_band), res.poly("linear")
    out["band_same"], out["band_runs"] = int((band == ours).sum()), band.numel()
    out["band_lo"], out["band_hi"] = inc.LECOMTE_BAND
    # the clean comparisons (the findings' parts), then those that differ in more than the initial bias
    pairs = {
        "neg1": (f"neg{BIAS_SCALES[0]:g}", CONTROL),
        "neg4": (f"neg{BIAS_SCALES[1]:g}", CONTROL),
        "neg1_nodecay": (f"neg{BIAS_SCALES[0]:g}", "relu0"),
        "decay": (CONTROL, "relu0"),
        "relu": ("relu0", "linear"),
        "recipe": (f"neg{BIAS_SCALES[0]:g}", "linear"),
    }
    for key, (a, b) in pairs.items():
        c = compare(res, a, b)
        out[f"{key}_fewer"], out[f"{key}_more"], out[f"{key}_tested"] = c["n_fewer"], c["n_more"], c["n_tested"]
    return out
