"""What chapter 10 trains at each profile, one group of models per question.

1. Why d + 1 (`d_sweeps`): the recipe's model at lr_focus at two embedding dimensions d, each without and with an
   output bias (`ModelConfig.out_bias`). N and k scale with d as the profile's own N / d and k / d, so that eps N / d
   stays the profile's.
2. The basins (`paths_sweep`, `reinit`): LR1's models at the profile's lowest and highest lr, and the model at the
   highest lr trained again from another initialisation (the same projection and data stream: the seed fixes them,
   so a second seed would be a second task), the control of the path between them.
3. A recipe that is not fragile (`robust_sweeps`): a regularizer towards negative bias (`ModelConfig.bias_push`, at
   one strength, from zero initial bias) and the paper's recipe (initial bias -1, decay 0.03), on the same settings
   of lr and feature density, at the smaller d of question 1 (the recipe's model at lr_focus and eps there is
   question 1's, trained once).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from monosem import training
from monosem.cache import Cache
from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.model import ToyModel
from monosem.paper import E_LR, RECIPE
from monosem.profiles import PerProfile, Profile
from monosem.results import SweepResult

__all__ = [
    "BIAS_PUSH",
    "GRIDS",
    "Grid",
    "REINIT_OFFSET",
    "WEIGHTS",
    "at_dim",
    "compute",
    "control_sweep",
    "d_sweep",
    "d_sweeps",
    "paths_sweep",
    "reinit",
    "robust_sweeps",
    "settings",
    "sweeps",
]


@dataclass(frozen=True)
class Grid:
    """The two embedding dimensions of question 1, smaller first; question 3's settings, (lr, eps) pairs: the
    profile's lowest and highest lr at its eps, and a sparser eps at Table 1's E-row lr."""

    dims: tuple[int, int]
    sparse_eps: float


GRIDS = PerProfile(
    "chapter open_questions' grid",
    {
        "ci": Grid(dims=(6, 8), sparse_eps=1 / 128),
        # d = 24 costs about 0.56 of d = 32 per step (N and k scale with d); the sparse eps: below the model's
        # default eps (1/64): 1/128 is one octave below it at ci and cpu, 1/256 two at paper
        "cpu": Grid(dims=(24, 32), sparse_eps=1 / 128),
        "paper": Grid(dims=(48, 64), sparse_eps=1 / 256),
    },
)


# Question 3's regularizer, at one strength for every setting: bias_push x (the fraction of the batch on which a
# neuron fires) added to its bias's gradient. Chosen before the runs it is judged on, from a pilot of 2^12 steps at
# the smaller d of `cpu` over strengths 0.003, 0.01 and 0.03 at the low and high lr and the sparse eps: none made
# more than 0.02 monosemantic neurons per feature at the low lr or the sparse eps by then, and at the high lr the
# strongest cost 15 % in loss over the weakest; the middle one.
BIAS_PUSH = 0.01


# The second initialisation of question 2's control: the seed whose initialisation (only) it takes.
REINIT_OFFSET = 1000


# The sweeps whose final weights the figures and the analysis read (question 1's algebra, question 2's paths).
WEIGHTS = {"PATHS", *(f"OB{b}_d{d}" for g in GRIDS.values() for d in g.dims for b in (0, 1))}


def at_dim(profile: Profile, d: int, **changes) -> ModelConfig:
    """The profile's default model at embedding dimension d, N and k scaled with it."""
    n = d * profile.n_features // profile.d_embed
    k = d * profile.d_hidden // profile.d_embed
    return profile.base(n_features=n, d_embed=d, d_hidden=k, **changes)


def d_sweep(profile: Profile, d: int, out_bias: bool) -> Sweep:
    """The recipe's model at lr_focus at dimension d, with or without the output bias (one model)."""
    name = f"OB{int(out_bias)}_d{d}"
    return Sweep(name, at_dim(profile, d, lr=profile.lr_focus, out_bias=out_bias, **RECIPE))


def d_sweeps(profile: Profile) -> list[Sweep]:
    return [d_sweep(profile, d, ob) for d in GRIDS.of(profile).dims for ob in (False, True)]


def paths_sweep(profile: Profile) -> Sweep:
    """LR1's models at the profile's lowest and highest lr."""
    return make_sweep("PATHS", profile.base(), lr=(profile.lrs[0], profile.lrs[-1]))


def control_sweep(profile: Profile) -> Sweep:
    """The model of `paths_sweep` at the highest lr, to be trained from another initialisation (`reinit`)."""
    return Sweep("PATHS_reinit", profile.base(lr=profile.lrs[-1]))


def settings(profile: Profile) -> tuple[tuple[float, float], ...]:
    """Question 3's settings (lr, eps): the profile's lr_focus, lowest and highest lr at its eps, and the sparse eps
    at Table 1's E-row lr."""
    eps = profile.base().eps
    return (
        (profile.lr_focus, eps),
        (profile.lrs[0], eps),
        (profile.lrs[-1], eps),
        (E_LR, GRIDS.of(profile).sparse_eps),
    )


def robust_sweeps(profile: Profile) -> dict[str, Sweep]:
    """Question 3: "PUSH", the regularizer on every setting; "RECIPE", the paper's recipe on every setting but the
    first, which is question 1's model without output bias at the smaller d."""
    d = GRIDS.of(profile).dims[0]
    every = settings(profile)
    push = make_sweep("PUSH", at_dim(profile, d, bias_push=BIAS_PUSH), **{"lr,eps": every})
    recipe = make_sweep("RECIPE", at_dim(profile, d, **RECIPE), **{"lr,eps": every[1:]})
    return {"PUSH": push, "RECIPE": recipe}


def sweeps(profile: Profile) -> list[Sweep]:
    return [*d_sweeps(profile), paths_sweep(profile), *robust_sweeps(profile).values()]


def reinit(sweep: Sweep, cache: Cache, progress: bool = True) -> SweepResult:
    """`sweep` trained from the initialisation of seed + REINIT_OFFSET (its projection and data stream are its own
    seed's), from the cache when it is there (keyed by the configurations and the offset)."""
    config = {"reinit_offset": REINIT_OFFSET, "configs": [c.to_dict() for c in sweep.configs]}

    def compute() -> dict[str, Tensor]:
        init = ToyModel.init(tuple(c.replace(seed=c.seed + REINIT_OFFSET) for c in sweep.configs))
        trained = training.train(sweep, init=init, progress=progress)
        return {**trained.arrays, "seconds": Tensor([trained.seconds]).double()}

    arrays = dict(cache.get_or_compute(sweep.name, config, compute))
    seconds = float(arrays.pop("seconds"))
    return SweepResult.from_arrays(sweep, arrays, {"seconds": seconds})


def compute(profile: Profile, cache: Cache | None = None, progress: bool = True) -> float:
    """Train (or read from the cache) question 2's control; its recorded training seconds."""
    cache = cache or Cache.for_profile(profile.name)
    return reinit(control_sweep(profile), cache, progress).seconds
