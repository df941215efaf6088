"""The "What we found" tables: the paper's claim and number next to this run's, with a verdict computed from
the run (never typed in). Verdicts: "agree", "partly", "no" over the parts that could be tested, "not testable
here" when none could: a part whose models have not settled (or whose bias decay has not done its job) cannot be
tested at this scale and counts neither for nor against. Each chapter's experiment module computes its
own findings with these tools."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import torch

from monosem.paper import DECAY_DONE, decay_steps, log2_steps
from monosem.results import LEARNED, SETTLE_LOSS, SETTLE_MONO, SweepResult

UNTESTABLE = "cannot be tested at this scale"


@dataclass(frozen=True)
class Gate:
    """What a part needs of the models it reads before it can be tested: that every one has settled (the rule of
    `monosem.results.settled`) and, for a part that rests on the bias decay, that the decay has done its job
    (`monosem.paper.DECAY_DONE`). Gates of several groups of models combine with `&`.

    n_models, n_settled: the models the part reads and how many have settled; steps: their run length;
    decay_steps: the run length the slowest decay among them needs (0 where the part does not rest on the decay),
    decay_text: that decay, in words ("decay 0.03 at lr 0.001")."""

    n_models: int = 0
    n_settled: int = 0
    steps: int = 0
    decay_steps: float = 0.0
    decay_text: str = ""

    @property
    def open(self) -> bool:
        return self.n_settled == self.n_models and self.steps >= self.decay_steps

    def __and__(self, other: Gate) -> Gate:
        slower = self if self.decay_steps >= other.decay_steps else other
        return Gate(
            self.n_models + other.n_models,
            self.n_settled + other.n_settled,
            max(self.steps, other.steps),
            slower.decay_steps,
            slower.decay_text,
        )

    @property
    def why(self) -> str:
        """Why the part cannot be tested, in words ("" when it can)."""
        reasons = []
        if self.n_settled < self.n_models:
            unsettled = self.n_models - self.n_settled
            reasons.append(f"{unsettled} of {self.n_models} models not settled at {log2_steps(self.steps)} steps")
        if self.steps < self.decay_steps:
            reasons.append(f"the bias decay ({self.decay_text}) needs {log2_steps(self.decay_steps)} steps")
        return "; ".join(reasons)

    @property
    def needs(self) -> str:
        """What it would take to test the part ("" when it can be tested): the run length the decay needs, and runs
        longer than these where models have not settled."""
        out = []
        if self.steps < self.decay_steps:
            out.append(f">= {log2_steps(self.decay_steps)} steps ({self.decay_text})")
        if self.n_settled < self.n_models:
            moving = self.n_models - self.n_settled
            out.append(f"> {log2_steps(self.steps)} steps ({moving} of {self.n_models} models still moving)")
        return ", ".join(out)


def settled_gate(result: SweepResult, indices: Iterable[int] | None = None, decay: bool = False) -> Gate:
    """The gate of the instances `indices` of `result` (every instance if None); with `decay`, the part rests on the
    bias decay too (its slowest instance sets the run length needed)."""
    rows = list(range(result.sweep.n_inst)) if indices is None else list(indices)
    ok = result.converged()
    configs = [result.configs[i] for i in rows]
    need, text = 0.0, ""
    if decay and configs:
        slowest = max(configs, key=lambda c: decay_steps(c.bias_decay, c.lr))
        need = decay_steps(slowest.bias_decay, slowest.lr)
        text = f"decay {slowest.bias_decay:g} at lr {slowest.lr:g}"
    n_settled = int(sum(bool(ok[i]) for i in rows))
    return Gate(len(rows), n_settled, max((c.n_steps for c in configs), default=0), need, text)


@dataclass(frozen=True)
class Part:
    """One part of a claim, as the paper words it, tested on this run.

    text: the part; paper: the paper's number for it; this_run: this run's number(s); test: the test, with its
    named threshold; holds: the test's outcome, True or False; gate: what the part needs of the models it reads
    (settled, the decay done); untestable: why this run cannot test the part at this scale for another reason than
    its gate (one seed where the test needs a seed spread, a grid that cannot show the effect); testable: False
    when the run has nothing the test reads (fewer than three lrs for a rank correlation, no resampled latent), so
    that the part is "not tested". A part that is not testable, whose gate is closed or that says why it is
    untestable has `holds` None whatever was passed, so nothing the run could not measure counts for or against a
    claim: pass the test as it reads, `Part(..., rho >= RISES, gate, testable=len(lrs) >= 3)`."""

    text: str
    paper: str
    this_run: str
    test: str
    holds: bool | None
    gate: Gate | None = None
    untestable: str = ""
    testable: bool = True

    def __post_init__(self) -> None:
        if self.why or not self.testable:
            object.__setattr__(self, "holds", None)

    @property
    def why(self) -> str:
        """Why the part cannot be tested at this scale ("" when it can)."""
        reasons = [self.gate.why] if self.gate is not None and not self.gate.open else []
        return "; ".join([*reasons, *([self.untestable] if self.untestable else [])])

    @property
    def status(self) -> str:
        """yes, no, "cannot be tested at this scale: <why>", or "not tested" (the run has nothing to test it on)."""
        return f"{UNTESTABLE}: {self.why}" if self.why else HOLDS[self.holds]


VERDICTS = ("agree", "partly", "no", "not testable here")


@dataclass(frozen=True)
class Finding:
    """A claim of the paper and its parts. The verdict is over the parts that could be tested: "agree" when every
    one holds, "no" when none does, "partly" otherwise, "not testable here" when none could be tested (never "no").
    `figure`: the name of the chapter's figure that shows it (for the scorecard's link), if any. `headline`: the
    claim's one number, the paper's and this run's (by default the first part's)."""

    claim: str
    parts: tuple[Part, ...]
    figure: str = ""
    headline: tuple[str, str] | None = None

    @property
    def number(self) -> int:
        """The claim's number in the paper's list (the claim text starts with it: "3. ...")."""
        head = self.claim.partition(".")[0]
        if not head.isdigit():
            raise ValueError(f"a claim's text must start with its number, as in '3. ...'; got {self.claim!r}")
        return int(head)

    @property
    def tested(self) -> list[bool]:
        return [p.holds for p in self.parts if p.holds is not None]

    @property
    def verdict(self) -> str:
        decided = self.tested
        if not decided:
            return "not testable here"
        if all(decided):
            return "agree"
        return "no" if not any(decided) else "partly"

    @property
    def needs(self) -> str:
        """What it would take to test the parts that could not be tested here ("" when every part was tested): the
        run length each bias decay among their gates needs, longer runs where their models were still
        moving, and the other reasons parts give (`Part.untestable`)."""
        untested = [p for p in self.parts if p.holds is None]
        closed = [p.gate for p in untested if p.gate is not None and not p.gate.open]
        needs = []
        short = sorted({(g.decay_steps, g.decay_text) for g in closed if g.steps < g.decay_steps})
        needs += [f">= {log2_steps(steps)} steps ({text})" for steps, text in short]
        moving = [g for g in closed if g.n_settled < g.n_models]
        if moving:
            steps = log2_steps(max(g.steps for g in moving))
            n = len(moving)
            needs.append(f"> {steps} steps (models still moving in {n} part{'s' if n > 1 else ''})")
        for p in untested:
            if p.untestable and p.untestable not in needs:
                needs.append(p.untestable)
        if any(p.gate is None or p.gate.open for p in untested if not p.untestable):
            needs.append("a run that has what the test reads")
        return "; ".join(needs)

    @property
    def needs_briefly(self) -> str:
        """`needs` in a few words for the scorecard's line: the longest run any untested part needs ("runs of >= 2^19
        steps", or "runs longer than 2^14 steps" where models were still moving), and how many other reasons there
        are ("" when every part was tested)."""
        untested = [p for p in self.parts if p.holds is None]
        if not untested:
            return ""
        closed = [p.gate for p in untested if p.gate is not None and not p.gate.open]
        decay = [g.decay_steps for g in closed if g.steps < g.decay_steps]
        moving = [g.steps for g in closed if g.n_settled < g.n_models]
        out = []
        if decay:
            out.append(f"runs of >= {log2_steps(max(decay))} steps")
        elif moving:
            out.append(f"runs longer than {log2_steps(max(moving))} steps")
        others = len({p.untestable for p in untested if p.untestable})
        if others:
            out.append(f"{others} other reason{'s' if others > 1 else ''}")
        return " and ".join(out) or "a run that has what the test reads"

    @property
    def headline_numbers(self) -> tuple[str, str]:
        return self.headline or (self.parts[0].paper, self.parts[0].this_run)


HOLDS = {True: "yes", False: "no", None: "not tested"}


def table(findings: list[Finding]) -> pd.DataFrame:
    """One row per part: the claim and its verdict, the part, the paper's number, this run's, the test and whether
    the part holds (or why it cannot be tested here)."""
    rows = [
        (f"{f.claim} ({f.verdict})", p.text, p.paper, p.this_run, p.test, p.status) for f in findings for p in f.parts
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


def rule_values() -> dict[str, float]:
    """The gates' thresholds, for a chapter's prose: the settledness rule's (`settle_loss`, also as a percentage
    `settle_loss_pct`; `settle_mono`; `learned`) and the bias decay's (`decay_done`)."""
    return {
        "settle_loss": SETTLE_LOSS,
        "settle_loss_pct": 100 * SETTLE_LOSS,
        "settle_mono": SETTLE_MONO,
        "learned": LEARNED,
        "decay_done": DECAY_DONE,
    }


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
