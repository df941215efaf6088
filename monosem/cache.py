"""The on-disk cache of trained sweeps: re-running a chapter never retrains what it already has.

A result file is keyed by the sha256 of the canonical configuration of every instance and the library
version (`Sweep.key`). Writes are atomic (temporary file, then rename) and carry a checksum of their arrays,
verified at every load. A file that cannot be read, that holds another configuration or whose arrays do not
match their checksum is reported with its path, moved aside (never deleted) and retrained. A file written
before checksums existed has none and is served as before.

Several processes may share a cache: a sweep (or computation) is trained under an exclusive lock on a file
beside its result, so that a second process waits for the first and reads its result instead of training it
again. A write that fails (a full disk) keeps the trained result in a rescue folder rather than losing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

try:
    import fcntl
except ImportError:  # Windows: no locking; two processes may then train the same sweep twice
    fcntl = None

from monosem import training
from monosem.config import Sweep, merge
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
        if not os.environ["MONOSEM_RESULTS"].strip():
            raise ValueError("MONOSEM_RESULTS is set but empty: unset it, or set it to the folder for the results")
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
        self._seen: dict[Path, tuple[int, int]] = {}  # the identity of each file as last read (`_move_aside`)

    @classmethod
    def for_profile(cls, profile_name: str) -> Cache:
        """The cache of one profile: `results_root() / profile_name`."""
        return cls(results_root() / profile_name)

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r}, version={self.version!r})"

    def path(self, sweep: Sweep) -> Path:
        return self.root / f"{sweep.name}-{sweep.key(self.version)[:16]}.pt"

    def checkpoint_path(self, sweep: Sweep) -> Path:
        """Where the state of `sweep` in training is saved every `training.CHECKPOINT_EVERY` steps: beside its
        result, under the same key, removed when it is done."""
        return self.path(sweep).with_suffix(".ckpt")

    def exists(self, sweep: Sweep) -> bool:
        return self.path(sweep).exists()

    def save(self, result: SweepResult) -> Path:
        path = self.path(result.sweep)
        arrays = {k: v.contiguous() for k, v in result.arrays.items()}
        payload = {
            "format": FORMAT,
            "version": self.version,
            "key": result.sweep.key(self.version),
            "name": result.sweep.name,
            "configs": [c.to_dict() for c in result.configs],
            "arrays": arrays,
            "checksum": checksum(arrays),
            "meta": {k: v for k, v in result.meta.items() if k != "path"},
        }
        self._write(path, payload)
        return path

    def load(self, sweep: Sweep) -> SweepResult:
        """The cached result of `sweep`; CacheError when the file is missing, unreadable or of another sweep."""
        path = self.path(sweep)
        if not path.exists():
            raise CacheError(f"{path} does not exist: sweep {sweep.name!r} is not trained yet")
        payload = self._read(path)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CacheError(f"{path} is not a monosem result file of format {FORMAT}")
        _verify(path, payload)
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
        compile: bool = False,
    ) -> SweepResult:
        """The cached result of `sweep` if there is one (or its instances within a cached multi-seed version of
        it, `seeded`), else train it (with `train`, by default `monosem.training.train`, which saves checkpoints at
        `checkpoint_path` and resumes from one; `compile` is passed on to it) and cache it."""
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
        with self._claim(self.path(sweep)):
            if self.exists(sweep):  # another process trained it while this one waited for the lock
                try:
                    return self.load(sweep)
                except CacheError as err:
                    self._set_aside(err, sweep)
            if train is None:  # the library's trainer resumes from the sweep's checkpoint, if a stop left one
                result = training.train(
                    sweep, device=device, progress=progress, checkpoint=self.checkpoint_path(sweep), compile=compile
                )
            else:
                result = train(sweep, device=device, progress=progress)
            try:
                path = self.save(result)
            except CacheError as err:
                raise CacheError(f"{err}; {self._rescue(result)}") from None
        result.meta["path"] = str(path)
        return result

    def train_together(
        self,
        sweeps: list[Sweep],
        *,
        device: torch.device | str | None = None,
        progress: bool = True,
        compile: bool = False,
    ) -> list[SweepResult]:
        """Train `sweeps` (of one shape) as one batched model (`config.merge`), checkpointed as `get_or_train`
        does, and cache each sweep's rows as its own result: its meta records the merged run and its share of the
        run's seconds (by models). What pays where a step is launch-bound (a GPU at `cpu`'s shapes)."""
        merged, rows = merge(sweeps)
        with self._claim(self.path(merged)):
            result = training.train(
                merged, device=device, progress=progress, checkpoint=self.checkpoint_path(merged), compile=compile
            )
        parts = []
        for sweep, idx in zip(sweeps, rows, strict=True):
            part = result.select(sweep, idx)
            part.meta.update(
                seconds=result.seconds * len(idx) / merged.n_inst,
                merged_into=merged.name,
                merged_seconds=result.seconds,
            )
            try:
                part.meta["path"] = str(self.save(part))
            except CacheError as err:
                raise CacheError(f"{err}; {self._rescue(part)}") from None
            parts.append(part)
        return parts

    def busy(self, sweep: Sweep) -> bool:
        """Whether another process is training `sweep` into this cache right now (holds its lock)."""
        lock = _lock_path(self.path(sweep))
        if fcntl is None or not lock.exists():
            return False
        try:
            with open(lock, "rb") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:  # gone meanwhile, or unreadable: nobody to wait for
            return False
        return False

    def check_writable(self, need_bytes: float = 0) -> None:
        """Raise CacheError, before anything trains, when the cache cannot take new results: its folder cannot
        be made or written (a file in the way, a read-only place), or its file system has less than `need_bytes`
        free. Removes the temporary files of writers on this machine that died (SIGKILL) mid-write."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=f".write-check.{_owner()}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(bytes(4096))
            finally:
                Path(probe).unlink(missing_ok=True)
            free = shutil.disk_usage(self.root).free
        except OSError as err:
            raise CacheError(
                f"cannot write results to {self.root}: {err.strerror or err}; make it writable or set "
                "MONOSEM_RESULTS to a folder that is (nothing was trained)"
            ) from None
        if free < need_bytes:
            raise CacheError(
                f"{self.root} has {free / 1e6:.0f} MB free, but the results to train need about "
                f"{need_bytes / 1e6:.0f} MB; free some space or set MONOSEM_RESULTS elsewhere (nothing was trained)"
            )
        remove_leftovers(self.root)

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
        cached = self._read_computed(name, key, path)
        if cached is not None:
            return cached
        if self.read_only:
            raise CacheError(f"{path} does not exist: {name!r} at this configuration is not computed yet")
        with self._claim(path):
            cached = self._read_computed(name, key, path)  # another process computed it while this one waited
            if cached is not None:
                return cached
            arrays = compute()
            if not isinstance(arrays, dict) or not all(isinstance(v, torch.Tensor) for v in arrays.values()):
                raise TypeError(f"the computation {name!r} must return a dict of tensors")
            stored = {k: v.detach().cpu().contiguous() for k, v in arrays.items()}
            payload = {
                "format": FORMAT,
                "version": self.version,
                "key": key,
                "name": name,
                "config": config,
                "arrays": stored,
                "checksum": checksum(stored),
            }
            self._write(path, payload)
        self.used.add(path)
        return arrays

    def _read_computed(self, name: str, key: str, path: Path) -> dict[str, torch.Tensor] | None:
        if not path.exists():
            return None
        try:
            payload = self._read(path)
            if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("key") != key:
                raise CacheError(f"{path} is not a monosem result of {name!r} at this configuration")
            _verify(path, payload)
            arrays = dict(payload["arrays"])
        except (CacheError, KeyError, TypeError) as exc:
            err = exc if isinstance(exc, CacheError) else CacheError(f"{path} does not hold a complete result: {exc}")
            self._move_aside(err, path)
            return None
        self.used.add(path)
        return arrays

    def _read(self, path: Path) -> object:
        """torch.load of a cache file, remembering which file it was (`_move_aside` moves only that one)."""
        try:
            self._seen[path] = _identity(path)
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and EOF errors all mean the same thing here
            # PyTorch's own words, without its advice to load the file unsafely (weights_only=False)
            text = str(exc).partition("WeightsUnpickler error:")[2] or str(exc)
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            raise CacheError(f"cannot read {path}: {type(exc).__name__}: {first}") from exc

    def _write(self, path: Path, payload: dict[str, object]) -> None:
        """Write atomically; CacheError (saying why, and how much room there is) when the write fails."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # the writer in the name, so that `remove_leftovers` can tell a dead writer's file from a live one's
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_owner()}.", suffix=".tmp")
        except OSError as err:
            raise CacheError(f"cannot write {path}: {err.strerror or err}") from None
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; a cache is as shareable as any file
            with os.fdopen(fd, "wb") as fh:
                torch.save(payload, fh)
            os.replace(tmp, path)
        except (OSError, RuntimeError) as err:  # torch reports a full disk as "enforce fail ... unexpected pos"
            Path(tmp).unlink(missing_ok=True)
            first = next((line for line in str(err).splitlines() if line.strip()), "")
            reason = err.strerror if isinstance(err, OSError) and err.strerror else f"{type(err).__name__}: {first}"
            try:
                free = f"; {shutil.disk_usage(path.parent).free / 1e6:.0f} MB free there"
            except OSError:
                free = ""
            raise CacheError(f"cannot write {path}: {reason}{free}") from err
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _rescue(self, result: SweepResult) -> str:
        """Keep a trained result that the cache could not take: where it went, and how to use it."""
        rescue = Cache(unsaved_root(), self.version)
        try:
            kept = rescue.save(result)
        except CacheError as err:
            return f"it could not be kept elsewhere either ({err}): the training of {result.sweep.name!r} is lost"
        return (
            f"the trained result is kept in {kept}: move it to {self.path(result.sweep)} once there is room, and it "
            "is used as if it had been written there"
        )

    def claim(self, sweep: Sweep, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
        """Hold the lock of `sweep`'s result while computing it, as `get_or_train` does: yields True once held; with
        `wait=False`, yields False at once, holding nothing, when another process holds it."""
        return self._claim(self.path(sweep), wait)

    @contextlib.contextmanager
    def _claim(self, path: Path, wait: bool = True) -> Iterator[bool]:
        """Hold the exclusive lock of `path` (a file beside it, removed when released): a second process waits
        here until the first has written its result (or, with `wait=False`, is told False and holds nothing). The
        lock dies with its process (SIGKILL included)."""
        if fcntl is None:
            yield True
            return
        lock = _lock_path(path)
        waited = False
        while True:
            try:
                lock.parent.mkdir(parents=True, exist_ok=True)
                fh = open(lock, "ab")  # noqa: SIM115 (held open for the lock's lifetime, closed below)
            except OSError as err:
                raise CacheError(f"cannot write to {lock.parent}: {err.strerror or err}") from None
            try:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if not wait:
                        fh.close()
                        yield False
                        return
                    if not waited:
                        print(f"waiting for another process, which is computing {path.name}", file=sys.stderr)
                        waited = True
                    fcntl.flock(fh, fcntl.LOCK_EX)
                # the holder before us removes the lock file when it is done: lock the file that is there now
                if os.path.exists(lock) and os.stat(lock).st_ino == os.fstat(fh.fileno()).st_ino:
                    break
            except BaseException:
                fh.close()
                raise
            fh.close()
        try:
            yield True
        finally:
            lock.unlink(missing_ok=True)
            fh.close()

    def _set_aside(self, err: CacheError, sweep: Sweep) -> None:
        self._move_aside(err, self.path(sweep))

    def _move_aside(self, err: CacheError, path: Path) -> None:
        seen = self._seen.pop(path, None)
        try:
            if seen is not None and _identity(path) != seen:
                return  # replaced (by another process) since it was read: the new file is read next time
            aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
            os.replace(path, aside)
        except FileNotFoundError:
            return  # another process set it aside first, and said so
        except OSError as exc:  # a read-only cache: the file stays where it is, unused
            warnings.warn(f"{err}; cannot move it aside ({exc.strerror or exc}), so it is ignored", stacklevel=3)
            return
        warnings.warn(f"{err}; moved it to {aside} and computing it again", stacklevel=3)


def artifact_key(name: str, config: dict[str, object], version: str) -> str:
    """sha256 of a computation's name, its canonical configuration and the library version."""
    blob = json.dumps({"name": name, "config": config, "version": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def checksum(arrays: dict[str, torch.Tensor]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order (stored with a result, verified at
    load: a flipped bit inside a tensor is caught, not served)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = arrays[name].detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)};".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _verify(path: Path, payload: dict[str, object]) -> None:
    stored = payload.get("checksum")
    if stored is None:
        return  # written before results carried a checksum: nothing to verify against
    arrays = payload.get("arrays")
    if not isinstance(arrays, dict) or not all(isinstance(v, torch.Tensor) for v in arrays.values()):
        raise CacheError(f"{path} does not hold a complete result: its arrays are not a dict of tensors")
    if checksum(arrays) != stored:
        raise CacheError(f"{path} is damaged: its arrays do not match the checksum written with them")


def result_bytes(sweep: Sweep) -> float:
    """About how many bytes the result of `sweep` takes on disk (its float32 weights and projections, its
    per-neuron traces), for the free-space check before training."""
    total = 0.0
    for cfg in sweep.configs:
        weights = cfg.d_embed * cfg.d_hidden + cfg.d_hidden * cfg.d_out + 2 * cfg.d_embed * cfg.n_features
        total += 4 * (weights + 32 * cfg.d_hidden)
    return total


def unsaved_root() -> Path:
    """Where a trained result goes when its cache cannot take it: $MONOSEM_UNSAVED, else the temp folder."""
    return Path(os.environ.get("MONOSEM_UNSAVED") or Path(tempfile.gettempdir()) / "monosem-unsaved")


_LEFTOVER = re.compile(r"\.pid(\d+)@(.*)\.[A-Za-z0-9_]{8}\.tmp$")


def _owner() -> str:
    return f"pid{os.getpid()}@{socket.gethostname()}"


def remove_leftovers(root: Path) -> list[Path]:
    """Remove the temporary files in `root` whose writer, a process on this machine, is gone (killed mid-write);
    returns them. A writer on another machine sharing the folder is left alone."""
    removed = []
    for tmp in root.glob(".*.tmp"):
        match = _LEFTOVER.search(tmp.name)
        if match is None or match[2] != socket.gethostname() or process_alive(int(match[1])):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
