"""Profiles (`ci`, `cpu`, `paper`): the scale at which every experiment runs, and nothing else.

`paper` is the scale of Table 1 exactly. `cpu` scales N, d and k down by the same factor (keeping N/d, k/N,
eps and so eps N / d fixed), and uses a smaller batch and fewer steps; the period of the lr schedule (2^10
steps) is not scaled. `long` is `cpu`'s shapes and grids at the paper's run length: the recipe's clock is steps
(the bias decay acts once per step), so the steps, not the batch, decide whether a model settles. `ci` is the same
shape at toy size, to check that the code runs, not what it finds. What each chapter sweeps at each profile (its
grid) belongs to the chapter's experiment module; a profile may borrow another's grids (`grids`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from monosem.config import ModelConfig, require

PAPER_LRS = (0.001, 0.003, 0.005, 0.007, 0.01, 0.03)

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """N (`n_features`), d (`d_embed`), k (`d_hidden`), batch size and steps of the default model; the learning
    rates of the lr sweeps, and `lr_focus`, the one at which chapters compare single models side by side."""

    name: str
    n_features: int
    d_embed: int
    d_hidden: int
    batch_size: int
    n_steps: int
    lrs: tuple[float, ...]
    description: str
    lr_focus: float = 0.005
    # the profile whose grids (what each chapter sweeps) this one uses: its own name when empty
    grids: str = ""

    def __post_init__(self) -> None:
        require(self.lr_focus in self.lrs, "lr_focus", f"one of the profile's lrs {self.lrs}", self.lr_focus)

    def base(self, **changes: Any) -> ModelConfig:
        """The profile's default model (Table 1's LR1 row) with `changes` applied."""
        cfg = ModelConfig(
            n_features=self.n_features,
            d_embed=self.d_embed,
            d_hidden=self.d_hidden,
            batch_size=self.batch_size,
            n_steps=self.n_steps,
        )
        return cfg.replace(**changes)

    def batch_for(self, k: int) -> int:
        """Table 1's batch rule, 2^23 / k, at the profile's scale: batch x k stays at the profile's default (the
        `paper` profile's 8192 x 1024 = 2^23), so that every width costs about the same per step."""
        total = self.batch_size * self.d_hidden
        if total % k:
            raise ValueError(f"k = {k} does not divide batch x k = {total} of profile {self.name!r}")
        return total // k


class PerProfile(dict[str, T]):
    """A table with one entry per profile, such as a chapter's grids (`GRIDS`) or the seeds of a row: `what` names
    it in the error of a profile it has no entry for. `GRIDS.of(profile)` is the one way a chapter reads it."""

    def __init__(self, what: str, entries: dict[str, T]) -> None:
        super().__init__(entries)
        self.what = what

    def of(self, profile: Profile) -> T:
        """The entry of `profile`, read under the name of the profile whose grids it uses (`Profile.grids`)."""
        name = profile.grids or profile.name
        if name not in self:
            raise ValueError(f"{self.what} has no entry for profile {profile.name!r}; it has {', '.join(self)}")
        return self[name]


PROFILES = {
    "ci": Profile(
        name="ci",
        n_features=64,
        d_embed=8,
        d_hidden=128,
        batch_size=64,
        n_steps=2**8,
        lrs=(0.003, 0.005, 0.03),
        description="toy size: checks that the code runs",
    ),
    "cpu": Profile(
        name="cpu",
        n_features=256,
        d_embed=32,
        d_hidden=512,
        batch_size=256,
        n_steps=2**14,
        lrs=PAPER_LRS,
        description="Table 1 scaled down 2x in N, d, k; batch 256, 2^14 steps",
    ),
    "paper": Profile(
        name="paper",
        n_features=512,
        d_embed=64,
        d_hidden=1024,
        batch_size=2**23 // 1024,
        n_steps=2**17,
        lrs=PAPER_LRS,
        description="Table 1 exactly (for a GPU)",
    ),
}


# `cpu`'s shapes and grids at the paper's run length (the recipe's clock is steps: see the module docstring)
PROFILES["long"] = dataclasses.replace(
    PROFILES["cpu"],
    name="long",
    n_steps=PROFILES["paper"].n_steps,
    description="cpu's shapes and grids at the paper's run length, 2^17 steps",
    grids="cpu",
)
PROFILES = {name: PROFILES[name] for name in ("ci", "cpu", "long", "paper")}


def get_profile(name: str = "auto") -> Profile:
    """A profile by name; "auto" is `paper` when CUDA is available, else `cpu` (the command line decides "auto"
    itself, `pipeline.default_profile`: `long` there once its results are all committed)."""
    if name == "auto":
        name = "paper" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; valid profiles: auto, {', '.join(PROFILES)}")
    return PROFILES[name]
