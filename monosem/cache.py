"""The on-disk cache of trained sweeps: re-running a chapter never retrains what it already has.

A result file is keyed by the sha256 of the canonical configuration of every instance and the library
version (`Sweep.key`). Writes are atomic (temporary file, then rename). A file that cannot be read, or that
holds another configuration, is reported with its path, moved aside (never deleted) and retrained.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from monosem import training
from monosem.config import Sweep
from monosem.results import SweepResult
from monosem.version import RESULTS_VERSION

FORMAT = 1
# The most seeds `seeded` looks for (`python -m monosem train --seeds S` trains every sweep at S seeds).
MAX_SEEDS = 32


class CacheError(Exception):
    """A cache file exists but cannot serve the requested sweep."""


def results_root() -> Path:
    """Where cached results live: $MONOSEM_RESULTS, else `results/` in the source checkout, else
    ~/.cache/monosem."""
    if "MONOSEM_RESULTS" in os.environ:
        return Path(os.environ["MONOSEM_RESULTS"])
    repo = Path(__file__).resolve().parents[1]
    if (repo / "_toc.yml").exists():
        return repo / "results"
    return Path.home() / ".cache" / "monosem"


class Cache:
    """Trained sweeps in one folder, `root`, keyed by configuration and library `version`."""

    def __init__(self, root: str | os.PathLike[str], version: str = RESULTS_VERSION, read_only: bool = False) -> None:
        self.root = Path(root)
        self.version = version
        # read_only: `get_or_train` and `get_or_compute` raise CacheError instead of training or computing what is
        # not cached (for export and the staleness check)
        self.read_only = read_only
        self.used: set[Path] = set()  # the files `get_or_compute` has served or written, so that export finds them

    @classmethod
    def for_profile(cls, profile_name: str) -> Cache:
        """The cache of one profile: `results_root() / profile_name`."""
        return cls(results_root() / profile_name)

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r}, version={self.version!r})"

    def path(self, sweep: Sweep) -> Path:
        return self.root / f"{sweep.name}-{sweep.key(self.version)[:16]}.pt"

    def exists(self, sweep: Sweep) -> bool:
        return self.path(sweep).exists()

    def save(self, result: SweepResult) -> Path:
        path = self.path(result.sweep)
        payload = {
            "format": FORMAT,
            "version": self.version,
            "key": result.sweep.key(self.version),
            "name": result.sweep.name,
            "configs": [c.to_dict() for c in result.configs],
            "arrays": {k: v.contiguous() for k, v in result.arrays.items()},
            "meta": {k: v for k, v in result.meta.items() if k != "path"},
        }
        self._write(path, payload)
        return path

    def load(self, sweep: Sweep) -> SweepResult:
        """The cached result of `sweep`; CacheError when the file is missing, unreadable or of another sweep."""
        path = self.path(sweep)
        if not path.exists():
            raise CacheError(f"{path} does not exist: sweep {sweep.name!r} is not trained yet")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and EOF errors all mean the same thing here
            raise CacheError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CacheError(f"{path} is not a monosem result file of format {FORMAT}")
        expected = [c.to_dict() for c in sweep.configs]
        if payload.get("key") != sweep.key(self.version) or payload.get("configs") != expected:
            raise CacheError(f"{path} holds a different configuration (or library version) than sweep {sweep.name!r}")
        try:
            return SweepResult.from_arrays(sweep, payload["arrays"], {**payload.get("meta", {}), "path": str(path)})
        except (KeyError, TypeError, ValueError) as exc:
            raise CacheError(f"{path} does not hold a complete result: {exc}") from exc

    def valid(self, sweep: Sweep) -> bool:
        """Whether a usable result of `sweep` is cached, itself or within a multi-seed version of it (`seeded`).
        A file that is there but unusable is reported and moved aside (never deleted), so that the sweep is
        trained again: the runner and the chapters agree."""
        if not self.exists(sweep):
            wider = self.seeded(sweep)
            return wider is not sweep and self.valid(wider)
        try:
            self.load(sweep)
        except CacheError as err:
            self._set_aside(err, sweep)
            return False
        return True

    def seeded(self, sweep: Sweep) -> Sweep:
        """The version of `sweep` at the most seeds (2 to MAX_SEEDS) whose result is cached (trained with
        `--seeds S`), else `sweep` itself. A sweep that already sweeps seed is its own and only version."""
        for n_seeds in range(MAX_SEEDS, 1, -1):
            wider = sweep.with_seeds(n_seeds)
            if wider is not sweep and self.exists(wider):
                return wider
        return sweep

    def get_or_train(
        self,
        sweep: Sweep,
        train: Callable[..., SweepResult] | None = None,
        *,
        device: torch.device | str | None = None,
        progress: bool = True,
    ) -> SweepResult:
        """The cached result of `sweep` if there is one (or its instances within a cached multi-seed version of
        it, `seeded`), else train it (with `train`, by default `monosem.training.train`) and cache it."""
        if self.exists(sweep):
            try:
                return self.load(sweep)
            except CacheError as err:
                self._set_aside(err, sweep)
        wider = self.seeded(sweep)
        if wider is not sweep:  # trained with --seeds: this sweep's instances are those at the base seed
            try:
                result = self.load(wider)
                return result.select(sweep, [i for i, c in enumerate(wider.configs) if c.seed == sweep.base.seed])
            except CacheError as err:
                self._set_aside(err, wider)
        if self.read_only:
            raise CacheError(f"{self.path(sweep)} does not exist: sweep {sweep.name!r} is not trained yet")
        result = (train or training.train)(sweep, device=device, progress=progress)
        path = self.save(result)
        result.meta["path"] = str(path)
        return result

    # --- other computations: a dict of tensors keyed by a name and a JSON-able configuration ---------------------

    def artifact_path(self, name: str, config: dict[str, object]) -> Path:
        return self.root / f"{name}-{artifact_key(name, config, self.version)[:16]}.pt"

    def get_or_compute(
        self, name: str, config: dict[str, object], compute: Callable[[], dict[str, torch.Tensor]]
    ) -> dict[str, torch.Tensor]:
        """The cached tensors of the computation `name` at `config` (every setting that changes its outcome),
        else `compute()`'s, cached atomically. For what is not a sweep of the toy model (a sparse autoencoder
        trained on a sweep's activations, another model): the same keying, atomic writes and setting aside of
        unreadable files as for sweeps."""
        key = artifact_key(name, config, self.version)
        path = self.artifact_path(name, config)
        if path.exists():
            try:
                payload = torch.load(path, map_location="cpu", weights_only=True)
                if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("key") != key:
                    raise CacheError(f"{path} is not a monosem result of {name!r} at this configuration")
                self.used.add(path)
                return dict(payload["arrays"])
            except Exception as exc:  # pickle, zip, EOF and missing-key errors all mean the same thing here
                err = (
                    exc
                    if isinstance(exc, CacheError)
                    else CacheError(f"cannot read {path}: {type(exc).__name__}: {exc}")
                )
                self._move_aside(err, path)
        if self.read_only:
            raise CacheError(f"{path} does not exist: {name!r} at this configuration is not computed yet")
        arrays = compute()
        if not isinstance(arrays, dict) or not all(isinstance(v, torch.Tensor) for v in arrays.values()):
            raise TypeError(f"the computation {name!r} must return a dict of tensors")
        payload = {
            "format": FORMAT,
            "version": self.version,
            "key": key,
            "name": name,
            "config": config,
            "arrays": {k: v.detach().cpu().contiguous() for k, v in arrays.items()},
        }
        self._write(path, payload)
        self.used.add(path)
        return arrays

    def _write(self, path: Path, payload: dict[str, object]) -> None:
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

    def _set_aside(self, err: CacheError, sweep: Sweep) -> None:
        self._move_aside(err, self.path(sweep))

    def _move_aside(self, err: CacheError, path: Path) -> None:
        aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        warnings.warn(f"{err}; moved it to {aside} and computing it again", stacklevel=3)


def artifact_key(name: str, config: dict[str, object], version: str) -> str:
    """sha256 of a computation's name, its canonical configuration and the library version."""
    blob = json.dumps({"name": name, "config": config, "version": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
