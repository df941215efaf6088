"""Sparse features, the fixed random projection and the three tasks (paper Section 2).

All randomness comes from `torch.Generator`s passed in. Instances of a sweep that share a seed share
one data stream: the same uniform draws, thresholded by each instance's own feature probabilities. An
instance therefore sees exactly the data it would see if it were trained alone with the same seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from monosem.config import ModelConfig

POWER_LAW_EXPONENT = 1.1


def feature_probs(cfg: ModelConfig) -> Tensor:
    """Per-feature density eps_i, shape (N,).

    Power law: eps_i proportional to i^-1.1 (i = 1..N), normalised so that sum eps_i = N eps, then clipped at
    1 as in the reference code (the clipping is not renormalised, so the mean can fall slightly below eps).
    """
    n = cfg.n_features
    if cfg.freq == "uniform":
        return torch.full((n,), cfg.eps, dtype=torch.float64)
    weights = torch.arange(1, n + 1, dtype=torch.float64) ** -POWER_LAW_EXPONENT
    return (weights * (n * cfg.eps / weights.sum())).clamp(max=1.0)


def random_projection(n_features: int, d_embed: int, generator: torch.Generator) -> Tensor:
    """The fixed projection P, shape (d, N), whose N columns (feature directions) have unit norm.

    Draw an N x d Gaussian matrix, keep the U of its thin SVD (orthonormal columns), normalise each of the N
    rows to unit length and transpose, as the reference code's `make_random_embedder` does.
    """
    gauss = torch.randn(n_features, d_embed, generator=generator, dtype=torch.float64)
    u, _, _ = torch.linalg.svd(gauss, full_matrices=False)
    u = u / u.norm(dim=1, keepdim=True)
    return u.T.to(torch.float32).contiguous()


def _seeded(seed: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    # Independent streams per purpose: 0 = projections, 1 = data, 2 = initialisation.
    return torch.Generator(device=device).manual_seed(seed * 3 + stream)


def init_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    return _seeded(seed, 2, device)


# The held-out set of seed s is drawn from a generator seeded with HELDOUT_STREAM + s: far above the training
# streams (3 s + 0, 1, 2) and below the connectivity masks' 2^62 + s, so it never shares a stream with them.
HELDOUT_STREAM = 2**61


def heldout_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(HELDOUT_STREAM + seed)


@dataclass
class DataStream:
    """Batches for every instance of a sweep, grouped by seed.

    proj: (n_inst, d, N) input projection P per instance; out_proj: (n_inst, d, N) the re-projector's Q.
    """

    task: str
    batch_size: int
    probs: Tensor  # (n_inst, N)
    proj: Tensor  # (n_inst, d, N)
    out_proj: Tensor | None  # (n_inst, d, N), re-projector only
    # One data stream per seed: its generator, the instances it feeds (a device index, so that no step copies
    # an index from the host: on a GPU that copy would wait for the device) and their probabilities.
    groups: list[tuple[torch.Generator, Tensor, Tensor]]
    shared: bool  # every instance has the same seed and the same probabilities
    seeds: tuple[int, ...] = ()  # the seed of each group, in order

    @classmethod
    def for_configs(cls, configs: tuple[ModelConfig, ...], device: torch.device | str) -> DataStream:
        base = configs[0]
        seeds = sorted({c.seed for c in configs})
        projections = {}
        for seed in seeds:
            gen = _seeded(seed, 0)
            p = random_projection(base.n_features, base.d_embed, gen)
            q = random_projection(base.n_features, base.d_embed, gen) if base.task == "reprojector" else None
            projections[seed] = (p, q)
        proj = torch.stack([projections[c.seed][0] for c in configs]).to(device)
        out_proj = None
        if base.task == "reprojector":
            out_proj = torch.stack([projections[c.seed][1] for c in configs]).to(device)
        probs = torch.stack([feature_probs(c) for c in configs]).to(device=device, dtype=torch.float32)
        groups = []
        for seed in seeds:
            idx = torch.tensor([i for i, c in enumerate(configs) if c.seed == seed], device=device)
            groups.append((_seeded(seed, 1, device), idx, probs[idx]))
        shared = len(seeds) == 1 and bool((probs == probs[0]).all())
        return cls(base.task, base.batch_size, probs, proj, out_proj, groups, shared, tuple(seeds))

    def heldout(self, n_samples: int, chunk: int) -> Iterator[tuple[Tensor, Tensor]]:
        """The held-out set, `n_samples` inputs and targets in chunks of `chunk` (as `sample` returns them): drawn
        from generators of its own (`heldout_generator`), re-seeded at every call, so that every call yields the
        same samples and the training stream is never touched."""
        if n_samples % chunk:
            raise ValueError(f"the held-out set of {n_samples} samples must be whole chunks of {chunk}")
        device = self.probs.device
        fresh = [
            (heldout_generator(seed, device), idx, probs)
            for seed, (_, idx, probs) in zip(self.seeds, self.groups, strict=True)
        ]
        stream = dataclasses.replace(self, batch_size=chunk, groups=fresh)
        for _ in range(n_samples // chunk):
            yield stream.sample()

    def sample(self) -> tuple[Tensor, Tensor]:
        """One batch: inputs x (n or 1, B, d) and targets (n or 1, B, d_out); a leading 1 broadcasts."""
        if self.shared:
            gen, _, _ = self.groups[0]
            f = self._features(gen, self.probs[:1])
            return self._embed(f, self.proj[:1], None if self.out_proj is None else self.out_proj[:1])
        if len(self.groups) == 1:  # one seed, several densities: the group is every instance, in order
            gen, _, probs = self.groups[0]
            return self._embed(self._features(gen, probs), self.proj, self.out_proj)
        fs = torch.empty(self.probs.shape[0], self.batch_size, self.probs.shape[1], device=self.probs.device)
        for gen, idx, probs in self.groups:
            fs.index_copy_(0, idx, self._features(gen, probs))
        return self._embed(fs, self.proj, self.out_proj)

    def _features(self, gen: torch.Generator, probs: Tensor) -> Tensor:
        """Feature vectors (n, B, N) for instances with probabilities `probs` (n, N) from one stream."""
        if self.task == "abs":
            # Two independent vectors at eps/2 each, so that f1 - f2 has density about eps (reference code).
            return self._draw(gen, probs / 2) - self._draw(gen, probs / 2)
        return self._draw(gen, probs)

    def _draw(self, gen: torch.Generator, probs: Tensor) -> Tensor:
        # One uniform u per entry: the feature is present when u < p, and then u / p is itself U[0, 1) and
        # independent of the presence draw; half the random numbers of drawing presence and magnitude apart.
        u = torch.rand(self.batch_size, probs.shape[-1], generator=gen, device=probs.device)
        return threshold_draw(u, probs[:, None, :])

    def _embed(self, f: Tensor, proj: Tensor, out_proj: Tensor | None) -> tuple[Tensor, Tensor]:
        x = torch.bmm(f, proj.transpose(1, 2))
        if self.task == "decoder":
            return x, f
        if self.task == "abs":
            return x, f.abs()
        return x, torch.bmm(f, out_proj.transpose(1, 2))


def threshold_draw(u: Tensor, p: Tensor) -> Tensor:
    """torch.where(u < p, u / p, 0.0) bit for bit (p > 0: ModelConfig checks eps > 0), the way each device does it
    fastest. On a CPU in float arithmetic only: sign(p - u) clamped at 0 is 1 exactly where u < p, and u / p >= 0;
    five times faster than `where` there, where comparisons are slow, and 1.1-1.6x faster than the form below at the
    shapes a CPU trains (`python -m monosem bench --draw --profile cpu`; at paper shapes and six instances the form
    below is 1.3x faster even on two cores: the draw there is memory traffic). On a GPU, where the draw is memory
    traffic, fewer passes over the (n, B, N) features (26 bytes an element instead of 48): u / p, then zero where it
    is >= 1, which is exactly where u >= p (IEEE division rounds monotonically, and for u < p the quotient is at
    most 1 - 2^-24, a float)."""
    return _float_only(u, p) if u.device.type == "cpu" else _fewer_passes(u, p)


def _float_only(u: Tensor, p: Tensor) -> Tensor:
    return (u / p).mul_((p - u).sign_().clamp_min_(0))


def _fewer_passes(u: Tensor, p: Tensor) -> Tensor:
    f = u / p
    return f.masked_fill_(f >= 1, 0.0)


def single_feature_inputs(proj: Tensor, amplitude: float = 1.0) -> Tensor:
    """Inputs F_j for every feature j at the given amplitude: (n, N, d), row j = amplitude * P[:, j]."""
    return amplitude * proj.transpose(1, 2)
