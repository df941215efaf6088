"""Chapter 1, basins (paper Section 4.1): with zero initial bias the learning rate picks the minimum.

Table 1's LR1 (uniform frequencies) and LR2 (power law), lr swept. Claims 1 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monosem.cache import Cache
from monosem.claims import Finding, spearman, verdict
from monosem.config import Sweep
from monosem.experiments.common import lr_sweep, scale_numbers
from monosem.metrics import is_monosemantic
from monosem.profiles import Profile
from monosem.results import SweepResult

WEIGHTS = {"LR1"}
# A neuron counts as clearly polysemantic for claim 2 below this monosemanticity.
POLY_THRESHOLD = 0.5


def lr1(profile: Profile) -> Sweep:
    return lr_sweep(profile, "LR1")


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
    return Basins(profile, *(cache.get_or_train(s, progress=progress) for s in sweeps(profile)))


def lr_dependence(result: SweepResult) -> dict[str, float]:
    """Claim 1's numbers for a zero-bias lr sweep."""
    lrs = result.values("lr")
    mono = result.mono_per_feature().tolist()
    loss = result.final_loss.tolist()
    lo, hi = lrs.index(min(lrs)), lrs.index(max(lrs))
    return {
        "lr_low": lrs[lo],
        "lr_high": lrs[hi],
        "mono_low": mono[lo],
        "mono_high": mono[hi],
        "loss_low": loss[lo],
        "loss_high": loss[hi],
        "rho_mono": spearman(lrs, mono),
        "rho_loss": spearman(lrs, loss),
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


def findings(res: Basins) -> list[Finding]:
    """Claims 1 and 2 (Section 4.1) from the zero-bias uniform-frequency lr sweep."""
    c1, c2 = lr_dependence(res.lr1), bias_split(res.lr1)
    parts1 = [c1["mono_high"] > c1["mono_low"], c1["loss_high"] <= c1["loss_low"]]
    parts2 = [c2["median_mono"] < 0, c2["median_poly"] > 0]
    return [
        Finding(
            "1. Zero bias: higher lr gives a more monosemantic minimum with slightly lower loss",
            "monosemanticity rises with lr; loss plateaus near 0.85-0.95 (N = 512), slightly lower at high lr",
            f"# mono / # features {c1['mono_low']:.3f} at lr {c1['lr_low']:g} vs {c1['mono_high']:.3f} at lr "
            f"{c1['lr_high']:g} (rank correlation with lr {c1['rho_mono']:+.2f}); loss {c1['loss_low']:.3f} vs "
            f"{c1['loss_high']:.3f} (N = {res.profile.n_features})",
            verdict(sum(parts1), len(parts1)),
        ),
        Finding(
            "2. Monosemantic neurons have moderate negative biases, polysemantic ones positive",
            "negative biases for monosemantic neurons, positive for polysemantic ones (Fig. 5)",
            f"median bias {c2['median_mono']:+.3f} over {c2['n_mono']} monosemantic neurons, "
            f"{c2['median_poly']:+.3f} over {c2['n_poly']} neurons with r < {POLY_THRESHOLD}",
            verdict(sum(parts2), len(parts2)),
        ),
    ]


def numbers(res: Basins) -> dict[str, Any]:
    lrs = res.lr2.values("lr")
    mono2 = res.lr2.mono_per_feature()
    out = scale_numbers(res.profile, [res.lr1, res.lr2])
    out.update({f"c1_{k}": v for k, v in lr_dependence(res.lr1).items()})
    out.update({f"c2_{k}": v for k, v in bias_split(res.lr1).items()})
    out["lr2_mono_low"] = float(mono2[lrs.index(min(lrs))])
    out["lr2_mono_high"] = float(mono2[lrs.index(max(lrs))])
    return out


def heatmap_indices(res: Basins) -> list[int]:
    """The LR1 instances at the lowest, a middle and the highest learning rate (Fig. 4's three panels)."""
    order = sorted(range(res.lr1.sweep.n_inst), key=lambda i: res.lr1.values("lr")[i])
    return [order[0], order[len(order) // 2], order[-1]]
