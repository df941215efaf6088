"""monosem: re-deriving *Engineering Monosemanticity in Toy Models* (Jermyn, Schiefer, Hubinger, 2022).

The chapters use this package as `import monosem as ms`: each chapter of the registry (`monosem.chapters.CHAPTERS`)
is `ms.<name>` (its analysis and what it trains, with its figures as `ms.<name>.figures`), the figures several
chapters draw are `ms.figures`. Every name is imported when first named, so that `python -m monosem train`
loads no plotting. Modules inside the package never import this file: they import each other by their full
names (see the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from monosem.version import __version__ as __version__

# Everything else is imported when first named (PEP 562), so that importing the package costs nothing: `python -m
# monosem` imports it before its command line, and answers a Ctrl-C during PyTorch's import, or a Python without
# the packages, with one line (`monosem/__main__.py`), not a traceback.
_NAMES = {
    "PROFILES": ("monosem.profiles", "PROFILES"),
    "Profile": ("monosem.profiles", "Profile"),
    "get_profile": ("monosem.profiles", "get_profile"),
    "Cache": ("monosem.cache", "Cache"),
    "ModelConfig": ("monosem.config", "ModelConfig"),
    "Sweep": ("monosem.config", "Sweep"),
    "make_sweep": ("monosem.config", "make_sweep"),
    "SweepResult": ("monosem.results", "SweepResult"),
    "train": ("monosem.training", "train"),
    "chapters": ("monosem.chapters", None),
    "claims": ("monosem.claims", None),
    "paper": ("monosem.paper", None),
    "prose": ("monosem.prose", None),
    "tables": ("monosem.tables", None),
    "figures": ("monosem.figures", None),
}


def _chapters() -> dict[str, Any]:
    from monosem import chapters

    return {c.name: c for c in chapters.CHAPTERS}


def __getattr__(name: str) -> Any:
    """The names of `__all__` and `ms.<chapter>` (with its `figures`), imported when first named."""
    if name == "__all__":
        return ["__version__", *_NAMES, *_chapters()]
    if name in _NAMES:
        module, attr = _NAMES[name]
        value = importlib.import_module(module)
        value = getattr(value, attr) if attr else value
    elif name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # a submodule not imported yet (`from monosem import training` asks here first): the import system's to load
        raise AttributeError(f"module 'monosem' has no attribute {name!r}")
    elif name in (by_name := _chapters()):
        from monosem import chapters

        value = chapters.analysis(by_name[name])
        if not by_name[name].summary:
            importlib.import_module(f"{by_name[name].module}.figures")
    else:
        raise AttributeError(f"module 'monosem' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES, *_chapters()})
