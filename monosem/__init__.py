"""monosem: re-deriving *Engineering Monosemanticity in Toy Models* (Jermyn, Schiefer, Hubinger, 2022).

The chapters use this package as `import monosem as ms`: each chapter of the registry (`monosem.chapters.CHAPTERS`)
is `ms.<name>` (its analysis and what it trains, with its figures as `ms.<name>.figures`), the figures several
chapters draw are `ms.figures`. Chapters and figures are imported when first named, so that `python -m monosem
train` loads no plotting. Modules inside the package never import this file: they import each other by their full
names (see the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import importlib
from typing import Any

from monosem import chapters, claims, paper, prose, tables
from monosem.cache import Cache
from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.profiles import PROFILES, Profile, get_profile
from monosem.results import SweepResult
from monosem.training import train
from monosem.version import __version__

CHAPTERS = {c.name: c for c in chapters.CHAPTERS}


def __getattr__(name: str) -> Any:
    """`ms.figures` and `ms.<chapter>` (with its `figures`), imported when first named."""
    if name == "figures":
        module = importlib.import_module("monosem.figures")
    elif name in CHAPTERS:
        module = chapters.analysis(CHAPTERS[name])
        if not CHAPTERS[name].summary:
            importlib.import_module(f"{CHAPTERS[name].module}.figures")
    else:
        raise AttributeError(f"module 'monosem' has no attribute {name!r}")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted([*globals(), "figures", *CHAPTERS])


__all__ = [
    "PROFILES",
    "Cache",
    "ModelConfig",
    "Profile",
    "Sweep",
    "SweepResult",
    "__version__",
    "chapters",
    "claims",
    "get_profile",
    "make_sweep",
    "paper",
    "prose",
    "tables",
    "train",
    *CHAPTERS,
    "figures",
]
