"""The claims scorecard: all ten claims on one page, computed by the chapters' own claim functions.

Not a chapter of the paper: it serves the page `book/00_scorecard.py`, which sits right after the introduction.
It trains nothing of its own: `train` and `book` train every paper chapter for it (`monosem.chapters.trains`), and
it reads their results from the same cache (so the scorecard is at the profile of the book it is built with); its
findings are theirs, through the registry, ordered by claim number. Nothing is typed in: a verdict here
is the verdict on the chapter's page, because it is the same function called on the same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import pandas as pd

from monosem.cache import Cache
from monosem.chapters import CHAPTERS, analysis, get, paper_chapters, reader
from monosem.claims import VERDICTS, Finding
from monosem.paper import log2_steps
from monosem.profiles import Profile

__all__ = [
    "modules",
    "Scorecard",
    "load",
    "findings",
    "glue_values",
    "pages",
    "page_of",
    "table",
    "parts_table",
    "show",
    "summary",
    "by_profile",
]


def modules() -> dict[str, ModuleType]:
    """The packages of the paper's chapters (the registry's order): not this page, and not the chapters beyond the
    paper (`Chapter.beyond_paper`), whose findings are not among the paper's ten claims."""
    return {c.name: analysis(c) for c in paper_chapters()}


@dataclass(frozen=True)
class Scorecard:
    profile: Profile
    findings: dict[str, list[Finding]]  # by chapter name


def load(profile: Profile, cache: Cache | None = None) -> Scorecard:
    """Every paper chapter's findings on its results, read from the cache (NotTrained names the command)."""
    cache = reader(profile, cache, "scorecard")
    return Scorecard(profile, {name: m.findings(m.load(profile, cache)) for name, m in modules().items()})


def findings(card: Scorecard) -> list[Finding]:
    """Every chapter's findings, ordered by claim number."""
    return sorted((f for fs in card.findings.values() for f in fs), key=lambda f: f.number)


def glue_values(card: Scorecard) -> dict[str, object]:
    every = findings(card)
    verdicts = [f.verdict for f in every]
    return {
        "profile": card.profile.name,
        "n_claims": len(every),
        **{f"n_{v.replace(' ', '_')}": verdicts.count(v) for v in VERDICTS},
        "n_parts": sum(len(f.parts) for f in every),
        "n_parts_tested": sum(len(f.tested) for f in every),
    }


def pages() -> list[str]:
    """The book's chapter pages in order (e.g. "02_negative_bias"), from the registry."""
    return [c.page for c in CHAPTERS]


def page_of(name: str, pages: list[str] | None = None) -> str:
    """The book page (e.g. "02_negative_bias") of a chapter, by its name; with `pages`, one of those."""
    page = get(name).page if pages is None else next((p for p in pages if p.partition("_")[2] == name), None)
    if page is None:
        raise ValueError(f"no book page NN_{name} among {', '.join(pages or [])}")
    return page


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def table(card: Scorecard, pages: list[str] | None = None) -> pd.DataFrame:
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


def show(card: Scorecard, pages: list[str] | None = None):
    """The scorecard as MyST markdown (rendered by myst-nb, so that the cross-references resolve): one line per
    claim, then each claim's parts folded in a dropdown."""
    from IPython.display import Markdown

    lines = _markdown(table(card, pages))
    for f in findings(card):
        need = [f"To test the parts not tested here: {f.needs}.", ""] if f.needs else []
        title = f":::{{dropdown}} Claim {_cell(f.claim)}: **{f.verdict}**"
        lines += ["", title, *need, *_markdown(parts_table(f)), ":::"]
    return Markdown("\n".join(lines))


# --- what each profile can test ---------------------------------------------------------------------------------


def summary(card: Scorecard, files: list[str]) -> dict[str, object]:
    """The scorecard of one profile in a few numbers, to be committed (`pipeline.save_scorecard`) so that the
    introduction and the README can say what each profile tests without its results at hand: per claim its verdict
    and how many of its parts could be tested; `files`, the result files it was computed from (their names carry
    the keys, so a test can tell when it has gone stale)."""
    return {
        "profile": card.profile.name,
        "steps": card.profile.n_steps,
        "files": sorted(files),
        "claims": [
            {"claim": f.claim, "verdict": f.verdict, "tested": len(f.tested), "parts": len(f.parts)}
            for f in findings(card)
        ],
    }


def by_profile(summaries: list[dict]) -> str:
    """The committed summaries side by side as a markdown table, one row per claim, one column per profile: its
    verdict and the parts it could test; and the claims each profile could test at all."""
    if not summaries:
        return "(no profile's scorecard is committed yet: `python -m monosem scorecard --profile P` writes one)\n"
    claims = [c["claim"] for c in summaries[0]["claims"]]
    for s in summaries[1:]:
        if [c["claim"] for c in s["claims"]] != claims:
            raise ValueError(f"the scorecards of {summaries[0]['profile']} and {s['profile']} list other claims")
    heads = [f"`{s['profile']}` ({log2_steps(int(s['steps']))} steps)" for s in summaries]
    lines = ["| claim | " + " | ".join(heads) + " |", "|---|" + "---|" * len(summaries)]
    for i, claim in enumerate(claims):
        cells = []
        for s in summaries:
            c = s["claims"][i]
            cells.append(f"{c['verdict']} ({c['tested']} of {c['parts']} parts tested)")
        lines.append(f"| {_cell(claim)} | " + " | ".join(cells) + " |")
    testable = [sum(c["tested"] > 0 for c in s["claims"]) for s in summaries]
    parts = [(sum(c["tested"] for c in s["claims"]), sum(c["parts"] for c in s["claims"])) for s in summaries]
    lines.append(
        "| **claims with a part tested** | " + " | ".join(f"**{n} of {len(claims)}**" for n in testable) + " |"
    )
    lines.append("| **parts tested** | " + " | ".join(f"**{t} of {n}**" for t, n in parts) + " |")
    return "\n".join(lines) + "\n"
