"""What chapter 2 trains at each profile: LR1-LR4 (`monosem.paper`), B1-B5, the GeLU sweep, LR3 at a second
embedding dimension (LR3d2, LR3x2) and, where the profile's initial weight norms differ from the paper's, LR3 with
LAMB's clamp scaled (LR3clamp).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.model import ToyModel
from monosem.paper import RECIPE, lr1, lr2, lr3, lr4, lr_sweep
from monosem.profiles import PROFILES, PerProfile, Profile

__all__ = [
    "WEIGHTS",
    "B_BATCHES",
    "B_LR",
    "D_LRS",
    "CLAMP_NAME",
    "CLAMP_DECIMALS",
    "Grid",
    "GRIDS",
    "b_sweep",
    "gelu",
    "lr3_doubled",
    "lr3_wide_embedding",
    "LAMB_CLAMP",
    "initial_norms",
    "clamp_ratio",
    "scaled_clamp",
    "lr3_clamp",
    "sweeps",
    "lr3",
]

WEIGHTS = {"LR3"}


# Table 1's densities and bias decays of B1-B5 (the densest data needs the fastest decay).
B_BATCHES = {
    "B1": (1 / 16, 0.03),
    "B2": (1 / 32, 0.003),
    "B3": (1 / 64, 0.003),
    "B4": (1 / 128, 0.003),
    "B5": (1 / 256, 0.003),
}


B_LR = 0.003


# The two learning rates of the claim-5 sweeps at a second d (LR3d2, LR3x2), at every profile; claim 5 reports and
# tests the count at both. (They were chosen in an early `cpu` build as the lrs where LR3 was most monosemantic; the
# counts were not looked at. A later `cpu` grid kept only the one at which LR3x2 had settled: a choice made after
# seeing the result, undone.)
D_LRS = (0.005, 0.007)


# The sweep of LR3 with LAMB's weight clamp scaled by the ratio of the profile's initial weight norms to the paper's.
CLAMP_NAME = "LR3clamp"


# The scaled clamp is rounded to this many decimals: it enters the cache key, which must not hang on the last bit of
# a sum of floats (the rounding moves the clamp by at most 0.005 in about 7).
CLAMP_DECIMALS = 2


@dataclass(frozen=True)
class Grid:
    """What this chapter sweeps at one profile: which of B1-B5 and their initial biases, the (lr, initial bias)
    grid of the GeLU sweep, and the lrs of the second-d sweeps LR3x2 and LR3d2."""

    biases: tuple[float, ...]
    gelu_lrs: tuple[float, ...]
    gelu_biases: tuple[float, ...] = (0.0, -0.5, -1.0, -2.0)
    b_batches: tuple[str, ...] = tuple(B_BATCHES)
    doubled_lrs: tuple[float, ...] = D_LRS

    def __post_init__(self) -> None:
        unknown = set(self.b_batches) - set(B_BATCHES)
        if unknown or not self.b_batches:
            raise ValueError(f"B batches must be a non-empty subset of {', '.join(B_BATCHES)}; got {self.b_batches}")


GRIDS = PerProfile(
    "chapter negative_bias's grid",
    {
        "ci": Grid(biases=(0.0, -1.0), gelu_lrs=(0.01,), gelu_biases=(0.0, -1.0)),
        # Fewer points than `paper` so that the whole book trains within its 90 minutes on two cores (measured: see
        # the introduction). B4 and B5 are left out: at this run length their decay of 0.003 leaves the bias almost
        # where it started and an earlier `cpu` run of B2-B5 at initial bias -1 learned almost nothing (chapter 5
        # leaves out E3 and E4 for the same reason). -0.25 is dropped from the biases: it is -sqrt(eps) of B1 itself.
        "cpu": Grid(biases=(0.0, -0.1, -0.5, -1.0), gelu_lrs=(0.005,), b_batches=("B1", "B2", "B3")),
        "paper": Grid(biases=(0.0, -0.05, -0.1, -0.25, -0.5, -1.0, -2.0), gelu_lrs=(0.003, 0.005, 0.01)),
    },
)


def b_sweep(profile: Profile, name: str) -> Sweep:
    eps, decay = B_BATCHES[name]
    base = profile.base(lr=B_LR, eps=eps, bias_decay=decay)
    return make_sweep(name, base, init_bias=GRIDS.of(profile).biases)


def gelu(profile: Profile) -> Sweep:
    g = GRIDS.of(profile)
    base = profile.base(activation="gelu", bias_decay=RECIPE["bias_decay"])
    return make_sweep("GELU", base, lr=g.gelu_lrs, init_bias=g.gelu_biases)


def lr3_doubled(profile: Profile) -> Sweep:
    """LR3's recipe with N, d and k doubled, at two learning rates: a second embedding dimension for the
    d + 1 law (claim 5)."""
    base = profile.base(
        n_features=2 * profile.n_features, d_embed=2 * profile.d_embed, d_hidden=2 * profile.d_hidden, **RECIPE
    )
    return make_sweep("LR3x2", base, lr=GRIDS.of(profile).doubled_lrs)


def lr3_wide_embedding(profile: Profile) -> Sweep:
    """LR3's recipe with d doubled and N, k fixed, the paper's way of testing d + 1 at a second d (Fig. 11:
    d = 128 at N = 512, k = 1024), at the lrs of LR3x2."""
    return make_sweep("LR3d2", profile.base(d_embed=2 * profile.d_embed, **RECIPE), lr=GRIDS.of(profile).doubled_lrs)


# LAMB's ceiling on the weight norm in the recipe (torch_optimizer.Lamb's default).
LAMB_CLAMP = ModelConfig().weight_clamp


@lru_cache
def initial_norms(profile: Profile) -> dict[str, float]:
    """The norms of LR3's initial W_in, b_in and W_out at the profile's scale (seed 0): with PyTorch's default
    initialisation about sqrt(k / 3), sqrt(k) (the initial bias -1 dominates) and sqrt(N / 3)."""
    model = ToyModel.init((profile.base(seed=0, **RECIPE),))
    return {name: float(w.norm()) for name, w in zip(("W_in", "b_in", "W_out"), model.params, strict=True)}


def clamp_ratio(profile: Profile) -> float:
    """The profile's initial W_in norm over the paper's: LAMB's step is lr x min(norm, clamp) per unit of update, so
    the same clamp is a larger step relative to smaller weights; 1 at the paper's scale."""
    return initial_norms(profile)["W_in"] / initial_norms(PROFILES["paper"])["W_in"]


def scaled_clamp(profile: Profile) -> float:
    """LAMB's clamp scaled by `clamp_ratio`, rounded to CLAMP_DECIMALS."""
    return round(LAMB_CLAMP * clamp_ratio(profile), CLAMP_DECIMALS)


def lr3_clamp(profile: Profile) -> Sweep | None:
    """LR3 over the profile's lrs with the clamp scaled to the profile's initial weight norms (`scaled_clamp`), or
    None at the paper's scale, where it would be LR3 itself."""
    clamp = scaled_clamp(profile)
    if clamp == LAMB_CLAMP:
        return None
    return lr_sweep(profile, CLAMP_NAME, weight_clamp=clamp, **RECIPE)


def sweeps(profile: Profile) -> list[Sweep]:
    clamp = lr3_clamp(profile)
    return [
        lr1(profile),
        lr2(profile),
        lr3(profile),
        lr4(profile),
        *(b_sweep(profile, name) for name in GRIDS.of(profile).b_batches),
        gelu(profile),
        lr3_doubled(profile),
        lr3_wide_embedding(profile),
        *([clamp] if clamp is not None else []),
    ]
