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
    # initial mean biases of the B1-B5 sweeps, and the (lr, initial bias) grid of the GeLU sweep
    biases: tuple[float, ...] = (0.0, -0.05, -0.1, -0.25, -0.5, -1.0)
    gelu_lrs: tuple[float, ...] = (0.003, 0.005, 0.01)
    gelu_biases: tuple[float, ...] = (0.0, -0.5, -1.0, -2.0)
    # the learning rate at which chapters compare single models side by side
    lr_focus: float = 0.005

    def __post_init__(self) -> None:
        if self.lr_focus not in self.lrs:
            raise ValueError(f"lr_focus {self.lr_focus} must be one of the profile's lrs {self.lrs}")

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

    def run_b_sweeps(self) -> dict[str, SweepResult]:
        """B1-B5, labelled with their densities."""
        return {f"{name} (ε = 1/{round(1 / eps)})": self.run(name) for name, (eps, _) in B_BATCHES.items()}

    def run(self, batch: str | Sweep, progress: bool = True) -> SweepResult:
        """The trained result of a Table 1 batch (or any sweep), from the cache when it is there."""
        sweep = self.sweep(batch) if isinstance(batch, str) else batch
        return load_or_train(sweep, self.cache_dir, version=__version__, progress=progress)


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
        biases=(0.0, -1.0),
        gelu_lrs=(0.01,),
        gelu_biases=(0.0, -1.0),
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
        # fewer points than `paper` so that the whole book trains in well under an hour on two cores
        biases=(0.0, -0.1, -0.25, -0.5, -1.0),
        gelu_lrs=(0.003, 0.01),
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
        biases=(0.0, -0.05, -0.1, -0.25, -0.5, -1.0, -2.0),
    ),
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


# Table 1's densities and bias decays of B1-B5 (the densest data needs the fastest decay).
B_BATCHES = {
    "B1": (1 / 16, 0.03),
    "B2": (1 / 32, 0.003),
    "B3": (1 / 64, 0.003),
    "B4": (1 / 128, 0.003),
    "B5": (1 / 256, 0.003),
}


def _bias_batch(name: str):
    eps, decay = B_BATCHES[name]
    return lambda p: make_sweep(name, p.base(lr=0.003, eps=eps, bias_decay=decay), init_bias=p.biases)


def _doubled(p: Profile) -> Sweep:
    """LR3's recipe with N, d and k doubled, at two learning rates: a second embedding dimension for the
    d + 1 law (claim 5)."""
    base = p.base(
        n_features=2 * p.n_features, d_embed=2 * p.d_embed, d_hidden=2 * p.d_hidden, bias_decay=0.03, init_bias=-1.0
    )
    return make_sweep("LR3x2", base, lr=(0.005, 0.007))


# Table 1 rows that are one batched model each, plus LR3x2. The width sweeps (K0-K2) change tensor shapes
# and are built from one sweep per width.
BATCHES = {
    "LR1": _lr_batch("LR1"),
    "LR2": _lr_batch("LR2", freq="power"),
    "LR3": _lr_batch("LR3", bias_decay=0.03, init_bias=-1.0),
    "LR4": _lr_batch("LR4", freq="power", bias_decay=0.03, init_bias=-1.0),
    **{name: _bias_batch(name) for name in B_BATCHES},
    "GELU": lambda p: make_sweep(
        "GELU", p.base(activation="gelu", bias_decay=0.03), lr=p.gelu_lrs, init_bias=p.gelu_biases
    ),
    "LR3x2": _doubled,
}
