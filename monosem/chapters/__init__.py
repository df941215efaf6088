"""The book's chapters, in order: one registry that the command line (`train`, `export`, `list`), the book
pipeline, the scorecard, `_toc.yml` (checked by a test) and `import monosem as ms` (`ms.<name>`) all read.

Each chapter is a folder `monosem/chapters/<name>/` beside its page `book/NN_<name>.py`:
- `train.py`: what it trains at each profile: `sweeps(profile) -> list[Sweep]` (a sweep another chapter also
  trains is trained once: the cache key is the configuration), `WEIGHTS` (the sweeps whose final weights its
  figures need, kept in the compact results) and, optionally, `compute(profile, cache=None, progress=True) ->
  float`: what it trains besides sweeps of the toy model (cached with `Cache.get_or_compute`), returning the
  recorded training seconds. It imports neither the chapter's analysis nor its figures, so that `python -m monosem
  train` runs without the plotting stack;
- the analysis (`analysis.py`, or the package itself for a small chapter): `load(profile, cache=None)`, the
  trained results read from the cache, never trained (a missing result raises `NotTrained`, which names the
  command that trains it); `findings(results) -> list[claims.Finding]`; `glue_values(results) -> dict`, the values
  glued into the prose;
- `figures.py`: the figures only this chapter draws (those several chapters draw are in `monosem.figures`).
Chapters are peers: a chapter imports the core, `monosem.paper` (Table 1's shared rows, the recipe, shared
thresholds), `monosem.prose`, `monosem.claims` and `monosem.figures`, never another chapter (an import-linter
contract in pyproject.toml). The scorecard is a page built from the others: it reads them through this registry.

How to add a chapter:
1. its folder `monosem/chapters/<name>/` with `__init__.py`, `train.py`, its analysis and `figures.py` (copy a
   small chapter such as `sparsity`);
2. its page `book/NN_<name>.py` (the skeleton of `book/01_basins.py`), reading `ms.<name>.load(P)`;
3. one line in `CHAPTERS` below (its number, name and whether it goes beyond the paper);
4. its page in `_toc.yml` (tests/test_book.py checks that `_toc.yml` lists the registry's pages in order).
The import-linter contracts in pyproject.toml cover the new folder as they are (`monosem.chapters.*`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from monosem.cache import Cache, CacheError
from monosem.profiles import Profile

BOOK = Path(__file__).resolve().parents[2] / "book"


@dataclass(frozen=True)
class Chapter:
    """One chapter: its number and name (its page is `book/NN_<name>.py`, its code `monosem.chapters.<name>`);
    `beyond_paper`: a chapter beyond the paper, whose findings the claims scorecard leaves out; `summary`: a page
    built from the other chapters' results (the scorecard), which trains nothing of its own."""

    number: int
    name: str
    beyond_paper: bool = False
    summary: bool = False

    @property
    def page(self) -> str:
        """The page's name, e.g. "01_basins" (the notebook's file stem, the name `python -m monosem run` takes)."""
        return f"{self.number:02d}_{self.name}"

    @property
    def notebook(self) -> Path:
        return BOOK / f"{self.page}.py"

    @property
    def module(self) -> str:
        return f"monosem.chapters.{self.name}"


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(0, "scorecard", summary=True),
    Chapter(1, "basins"),
    Chapter(2, "negative_bias"),
    Chapter(3, "l1"),
    Chapter(4, "width"),
    Chapter(5, "sparsity"),
    Chapter(6, "other_tasks"),
    Chapter(7, "mechanism"),
    Chapter(8, "sparse_autoencoders", beyond_paper=True),
    Chapter(9, "incidental_polysemanticity", beyond_paper=True),
    Chapter(10, "open_questions", beyond_paper=True),
)


def paper_chapters() -> list[Chapter]:
    """The chapters that test the paper's claims (not the scorecard, not those beyond the paper)."""
    return [c for c in CHAPTERS if not c.beyond_paper and not c.summary]


def get(name: str) -> Chapter:
    """A chapter by its page ("01_basins"), its name ("basins") or its number ("1", "01")."""
    for chapter in CHAPTERS:
        # isascii: "²" and "١" are digits to str.isdigit, but no chapter's number
        if name in (chapter.page, chapter.name) or (name.isascii() and name.isdigit() and int(name) == chapter.number):
            return chapter
    raise ValueError(f"unknown chapter {name!r}; valid chapters: {', '.join(c.page for c in CHAPTERS)}")


def trains(chapter: Chapter) -> list[Chapter]:
    """The chapters whose training `chapter` needs: itself, or for a summary page every paper chapter."""
    return paper_chapters() if chapter.summary else [chapter]


def train_part(chapter: Chapter) -> ModuleType:
    """What a chapter trains (`monosem.chapters.<name>.train`): importing it imports no plotting."""
    return importlib.import_module(f"{chapter.module}.train")


def analysis(chapter: Chapter) -> ModuleType:
    """A chapter's package: its analysis (`load`, `findings`, `glue_values`) and what it trains."""
    return importlib.import_module(chapter.module)


class NotTrained(CacheError):
    """A chapter read a result that is not in the cache: a page never trains, `python -m monosem train` does."""


class Reader(Cache):
    """A read-only view of a cache for a chapter's `load`: what is missing raises NotTrained, naming the command
    that trains it, instead of training it."""

    def __init__(self, cache: Cache, profile: Profile, chapter: str) -> None:
        super().__init__(cache.root, cache.version, read_only=True)
        self.command = f"python -m monosem train --profile {profile.name} --chapter {chapter}"

    def get_or_train(self, sweep, train=None, *, device=None, progress=False):  # type: ignore[override]
        try:
            return super().get_or_train(sweep, train, device=device, progress=False)
        except NotTrained:
            raise
        except CacheError as err:
            raise NotTrained(f"{err}: train it first with `{self.command}`") from None

    def get_or_compute(self, name, config, compute):  # type: ignore[override]
        try:
            return super().get_or_compute(name, config, compute)
        except NotTrained:
            raise
        except CacheError as err:
            raise NotTrained(f"{err}: train it first with `{self.command}`") from None


def reader(profile: Profile, cache: Cache | None, chapter: str) -> Reader:
    """The read-only view of `cache` (by default the profile's) through which chapter `chapter` loads its
    results; a view already (the scorecard's, passed on to the chapters it reads) is kept, with its command."""
    if isinstance(cache, Reader):
        return cache
    return Reader(cache if cache is not None else Cache.for_profile(profile.name), profile, chapter)
