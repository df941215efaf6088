"""The "What we found" tables: the paper's claim and number next to this run's, with a verdict computed from
the run (never typed in). Verdicts: "agree", "partly", "no". Each chapter's experiment module computes its
own findings with these tools."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch


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


def glue_numbers(prefix: str, values: dict[str, object]) -> None:
    """Glue every value as `<prefix>_<name>` for the chapter's prose ({glue:text}`<prefix>_<name>:.3f`)."""
    from myst_nb import glue

    for name, value in values.items():
        glue(f"{prefix}_{name}" if prefix else name, value, display=False)


def verdict(n_hold: int, n_parts: int) -> str:
    return "agree" if n_hold == n_parts else ("no" if n_hold == 0 else "partly")


def spearman(x: list[float], y: list[float]) -> float:
    """Rank correlation (no ties expected among swept values)."""
    rx = torch.tensor(x).argsort().argsort().float()
    ry = torch.tensor(y).argsort().argsort().float()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = float(rx.norm() * ry.norm())
    return float((rx * ry).sum()) / denom if denom else 0.0
