"""Numbers and words for the chapters' prose that several chapters share: a result's seeds in words, the scale a
chapter ran at, values grouped by learning rate (median over seeds). Reads results; trains nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import Tensor

from monosem.profiles import Profile
from monosem.results import SweepResult


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
    return ", ".join(f"{v:{fmt}} (lr {lr:g})" for lr, v in values.items())
