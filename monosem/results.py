"""Compact results of a trained sweep and the on-disk cache that makes re-running a chapter free.

A result file is keyed by the sha256 of the canonical configuration of every instance and the library
version (`Sweep.key`). Writes are atomic (temporary file, then rename). A file that cannot be read, or
that holds another configuration, is reported with its path, moved aside (never deleted) and retrained.

`compact` makes the form that is committed for the `paper` profile: summaries and traces always, the
final weights only of the sweeps whose figures need them, stored as float16 (half the bytes; the
monosemanticity r_i and every summary are computed from the float32 weights before they are rounded).
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from monosem.config import ModelConfig, Sweep
from monosem.metrics import single_feature_activations
from monosem.model import ToyModel

FORMAT = 1
# Arrays that grow with N x k per instance: the final weights and the projection they act on.
WEIGHT_ARRAYS = ("W_in", "W_out", "proj", "out_proj")
# The paper's proxy for a polysemantic neuron (Fig. 11): a final bias above this.
POSITIVE_BIAS = 0.05


@dataclass
class SweepResult:
    """What a chapter needs of a trained sweep.

    arrays: loss_steps (n_rec,), loss (n_inst, n_rec), snap_steps (n_snap,), snap_mono, snap_bias and
    snap_loss (n_inst, n_snap), final_loss (n_inst,), r (n_inst, k), W_in (n_inst, k, d), b_in (n_inst, k),
    W_out (n_inst, d_out, k), proj (n_inst, d, N) and, for the re-projector, out_proj (n_inst, d, N).
    meta: seconds (training wall time), device, tf32 and, for a compact result, compact: "weights"
    (weights kept as float16) or "summaries" (no weights).
    """

    sweep: Sweep
    arrays: dict[str, Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def configs(self) -> tuple[ModelConfig, ...]:
        return self.sweep.configs

    def __getitem__(self, name: str) -> Tensor:
        return self.arrays[name]

    def values(self, name: str) -> list[Any]:
        """The value of a configuration field for every instance, in instance order."""
        return [getattr(c, name) for c in self.configs]

    def index(self, **where: Any) -> int:
        """The instance whose configuration matches every `field=value` given; errors list the choices."""
        hits = [i for i, c in enumerate(self.configs) if all(_same(getattr(c, k), v) for k, v in where.items())]
        if len(hits) != 1:
            choices = {name: sorted(set(vals)) for name, vals in self.sweep.axes}
            what = "no instance" if not hits else f"{len(hits)} instances"
            raise KeyError(f"{what} of sweep {self.sweep.name!r} match {where}; swept values: {choices}")
        return hits[0]

    def mono_per_feature(self) -> Tensor:
        """Final # monosemantic neurons / # features per instance."""
        return self["snap_mono"][:, -1]

    def summary(self) -> pd.DataFrame:
        """One row per instance: the swept values, final # mono / # features, final loss, and the number of
        neurons with a clearly positive bias (> 0.05, the paper's proxy for polysemantic neurons)."""
        rows = {name: self.values(name) for name, _ in self.sweep.axes}
        rows["# mono / # features"] = self.mono_per_feature().tolist()
        rows["final loss"] = self["final_loss"].tolist()
        rows["neurons with bias > 0.05"] = (self["b_in"] > POSITIVE_BIAS).sum(-1).tolist()
        return pd.DataFrame(rows)

    @property
    def has_weights(self) -> bool:
        return "W_in" in self.arrays

    def _weight(self, name: str) -> Tensor:
        if name not in self.arrays:
            raise MissingWeightsError(
                f"the result of sweep {self.sweep.name!r} was stored compact, without its final weights "
                f"({self.meta.get('path', 'not from a file')}); to plot from weights, add the batch to "
                "monosem.book.WEIGHTS_NEEDED and export again, or delete the file to retrain the sweep"
            )
        return self.arrays[name].float()

    def model(self) -> ToyModel:
        """The final weights of every instance (float32, also when they were stored as float16)."""
        b_in = self["b_in"].float()
        return ToyModel(self._weight("W_in"), b_in, self._weight("W_out"), self.configs[0].activation)

    def activations(self) -> Tensor:
        """Single-feature activations h_i(F_j) of the final models, (n_inst, k, N)."""
        return single_feature_activations(self.model(), self._weight("proj"), self.configs[0].task)


class MissingWeightsError(LookupError):
    """A compact result was asked for weights it does not hold."""


def compact(result: SweepResult, keep_weights: bool) -> SweepResult:
    """The committed form of a result: every array but the weights, plus the weights as float16 if
    `keep_weights`. The projections are kept in float32 (they are regenerated from the seed in training, but a
    rendered figure should not depend on that)."""
    arrays = {k: v for k, v in result.arrays.items() if k not in WEIGHT_ARRAYS}
    if keep_weights:
        for name in WEIGHT_ARRAYS:
            if name in result.arrays:
                value = result.arrays[name]
                arrays[name] = value if name in ("proj", "out_proj") else value.to(torch.float16)
    meta = {**result.meta, "compact": "weights" if keep_weights else "summaries"}
    return SweepResult(result.sweep, arrays, meta)


def summaries(results: dict[str, SweepResult]) -> pd.DataFrame:
    """The `summary()` rows of several results, one table, with a first column naming each result."""
    tables = [r.summary().assign(batch=label) for label, r in results.items()]
    table = pd.concat(tables, ignore_index=True)
    return table[["batch", *[c for c in table.columns if c != "batch"]]]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))
    return a == b


def save(result: SweepResult, path: Path, version: str) -> None:
    payload = {
        "format": FORMAT,
        "version": version,
        "key": result.sweep.key(version),
        "name": result.sweep.name,
        "configs": [c.to_dict() for c in result.configs],
        "arrays": {k: v.contiguous() for k, v in result.arrays.items()},
        "meta": {k: v for k, v in result.meta.items() if k != "path"},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; a cache is as shareable as any file
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class CacheError(Exception):
    """A cache file exists but cannot serve the requested sweep."""


def load(path: Path, sweep: Sweep, version: str) -> SweepResult:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and EOF errors all mean the same thing here
        raise CacheError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CacheError(f"{path} is not a monosem result file of format {FORMAT}")
    expected = [c.to_dict() for c in sweep.configs]
    if payload.get("key") != sweep.key(version) or payload.get("configs") != expected:
        raise CacheError(f"{path} holds a different configuration (or library version) than sweep {sweep.name!r}")
    return SweepResult(sweep, payload["arrays"], {**payload.get("meta", {}), "path": str(path)})


def cache_path(sweep: Sweep, cache_dir: Path, version: str) -> Path:
    return Path(cache_dir) / f"{sweep.name}-{sweep.key(version)[:16]}.pt"


def load_or_train(
    sweep: Sweep,
    cache_dir: str | os.PathLike[str],
    *,
    version: str,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> SweepResult:
    """The cached result of `sweep` if there is one, else train it and cache it."""
    from monosem.training import train  # train imports this module

    path = cache_path(sweep, Path(cache_dir), version)
    if path.exists():
        try:
            return load(path, sweep, version)
        except CacheError as err:
            aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(path, aside)
            warnings.warn(f"{err}; moved it to {aside} and retraining", stacklevel=2)
    result = train(sweep, device=device, progress=progress)
    save(result, path, version)
    return result
