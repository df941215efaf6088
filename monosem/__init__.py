"""monosem: re-deriving *Engineering Monosemanticity in Toy Models* (Jermyn, Schiefer, Hubinger, 2022)."""

__version__ = "0.1.0"

from monosem import claims, plotting, results  # noqa: E402
from monosem.config import ModelConfig, Sweep, make_sweep  # noqa: E402
from monosem.profiles import PROFILES, Profile, get_profile  # noqa: E402
from monosem.results import SweepResult, load_or_train  # noqa: E402
from monosem.training import train  # noqa: E402

__all__ = [
    "PROFILES",
    "claims",
    "plotting",
    "results",
    "ModelConfig",
    "Profile",
    "Sweep",
    "SweepResult",
    "get_profile",
    "load_or_train",
    "make_sweep",
    "train",
]
