"""Chapter 1, basins (paper Section 4.1): with zero initial bias the learning rate picks the minimum.

Table 1's LR1 (uniform frequencies) and LR2 (power law), lr swept. Claims 1 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monosem.cache import Cache
from monosem.claims import Finding, Part, spearman, spread
from monosem.config import Sweep
from monosem.experiments.common import by_lr, converged_lrs, lr_sweep, median_by_lr, scale_numbers, seeds_text
from monosem.metrics import MONO_THRESHOLD, is_monosemantic
from monosem.profiles import Profile
from monosem.results import SETTLE_LOSS, SweepResult

WEIGHTS = {"LR1"}
# A neuron counts as clearly polysemantic for claim 2 below this monosemanticity.
POLY_THRESHOLD = 0.5


def lr1(profile: Profile) -> Sweep:
    return lr_sweep(profile, "LR1", with_seeds=True)


def lr2(profile: Profile) -> Sweep:
    return lr_sweep(profile, "LR2", freq="power")


def sweeps(profile: Profile) -> list[Sweep]:
    return [lr1(profile), lr2(profile)]


@dataclass(frozen=True)
class Basins:
    profile: Profile
    lr1: SweepResult
    lr2: SweepResult


def run(profile: Profile, cache: Cache | None = None, progress: bool = True) -> Basins:
    cache = cache or Cache.for_profile(profile.name)
    # every sweep at the most seeds cached (`train --seeds S`): the claims pool seeds per lr, the figures draw bands
    return Basins(profile, *(cache.get_or_train(cache.seeded(s), progress=progress) for s in sweeps(profile)))


# Claim 1. "Rises with lr": the rank correlation of # mono / # features with lr, over converged lrs, at least this.
RISES = 0.8
# "Slightly lower loss": the paper's plateau, 0.85-0.95 (Fig. 1), spans 11 %; a larger fall is not slight.
SLIGHTLY = 0.12
# The paper's loss plateau at N = 512 (Fig. 1, 3); the loss sums over N outputs, so it scales with N.
PLATEAU = (0.85, 0.95)
PAPER_N = 512
# How far outside the scaled plateau a converged loss may sit and still be "near" it.
PLATEAU_TOL = 0.1
# Claim 2. A bias counts as clearly negative or positive beyond this: the paper's own proxy for a positive-bias
# (polysemantic) neuron, 0.05 (Fig. 11), used in both directions.
CLEAR_BIAS = 0.05
# "Moderate" negative biases: no larger in magnitude than the initial bias of the negative-bias recipe.
MODERATE = 1.0


def lr_dependence(result: SweepResult) -> dict[str, Any]:
    """Claim 1's numbers for a zero-bias lr sweep (seeds pooled per lr by their median)."""
    mono = median_by_lr(result, result.mono_per_feature())
    loss = median_by_lr(result, result.final_loss)
    ok = converged_lrs(result)
    lrs = list(mono)
    lo, hi = (ok[0], ok[-1]) if len(ok) >= 2 else (lrs[0], lrs[-1])
    spreads = by_lr(result, result.mono_per_feature())
    return {
        "lrs": lrs,
        "converged_lrs": ok,
        "n_converged": len(ok),
        "n_lrs": len(lrs),
        "lr_low": lo,
        "lr_high": hi,
        "mono_low": mono[lo],
        "mono_high": mono[hi],
        "mono_low_spread": spread(spreads[lo], ".3f"),
        "mono_high_spread": spread(spreads[hi], ".3f"),
        "loss_low": loss[lo],
        "loss_high": loss[hi],
        "loss_fall": (loss[lo] - loss[hi]) / loss[lo],
        "rho_mono": spearman(ok, [mono[lr] for lr in ok]) if len(ok) >= 3 else float("nan"),
        "rho_mono_all": spearman(lrs, list(mono.values())),
        "loss_by_lr": loss,
        "plateau_low": PLATEAU[0] * result.n_features / PAPER_N,
        "plateau_high": PLATEAU[1] * result.n_features / PAPER_N,
    }


def bias_split(result: SweepResult) -> dict[str, float]:
    """Claim 2's numbers: median final bias of monosemantic and of clearly polysemantic (r < POLY_THRESHOLD,
    alive) neurons, pooled over every instance."""
    r, b = result.r.flatten(), result.b_in.flatten()
    mono = is_monosemantic(r)
    poly = (r < POLY_THRESHOLD) & (r > 0)
    return {
        "n_mono": int(mono.sum()),
        "n_poly": int(poly.sum()),
        "median_mono": float(b[mono].median()) if mono.any() else float("nan"),
        "median_poly": float(b[poly].median()) if poly.any() else float("nan"),
    }


def _rho(value: float) -> str:
    return "n/a (fewer than 3 converged lrs)" if value != value else f"{value:+.2f}"


def claim1(result: SweepResult) -> Finding:
    c = lr_dependence(result)
    ok = c["converged_lrs"]
    lo_hi = f"lr {c['lr_low']:g} vs {c['lr_high']:g}"
    low, high = c["plateau_low"], c["plateau_high"]
    near = [lr for lr in ok if low * (1 - PLATEAU_TOL) <= c["loss_by_lr"][lr] <= high * (1 + PLATEAU_TOL)]
    parts = (
        Part(
            "the runs have reached their minima",
            "trained well past the loss plateau",
            f"{c['n_converged']} of {c['n_lrs']} lrs converged"
            + (f" ({', '.join(f'{lr:g}' for lr in ok)})" if ok else ""),
            f"loss falls < {SETTLE_LOSS:.1%} per period over the last 4 (SETTLE_LOSS), every seed",
            c["n_converged"] == c["n_lrs"],
        ),
        Part(
            "higher lr gives more monosemantic neurons",
            "from about 0 to about 0.9 per feature over lr 0.001-0.03 (Fig. 1 left)",
            f"{c['mono_low_spread']} at lr {c['lr_low']:g}, {c['mono_high_spread']} at lr {c['lr_high']:g}; rank "
            f"correlation {_rho(c['rho_mono'])} over converged lrs ({c['rho_mono_all']:+.2f} over all)",
            f"rank correlation with lr over >= 3 converged lrs >= {RISES} (RISES)",
            None if len(ok) < 3 else c["rho_mono"] >= RISES,
        ),
        Part(
            "and slightly lower loss",
            "slightly lower at high lr, within the 0.85-0.95 plateau",
            f"{c['loss_low']:.3f} -> {c['loss_high']:.3f} ({lo_hi}: {-c['loss_fall']:+.1%})",
            f"lower at the highest converged lr, by at most {SLIGHTLY:.0%} (SLIGHTLY)",
            None if len(ok) < 2 else 0 < c["loss_fall"] <= SLIGHTLY,
        ),
        Part(
            "the loss plateaus near 0.85-0.95 (N = 512)",
            "0.85-0.95 at N = 512",
            f"{', '.join(format(c['loss_by_lr'][lr], '.3f') for lr in ok) or 'no converged lr'} "
            f"(scaled plateau at N = {result.n_features}: {low:.3f}-{high:.3f})",
            f"every converged loss within the plateau x N / 512, +-{PLATEAU_TOL:.0%} (PLATEAU_TOL)",
            None if not ok else len(near) == len(ok),
        ),
    )
    return Finding(
        "1. Zero bias: the lr picks the minimum; higher lr, more monosemantic, slightly lower loss",
        parts,
        "fig-lr-final",
    )


def claim2(result: SweepResult) -> Finding:
    c = bias_split(result)
    parts = (
        Part(
            "monosemantic neurons have negative biases",
            "negative (Fig. 5)",
            f"median {c['median_mono']:+.3f} over {c['n_mono']} neurons with r > {MONO_THRESHOLD}",
            f"median < -{CLEAR_BIAS} (CLEAR_BIAS)",
            c["median_mono"] < -CLEAR_BIAS,
        ),
        Part(
            "moderate ones",
            "moderate (Fig. 5)",
            f"median {c['median_mono']:+.3f}",
            f"median >= -{MODERATE:g} (MODERATE)",
            c["median_mono"] >= -MODERATE,
        ),
        Part(
            "polysemantic neurons have positive biases",
            "small positive (Fig. 5)",
            f"median {c['median_poly']:+.3f} over {c['n_poly']} neurons with 0 < r < {POLY_THRESHOLD}",
            f"median > +{CLEAR_BIAS} (CLEAR_BIAS)",
            c["median_poly"] > CLEAR_BIAS,
        ),
    )
    return Finding(
        "2. Monosemantic neurons have moderate negative biases, polysemantic ones positive", parts, "fig-lr1-bias"
    )


def findings(res: Basins) -> list[Finding]:
    """Claims 1 and 2 (Section 4.1) from the zero-bias uniform-frequency lr sweep."""
    return [claim1(res.lr1), claim2(res.lr1)]


def numbers(res: Basins) -> dict[str, Any]:
    mono2 = median_by_lr(res.lr2, res.lr2.mono_per_feature())
    out = scale_numbers(res.profile, [res.lr1, res.lr2])
    c1 = lr_dependence(res.lr1)
    out.update({f"c1_{k}": v for k, v in c1.items() if isinstance(v, (int, float, str))})
    out.update({f"c2_{k}": v for k, v in bias_split(res.lr1).items()})
    out["lr2_mono_low"] = mono2[min(mono2)]
    out["lr2_mono_high"] = mono2[max(mono2)]
    out.update(seeds_text(res.lr1))
    out["n_models"] = res.lr1.sweep.n_inst
    out["still_falling_pct"] = 100 * SETTLE_LOSS
    return out


def first_seed(result: SweepResult) -> list[int]:
    """The instances of the first seed, one per learning rate, in lr order."""
    seed = min(result.values("seed"))
    return sorted((i for i, c in enumerate(result.configs) if c.seed == seed), key=lambda i: result.configs[i].lr)


def most_monosemantic(result: SweepResult) -> int:
    """The first seed's instance at the highest learning rate."""
    return first_seed(result)[-1]


# Fig. 4's three learning rates: low, middle and high.
HEATMAP_LRS = (0.001, 0.005, 0.03)


def heatmap_indices(res: Basins) -> list[int]:
    """Seed 0's LR1 models at Fig. 4's learning rates, or, where the profile lacks one of them, at its lowest,
    focus and highest learning rate."""
    lrs = (
        HEATMAP_LRS
        if set(HEATMAP_LRS) <= set(res.profile.lrs)
        else (min(res.profile.lrs), res.profile.lr_focus, max(res.profile.lrs))
    )
    return [res.lr1.index(lr=lr, seed=0) for lr in lrs]
