"""The claims scorecard: all ten claims on one page, computed by the chapters' own claim functions.

Not a chapter of the paper: it serves the page `book/00_scorecard.py`, which sits right after the introduction.
Its sweeps are every other experiment module's (so the scorecard is at the profile of the book it is built with,
from the same cache), and its findings are theirs, ordered by claim number. Nothing is typed in: a verdict here
is the verdict on the chapter's page, because it is the same function called on the same results.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType

import pandas as pd

from monosem.cache import Cache
from monosem.claims import VERDICTS, Finding
from monosem.config import Sweep
from monosem.profiles import Profile

NOT_EXPERIMENTS = {"common", "scorecard"}


def modules() -> dict[str, ModuleType]:
    """Every experiment module of the paper's chapters, by name (alphabetical): not this one, and not the
    chapters beyond the paper (`BEYOND_PAPER = True`), whose findings are not among the paper's ten claims."""
    import monosem.experiments as package

    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in NOT_EXPERIMENTS)
    found = {name: importlib.import_module(f"monosem.experiments.{name}") for name in names}
    return {name: module for name, module in found.items() if not getattr(module, "BEYOND_PAPER", False)}


def sweeps(profile: Profile) -> list[Sweep]:
    return [s for module in modules().values() for s in module.sweeps(profile)]


WEIGHTS = set().union(*(module.WEIGHTS for module in modules().values()))


@dataclass(frozen=True)
class Scorecard:
    profile: Profile
    findings: dict[str, list[Finding]]  # by experiment module name


def run(profile: Profile, cache: Cache | None = None, progress: bool = True) -> Scorecard:
    cache = cache or Cache.for_profile(profile.name)
    found = {}
    for name, module in modules().items():
        found[name] = module.findings(module.run(profile, cache, progress=progress))
    return Scorecard(profile, found)


def findings(card: Scorecard) -> list[Finding]:
    """Every chapter's findings, ordered by claim number."""
    return sorted((f for fs in card.findings.values() for f in fs), key=lambda f: f.number)


def numbers(card: Scorecard) -> dict[str, object]:
    every = findings(card)
    verdicts = [f.verdict for f in every]
    return {
        "profile": card.profile.name,
        "n_claims": len(every),
        **{f"n_{v.replace(' ', '_')}": verdicts.count(v) for v in VERDICTS},
        "n_parts": sum(len(f.parts) for f in every),
        "n_parts_tested": sum(len(f.tested) for f in every),
    }


def page_of(module: str, pages: list[str]) -> str:
    """The book page (e.g. "02_negative_bias") served by an experiment module, from the book's page names."""
    for page in pages:
        if page.partition("_")[2] == module:
            return page
    raise ValueError(f"no book page NN_{module} among {', '.join(pages)}")


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def table(card: Scorecard, pages: list[str]) -> pd.DataFrame:
    """One row per claim: the claim in a few words, the verdict (over the parts that could be tested), the paper's
    headline number beside this build's, what it would take to test the parts that could not be tested here
    (from their gates, briefly: the parts below say it in full), and where the book shows it (MyST
    cross-references to the chapter page and the figure)."""
    page = {id(f): page_of(name, pages) for name, fs in card.findings.items() for f in fs}
    rows = []
    for f in findings(card):
        where = f"{{doc}}`{page[id(f)]}`" + (f", {{numref}}`Fig. %s <{f.figure}>`" if f.figure else "")
        paper, here = f.headline_numbers
        rows.append(
            (
                _cell(f.claim),
                f"**{f.verdict}** ({len(f.tested)} of {len(f.parts)} parts tested)",
                _cell(paper),
                _cell(here),
                _cell(f.needs_briefly) or "every part tested",
                where,
            )
        )
    columns = ["claim", "verdict", "the paper", f"this book ({card.profile.name})", "to test the rest", "shown in"]
    return pd.DataFrame(rows, columns=columns)


def _markdown(frame: pd.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    return lines + ["| " + " | ".join(_cell(str(v)) for v in row) + " |" for row in frame.itertuples(index=False)]


def parts_table(finding: Finding) -> pd.DataFrame:
    """The parts of one claim: the part, the paper's number, this run's, the test and whether it holds (or why it
    cannot be tested here)."""
    rows = [(p.text, p.paper, p.this_run, p.test, p.status) for p in finding.parts]
    return pd.DataFrame(rows, columns=["part", "the paper", "this run", "test", "holds"])


def show(card: Scorecard, pages: list[str]):
    """The scorecard as MyST markdown (rendered by myst-nb, so that the cross-references resolve): one line per
    claim, then each claim's parts folded in a dropdown."""
    from IPython.display import Markdown

    lines = _markdown(table(card, pages))
    for f in findings(card):
        need = [f"To test the parts not tested here: {f.needs}.", ""] if f.needs else []
        title = f":::{{dropdown}} Claim {_cell(f.claim)}: **{f.verdict}**"
        lines += ["", title, *need, *_markdown(parts_table(f)), ":::"]
    return Markdown("\n".join(lines))
