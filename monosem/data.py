"""Sparse features, the fixed random projection and the three tasks (paper Section 2).

All randomness comes from `torch.Generator`s passed in. Instances of a sweep that share a seed share
one data stream: the same uniform draws, thresholded by each instance's own feature probabilities. An
instance therefore sees exactly the data it would see if it were trained alone with the same seed.
"""

from __future__ import annotations

import dataclasses
import warnings
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


# The sparse decoder step (`SparseFeatures`, `sparse_step`): where k <= N / SPARSE_STEP_RATIO, a decoder's step never
# builds a dense (B, N) tensor after the draw. Measured on this project's 2-core CPU at the paper's K shapes (N = 512,
# d = 64, 3 instances, 2^16 samples; a one-off prototype of the same arithmetic): k = 16 2.4x, k = 64 1.8x, k = 256
# 1.2x faster than the dense step; on a GPU, where the dense step of small k is memory traffic, more (the cost model's
# roofline, `monosem.cost`). At k = N / 2 the gain is small and not measured where it matters, a GPU: left dense.
SPARSE_STEP_RATIO = 4


def sparse_step(configs: tuple[ModelConfig, ...]) -> bool:
    """Whether a sweep of `configs` trains with the sparse decoder step: the decoder task, one seed (one stream of
    uniform draws, thresholded by each instance's densities), no output bias, and k <= N / SPARSE_STEP_RATIO."""
    base = configs[0]
    return (
        base.task == "decoder"
        and len({c.seed for c in configs}) == 1
        and not any(c.out_bias for c in configs)
        and base.d_hidden * SPARSE_STEP_RATIO <= base.n_features
    )


@dataclass(frozen=True)
class SparseFeatures:
    """A batch of feature vectors of m streams (1 when every instance shares its densities, else one per instance),
    B samples of N features each, as their active entries: `f`, block-diagonal in CSR form (m B, m N) (stream i's
    samples are rows i B .. (i + 1) B - 1 and use columns i N .. (i + 1) N - 1, so that one sparse product serves
    every stream), `f_t` its transpose in CSR form, and `sq_sum` (m,) the sum of f^2 over each stream's batch. Its
    values are the dense draw's, bit for bit (`threshold_draw`)."""

    f: Tensor
    f_t: Tensor
    sq_sum: Tensor
    batch_size: int

    @classmethod
    def from_draw(cls, u: Tensor, p: Tensor) -> SparseFeatures:
        """The features of uniform draws u (B, N) at densities p (m, N): f_i = u / p_i where u < p_i."""
        (batch, n), m = u.shape, p.shape[0]
        # one pass over (B, N) for every stream: the entries active in any stream, then each stream's among them
        rows, cols = (u < p.amax(0)).nonzero(as_tuple=True)  # row-major: by row, then column
        u_active = u[rows, cols]
        stream, j = (u_active[None] < p[:, cols]).nonzero(as_tuple=True)  # by stream, then row and column
        rows, cols = rows[j], cols[j]
        values = u_active[j] / p[stream, cols]
        rows, cols = rows + stream * batch, cols + stream * n
        order = torch.argsort(cols, stable=True)
        with warnings.catch_warnings():  # "CSR support is in beta": tested here against the dense step
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
            f = _csr(_row_starts(rows, m * batch), cols, values, (m * batch, m * n))
            f_t = _csr(_row_starts(cols, m * n), rows[order], values[order], (m * n, m * batch))
        sq_sum = torch.zeros(m, dtype=values.dtype, device=u.device).index_add_(0, stream, values * values)
        return cls(f, f_t, sq_sum, batch)

    @property
    def n_streams(self) -> int:
        return self.sq_sum.shape[0]

    def times(self, w: Tensor) -> Tensor:
        """f w_i for each stream's features and its own w_i: w (m, N, c) -> (m, B, c)."""
        m, n, c = w.shape
        return (self.f @ w.reshape(m * n, c)).view(m, self.batch_size, c)

    def t_times(self, h: Tensor) -> Tensor:
        """f_i^T h_i for each stream: h (m, B, c) -> (m, N, c)."""
        m, batch, c = h.shape
        return (self.f_t @ h.reshape(m * batch, c)).view(m, -1, c)

    def dense(self) -> Tensor:
        """f as a dense (m, B, N) tensor, as `DataStream.sample` returns the targets."""
        m, batch = self.n_streams, self.batch_size
        blocks = self.f.to_dense().view(m, batch, m, -1)
        return torch.stack([blocks[i, :, i] for i in range(m)])


def _csr(starts: Tensor, cols: Tensor, values: Tensor, size: tuple[int, int]) -> Tensor:
    # built from sorted indices by construction: torch's invariant checks would cost a pass each step
    return torch.sparse_csr_tensor(starts, cols, values, size, check_invariants=False)


def _row_starts(rows: Tensor, n_rows: int) -> Tensor:
    """CSR's row pointer (n_rows + 1,) of sorted row indices."""
    starts = torch.zeros(n_rows + 1, dtype=torch.int64, device=rows.device)
    starts[1:] = torch.bincount(rows, minlength=n_rows).cumsum(0)
    return starts


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
    # `sample` returns the targets as `SparseFeatures` (the decoder task, a shared stream only: `sparse_step`)
    sparse: bool = False

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
        sparse = sparse_step(configs)
        return cls(base.task, base.batch_size, probs, proj, out_proj, groups, shared, tuple(seeds), sparse)

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
        stream = dataclasses.replace(self, batch_size=chunk, groups=fresh, sparse=False)  # measured densely
        for _ in range(n_samples // chunk):
            yield stream.sample()

    def sample(self) -> tuple[Tensor, Tensor | SparseFeatures]:
        """One batch: inputs x (n or 1, B, d) and targets (n or 1, B, d_out); a leading 1 broadcasts. A `sparse`
        stream's targets are the features themselves as `SparseFeatures`, its x computed from them."""
        if self.sparse:
            gen, _, _ = self.groups[0]
            u = torch.rand(self.batch_size, self.probs.shape[1], generator=gen, device=self.probs.device)
            m = 1 if self.shared else self.probs.shape[0]
            f = SparseFeatures.from_draw(u, self.probs[:m])
            return f.times(self.proj[:m].transpose(1, 2)), f
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
