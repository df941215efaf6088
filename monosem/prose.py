"""Numbers and words for the chapters' prose and claims tables, each written one way for every chapter: a result's
seeds in words, the scale a chapter ran at, values grouped by learning rate (median over seeds), and the formats
of a number in the text (a spread over seeds, a rank correlation, a density as a power of two, a share of the
bias, a list of values, a grid of every profile). Reads results; trains nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch
from torch import Tensor

from monosem.profiles import PerProfile, Profile
from monosem.results import SweepResult

T = TypeVar("T")


def seeds_text(result: SweepResult) -> dict[str, Any]:
    """How many seeds a result has, as numbers and words for the prose: `n_seeds`, `seeds_text` ("3 seeds",
    "one seed") and `seeds_note` (what "median [min, max]" is over, or how to get seeds)."""
    n = len(set(result.values("seed")))
    many = n > 1
    return {
        "n_seeds": n,
        "seeds_text": f"{n} seeds" if many else "one seed",
        "seeds_note": "Numbers quoted as median [min, max] are over the seeds."
        if many
        else "With one seed a number is that seed's; `python -m monosem train --seeds 3` adds two more, and the "
        "chapter then quotes median [min, max] over them and draws their range as a band.",
    }


def scale_numbers(profile: Profile, trained: Iterable[SweepResult]) -> dict[str, Any]:
    """The profile's scale and the recorded training time of the sweeps a chapter trains itself (a cached file
    counted once when several results are parts of it)."""
    seconds = {r.meta.get("path", id(r)): r.seconds for r in trained}
    return {
        "profile": profile.name,
        "N": profile.n_features,
        "d": profile.d_embed,
        "k": profile.d_hidden,
        "batch": profile.batch_size,
        "steps": profile.n_steps,
        "n_lrs": len(profile.lrs),
        "lr_focus": profile.lr_focus,
        "minutes": sum(seconds.values()) / 60,
    }


def by_lr(result: SweepResult, values: Tensor, field: str = "lr") -> dict[float, Tensor]:
    """Per-instance `values` (n, ...) grouped by learning rate (or another `field`; over seeds), ascending."""
    keys = result.values(field)
    return {key: values[[i for i, v in enumerate(keys) if v == key]] for key in sorted(set(keys))}


def median_by_lr(result: SweepResult, values: Tensor, field: str = "lr") -> dict[float, float]:
    """The median over seeds of per-instance `values` (n,), per learning rate (or another `field`)."""
    return {key: float(v.float().median()) for key, v in by_lr(result, values, field).items()}


def converged_lrs(result: SweepResult) -> list[float]:
    """The learning rates at which every seed's loss has settled (`SweepResult.converged`)."""
    return [lr for lr, ok in by_lr(result, result.converged()).items() if bool(ok.all())]


def lr_list(values: dict[float, float], fmt: str = ".2f") -> str:
    """Values by learning rate: "0.12 (lr 0.003), 0.45 (lr 0.03)"."""
    return ", ".join(f"{v:{fmt}} (lr {lr:g})" for lr, v in values.items())


def listed(values: Iterable[float]) -> str:
    """Swept values in words: "0.001, 0.01, 0.1"."""
    return ", ".join(f"{v:g}" for v in values)


def spread(values: Tensor | list[float], fmt: str = ".2f") -> str:
    """median [min, max] of several seeds' values (just the value when there is one)."""
    t = torch.as_tensor(values, dtype=torch.float64).flatten()
    if t.numel() == 1:
        return format(float(t), fmt)
    return f"{float(t.median()):{fmt}} [{float(t.min()):{fmt}}, {float(t.max()):{fmt}}]"


def number_text(value: float, fmt: str = ".2f") -> str:
    """A number for the prose, or "n/a" where there is nothing to measure (nan)."""
    return "n/a" if math.isnan(value) else format(value, fmt)


def rho_text(value: float, of: str = "lrs") -> str:
    """A rank correlation, signed ("+0.83"), or why there is none: "n/a (fewer than 3 <of>)" (nan)."""
    return f"n/a (fewer than 3 {of})" if value != value else f"{value:+.2f}"


def eps_text(eps: float) -> str:
    """A density as a power of two: 2^-5, 2^-2.5 (to one decimal of the exponent); "-" where there is none."""
    return f"2^{round(math.log2(eps), 1):g}" if eps > 0 and math.isfinite(eps) else "-"


def share_text(x: float) -> str:
    """A share of the bias in words: 48.0 %, 0.9 %, less than 0.1 %."""
    return f"{x:.1%}" if x >= 0.001 else "less than 0.1 %"


def grid_texts(grids: PerProfile[T], text: Callable[[T], str]) -> dict[str, str]:
    """A chapter's grid at every profile, in words, for the prose: `grid_<profile>` -> `text(grid)`."""
    return {f"grid_{name}": text(grid) for name, grid in grids.items()}
