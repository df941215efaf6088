"""The "What we found" tables: the paper's claim and number next to this run's, with a verdict computed from
the run (never typed in). Verdicts: "agree", "partly", "no". Each chapter's experiment module computes its
own findings with these tools."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch


@dataclass(frozen=True)
class Part:
    """One part of a claim, as the paper words it, tested on this run.

    text: the part; paper: the paper's number for it; this_run: this run's number(s); test: the test, with its
    named threshold; holds: True or False, or None when the run cannot test it (e.g. no converged model)."""

    text: str
    paper: str
    this_run: str
    test: str
    holds: bool | None


@dataclass(frozen=True)
class Finding:
    """A claim of the paper and its parts. "agree" only when every part holds; "no" when none does; "partly"
    otherwise; "not tested" when no part could be tested. `figure`: the name of the chapter's figure that shows it
    (for the scorecard's link), if any."""

    claim: str
    parts: tuple[Part, ...]
    figure: str = ""

    @property
    def number(self) -> int:
        """The claim's number in the paper's list (the claim text starts with it: "3. ...")."""
        head = self.claim.partition(".")[0]
        if not head.isdigit():
            raise ValueError(f"a claim's text must start with its number, as in '3. ...'; got {self.claim!r}")
        return int(head)

    @property
    def verdict(self) -> str:
        decided = [p.holds for p in self.parts if p.holds is not None]
        if not decided:
            return "not tested"
        if len(decided) == len(self.parts) and all(decided):
            return "agree"
        return "no" if not any(decided) else "partly"


HOLDS = {True: "yes", False: "no", None: "not tested"}


def table(findings: list[Finding]) -> pd.DataFrame:
    """One row per part: the claim and its verdict, the part, the paper's number, this run's, the test and whether
    the part holds."""
    rows = [
        (f"{f.claim} ({f.verdict})", p.text, p.paper, p.this_run, p.test, HOLDS[p.holds])
        for f in findings
        for p in f.parts
    ]
    return pd.DataFrame(rows, columns=["claim (verdict)", "part", "paper", "this run", "test", "holds"])


def show(findings: list[Finding]):
    """The table of `findings` for a chapter page: no index column, claims grouped."""
    frame = table(findings)
    first = ~frame["claim (verdict)"].duplicated()
    frame["claim (verdict)"] = frame["claim (verdict)"].where(first, "")
    return (
        frame.style.hide(axis="index")
        .set_properties(**{"text-align": "left", "vertical-align": "top"})
        .set_table_styles([{"selector": "td, th", "props": "padding: 0.2em 0.8em"}])
    )


def spread(values: torch.Tensor | list[float], fmt: str = ".2f") -> str:
    """median [min, max] of several seeds' values (just the value when there is one)."""
    t = torch.as_tensor(values, dtype=torch.float64).flatten()
    if t.numel() == 1:
        return format(float(t), fmt)
    return f"{float(t.median()):{fmt}} [{float(t.min()):{fmt}}, {float(t.max()):{fmt}}]"


def glue_numbers(prefix: str, values: dict[str, object]) -> None:
    """Glue every value as `<prefix>_<name>` for the chapter's prose ({glue:text}`<prefix>_<name>:.3f`)."""
    from myst_nb import glue

    for name, value in values.items():
        glue(f"{prefix}_{name}" if prefix else name, value, display=False)


def spearman(x: list[float], y: list[float]) -> float:
    """Rank correlation (no ties expected among swept values)."""
    rx = torch.tensor(x).argsort().argsort().float()
    ry = torch.tensor(y).argsort().argsort().float()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = float(rx.norm() * ry.norm())
    return float((rx * ry).sum()) / denom if denom else 0.0
