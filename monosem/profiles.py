"""Profiles (`ci`, `cpu`, `paper`) and the batches of the paper's Table 1 at each profile's scale.

`paper` is Table 1 exactly. `cpu` scales N, d and k down by the same factor (keeping N/d, k/N, eps and so
eps N / d fixed), and uses a smaller batch and fewer steps; the period of the lr schedule (2^10 steps) is
not scaled. `ci` is the same shape at toy size, to check that the code runs, not what it finds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from monosem import __version__
from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.results import SweepResult, load_or_train

PAPER_LRS = (0.001, 0.003, 0.005, 0.007, 0.01, 0.03)


@dataclass(frozen=True)
class Profile:
    name: str
    n_features: int
    d_embed: int
    d_hidden: int
    batch_size: int
    n_steps: int
    lrs: tuple[float, ...]
    description: str

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

    def sweep(self, batch: str) -> Sweep:
        """The Table 1 batch `batch` (e.g. "LR1") at this profile's scale."""
        if batch not in BATCHES:
            raise ValueError(f"unknown batch {batch!r}; valid batches: {', '.join(BATCHES)}")
        return BATCHES[batch](self)

    @property
    def cache_dir(self) -> Path:
        return results_root() / self.name

    def run(self, batch: str | Sweep, progress: bool = True) -> SweepResult:
        """The trained result of a Table 1 batch (or any sweep), from the cache when it is there."""
        sweep = self.sweep(batch) if isinstance(batch, str) else batch
        return load_or_train(sweep, self.cache_dir, version=__version__, progress=progress)


PROFILES = {
    "ci": Profile("ci", 64, 8, 128, 64, 2**8, (0.003, 0.01, 0.03), "toy size: checks that the code runs"),
    "cpu": Profile(
        "cpu", 256, 32, 512, 256, 2**14, PAPER_LRS, "Table 1 scaled down 2x in N, d, k; batch 256, 2^14 steps"
    ),
    "paper": Profile("paper", 512, 64, 1024, 2**23 // 1024, 2**17, PAPER_LRS, "Table 1 exactly (for a GPU)"),
}


def get_profile(name: str = "auto") -> Profile:
    """A profile by name; "auto" is `paper` when CUDA is available, else `cpu`."""
    if name == "auto":
        name = "paper" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; valid profiles: auto, {', '.join(PROFILES)}")
    return PROFILES[name]


def results_root() -> Path:
    """Where cached results live: $MONOSEM_RESULTS, else `results/` in the source checkout, else
    ~/.cache/monosem."""
    if "MONOSEM_RESULTS" in os.environ:
        return Path(os.environ["MONOSEM_RESULTS"])
    repo = Path(__file__).resolve().parents[1]
    if (repo / "_toc.yml").exists():
        return repo / "results"
    return Path.home() / ".cache" / "monosem"


def _lr_batch(name: str, **fixed: Any):
    return lambda p: make_sweep(name, p.base(**fixed), lr=p.lrs)


# Table 1 rows that are one batched model each. The width sweeps (K0-K2) change tensor shapes and are
# built chapter-side from one sweep per width.
BATCHES = {
    "LR1": _lr_batch("LR1"),
    "LR2": _lr_batch("LR2", freq="power"),
    "LR3": _lr_batch("LR3", bias_decay=0.03, init_bias=-1.0),
    "LR4": _lr_batch("LR4", freq="power", bias_decay=0.03, init_bias=-1.0),
}
