"""Each chapter's "What we found" table: the paper's claim and number next to this run's, with a verdict
computed from the run (never typed in). Verdicts: "agree", "partly", "no"."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from monosem.metrics import MONO_THRESHOLD
from monosem.results import SweepResult

# A neuron counts as clearly polysemantic for claim 2 below this monosemanticity.
POLY_THRESHOLD = 0.5


@dataclass(frozen=True)
class Finding:
    claim: str
    paper: str
    this_run: str
    verdict: str


def table(findings: list[Finding]) -> pd.DataFrame:
    return pd.DataFrame(
        [(f.claim, f.paper, f.this_run, f.verdict) for f in findings],
        columns=["claim", "paper", "this run", "verdict"],
    )


def glue_numbers(prefix: str, values: dict[str, float]) -> None:
    """Glue every value as `<prefix>_<name>` for the chapter's prose ({glue:text}`<prefix>_<name>:.3f`)."""
    from myst_nb import glue

    for name, value in values.items():
        glue(f"{prefix}_{name}", value, display=False)


def _verdict(n_hold: int, n_parts: int) -> str:
    return "agree" if n_hold == n_parts else ("no" if n_hold == 0 else "partly")


def spearman(x: list[float], y: list[float]) -> float:
    """Rank correlation (no ties expected among swept values)."""
    rx = torch.tensor(x).argsort().argsort().float()
    ry = torch.tensor(y).argsort().argsort().float()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = float(rx.norm() * ry.norm())
    return float((rx * ry).sum()) / denom if denom else 0.0


def lr_dependence(result: SweepResult) -> dict[str, float]:
    """Claim 1's numbers for a zero-bias lr sweep."""
    lrs = result.values("lr")
    mono = result.mono_per_feature().tolist()
    loss = result["final_loss"].tolist()
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
    """Claim 2's numbers: median final bias of monosemantic (r > 0.999) and of clearly polysemantic
    (r < 0.5, alive) neurons, pooled over every instance."""
    r, b = result["r"].flatten(), result["b_in"].flatten()
    mono = r > MONO_THRESHOLD
    poly = (r < POLY_THRESHOLD) & (r > 0)
    return {
        "n_mono": int(mono.sum()),
        "n_poly": int(poly.sum()),
        "median_mono": float(b[mono].median()) if mono.any() else float("nan"),
        "median_poly": float(b[poly].median()) if poly.any() else float("nan"),
    }


def basins(lr1: SweepResult, n_features: int) -> list[Finding]:
    """Claims 1 and 2 (Section 4.1) from the zero-bias uniform-frequency lr sweep."""
    c1 = lr_dependence(lr1)
    c2 = bias_split(lr1)
    parts1 = [c1["mono_high"] > c1["mono_low"], c1["loss_high"] <= c1["loss_low"]]
    parts2 = [c2["median_mono"] < 0, c2["median_poly"] > 0]
    return [
        Finding(
            "1. Zero bias: higher lr gives a more monosemantic minimum with slightly lower loss",
            "monosemanticity rises with lr; loss plateaus near 0.85-0.95 (N = 512), slightly lower at high lr",
            f"# mono / # features {c1['mono_low']:.3f} at lr {c1['lr_low']:g} vs {c1['mono_high']:.3f} at lr "
            f"{c1['lr_high']:g} (rank correlation with lr {c1['rho_mono']:+.2f}); loss {c1['loss_low']:.3f} vs "
            f"{c1['loss_high']:.3f} (N = {n_features})",
            _verdict(sum(parts1), len(parts1)),
        ),
        Finding(
            "2. Monosemantic neurons have moderate negative biases, polysemantic ones positive",
            "negative biases for monosemantic neurons, positive for polysemantic ones (Fig. 5)",
            f"median bias {c2['median_mono']:+.3f} over {c2['n_mono']} monosemantic neurons, "
            f"{c2['median_poly']:+.3f} over {c2['n_poly']} neurons with r < {POLY_THRESHOLD}",
            _verdict(sum(parts2), len(parts2)),
        ),
    ]
