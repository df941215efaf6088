"""What several chapters share: the lr sweep of Table 1's LR rows, and the numbers every chapter page states."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monosem.config import Sweep, make_sweep
from monosem.profiles import Profile
from monosem.results import SweepResult


def lr_sweep(profile: Profile, name: str, **fixed: Any) -> Sweep:
    """A Table 1 row that sweeps the learning rate over the profile's lrs, with `fixed` fields set."""
    return make_sweep(name, profile.base(**fixed), lr=profile.lrs)


def scale_numbers(profile: Profile, trained: Iterable[SweepResult]) -> dict[str, Any]:
    """The profile's scale and the recorded training time of the sweeps a chapter trains itself."""
    trained = list(trained)
    return {
        "profile": profile.name,
        "N": profile.n_features,
        "d": profile.d_embed,
        "k": profile.d_hidden,
        "batch": profile.batch_size,
        "steps": profile.n_steps,
        "n_lrs": len(profile.lrs),
        "lr_focus": profile.lr_focus,
        "minutes": sum(r.seconds for r in trained) / 60,
    }
