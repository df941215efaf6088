"""monosem: re-deriving *Engineering Monosemanticity in Toy Models* (Jermyn, Schiefer, Hubinger, 2022).

The chapters use this package as `import monosem as ms`. Modules inside it never import this file: they import
each other by their full names (see the import-linter contracts in pyproject.toml).
"""

from monosem import claims, experiments, plotting, tables
from monosem.cache import Cache
from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.experiments import (
    basins,
    incidental_polysemanticity,
    l1,
    mechanism,
    negative_bias,
    other_tasks,
    scorecard,
    sparse_autoencoders,
    sparsity,
    width,
)
from monosem.profiles import PROFILES, Profile, get_profile
from monosem.results import SweepResult
from monosem.training import train
from monosem.version import __version__

__all__ = [
    "PROFILES",
    "Cache",
    "ModelConfig",
    "Profile",
    "Sweep",
    "SweepResult",
    "__version__",
    "basins",
    "claims",
    "experiments",
    "get_profile",
    "incidental_polysemanticity",
    "l1",
    "make_sweep",
    "mechanism",
    "negative_bias",
    "other_tasks",
    "plotting",
    "scorecard",
    "sparse_autoencoders",
    "sparsity",
    "tables",
    "train",
    "width",
]
