"""What chapter 8 trains at each profile: LR1 and LR3 (`monosem.paper`), and the sparse autoencoders of the
profile's grid on the activations of a polysemantic LR1 model.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from monosem.cache import Cache
from monosem.config import Sweep
from monosem.paper import lr1, lr3
from monosem.profiles import PerProfile, Profile
from monosem.results import SweepResult
from monosem.sae import DATA, Activations, SAEConfig, sae_generator, train_sae
from monosem.training import default_device

__all__ = ["WEIGHTS", "Grid", "GRIDS", "sweeps", "poly_index", "sae_name", "train_saes", "compute", "sae_configs"]

WEIGHTS = {"LR1", "LR3"}


@dataclass(frozen=True)
class Grid:
    """What this chapter sweeps at one profile: dictionary sizes as multiples of the number of features N, the L1
    coefficients (one batched autoencoder per size, one instance per coefficient), and the training of each.
    Dead latents are resampled `n_resamples` times, evenly over the first half of training, each time looking
    back half the interval (Towards Monosemanticity: at steps 25k, 50k, 75k and 100k, looking back 12.5k)."""

    dict_ratios: tuple[float, ...]
    l1s: tuple[float, ...]
    n_steps: int
    batch_size: int
    lr: float
    eval_inputs: int
    resample_inputs: int
    n_resamples: int = 4
    seed: int = 0

    def configs(self, d_in: int, n_features: int) -> list[SAEConfig]:
        every = self.n_steps // (2 * self.n_resamples)
        return [
            SAEConfig(
                d_in=d_in,
                d_dict=round(ratio * n_features),
                l1s=self.l1s,
                n_steps=self.n_steps,
                batch_size=self.batch_size,
                lr=self.lr,
                n_resamples=self.n_resamples,
                resample_every=every,
                dead_window=every // 2,
                resample_inputs=self.resample_inputs,
                seed=self.seed,
            )
            for ratio in self.dict_ratios
        ]


GRIDS = PerProfile(
    "chapter sparse_autoencoders's grid",
    {
        "ci": Grid(
            dict_ratios=(0.5, 1, 2),
            l1s=(0.03, 0.1, 0.3, 1.0),
            n_steps=256,
            batch_size=64,
            lr=3e-3,
            eval_inputs=1024,
            resample_inputs=512,
        ),
        # calibrated on this profile's LR1 model (the L1 range spans dense codes to collapse); about 6 minutes of
        # training on two busy cores
        "cpu": Grid(
            dict_ratios=(0.5, 1, 2),
            l1s=(0.1, 0.2, 0.4, 0.8),
            n_steps=4000,
            batch_size=256,
            lr=3e-3,
            eval_inputs=8192,
            resample_inputs=8192,
        ),
        # not calibrated (no GPU run yet): a wider L1 range and one more dictionary size
        "paper": Grid(
            dict_ratios=(0.5, 1, 2, 4),
            l1s=(0.025, 0.05, 0.1, 0.2, 0.4, 0.8),
            n_steps=2**14,
            batch_size=1024,
            lr=1e-3,
            eval_inputs=2**15,
            resample_inputs=2**16,
        ),
    },
)


def sweeps(profile: Profile) -> list[Sweep]:
    """The two toy models (from chapters 1 and 2: free when they are cached)."""
    return [lr1(profile), lr3(profile)]


def poly_index(result: SweepResult, profile: Profile) -> int:
    """The polysemantic model: LR1's first seed at the lowest learning rate."""
    return result.index(lr=min(profile.lrs), seed=0)


def sae_name(result: SweepResult, d_dict: int) -> str:
    return f"SAE_{result.sweep.name}_m{d_dict}"


def train_saes(
    cache: Cache, result: SweepResult, index: int, configs: list[SAEConfig], progress: bool
) -> dict[int, dict[str, Tensor]]:
    """Each batched autoencoder of `configs` on the activations of instance `index` of `result`, from the cache
    when it is there. The cache key holds the toy sweep's key, the instance and every autoencoder setting."""
    out = {}
    for cfg in configs:
        config = {
            "toy": result.sweep.name,
            "toy_key": result.sweep.key(cache.version),
            "instance": index,
            **cfg.to_dict(),
        }

        def compute(cfg: SAEConfig = cfg) -> dict[str, Tensor]:
            acts = Activations.of(result, index, sae_generator(cfg.seed, DATA, default_device()))
            desc = f"{sae_name(result, cfg.d_dict)} ({cfg.n_inst} autoencoders)"
            return train_sae(cfg, lambda n: acts.sample(n)[0], progress=progress, desc=desc)

        out[cfg.d_dict] = cache.get_or_compute(sae_name(result, cfg.d_dict), config, compute)
    return out


def compute(profile: Profile, cache: Cache | None = None, progress: bool = True) -> float:
    """Train (or read from the cache) every autoencoder of the chapter; their recorded training seconds."""
    cache = cache or Cache.for_profile(profile.name)
    poly = cache.get_or_train(lr1(profile), progress=progress)
    saes = train_saes(cache, poly, poly_index(poly, profile), sae_configs(profile, poly), progress)
    return sum(float(a["seconds"]) for a in saes.values())


def sae_configs(profile: Profile, poly: SweepResult) -> list[SAEConfig]:
    """The profile's batched autoencoders on the activations of the polysemantic model `poly`."""
    return GRIDS.of(profile).configs(poly.configs[0].d_hidden, poly.n_features)
