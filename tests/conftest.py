"""Helpers shared by the tests.

Markers (registered in pyproject.toml): `slow`, scientific checks that train real models; `cuda`, tests that need
a GPU (skipped without one); `cpu_exact`, tests whose claim is that two runs of one model agree (a sweep instance
and the model trained alone, a sparse sweep's dense instance and the dense model) and that train on the default
device (`TRAIN_DEVICE`). On a CPU they agree to float32 rounding or bit for bit; on CUDA they are compared at TF32's
tolerance (`assert_same_run`). `pytest -m "cpu_exact or cuda"` runs what a GPU machine checks differently
(`scripts/gpu_first_run.sh` does, first thing on a lease).
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from monosem.config import Sweep
from monosem.metrics import MONO_THRESHOLD
from monosem.results import SweepResult
from monosem.training import default_device

sys.path.insert(0, str(Path(__file__).parent))  # `from conftest import make_result` in test modules

# Where a test that names no device trains: CUDA on a machine with a GPU (as `train` does), else the CPU.
TRAIN_DEVICE = default_device()

# Two trainings of one model that differ only in how the work is batched (n instances in one bmm, or one), compared
# after a few hundred steps. On a CPU the products are float32 either way, and the batch size changes at most the
# order of a reduction: 1e-5 relative. On CUDA the matmuls run in TF32 (a 10-bit mantissa: each product is rounded
# to about 5e-4 relative) and cuBLAS picks its kernel, hence its order of summation, from the shape of the batched
# product, so the two runs round differently at every step and the differences grow with training: no elementwise
# bound holds for weights near zero. There the runs must agree as a TF32 run agrees with an fp32 one
# (tests/test_device.py): weights and loss traces within 2 % in norm, # mono / # features within 2 features.
CPU_RTOL, CPU_ATOL = 1e-5, 1e-6
CUDA_REL_NORM = 2e-2
CUDA_MONO_FEATURES = 2


def assert_same_run(
    a: torch.Tensor, b: torch.Tensor, name: str, n_features: int, device: torch.device = TRAIN_DEVICE
) -> None:
    """`a` and `b`, one array of two trainings of the same model on `device`, agree as far as that device's
    arithmetic allows (the bounds above); `snap_mono` and `mono` are fractions of the N = `n_features` features."""
    if device.type != "cuda":
        torch.testing.assert_close(a, b, rtol=CPU_RTOL, atol=CPU_ATOL, msg=name)
        return
    a, b = a.double(), b.double()
    if name in ("snap_mono", "mono"):
        assert (a - b).abs().max() <= CUDA_MONO_FEATURES / n_features, name
    else:
        assert (a - b).norm() <= CUDA_REL_NORM * b.norm() + 1e-6, name


def make_result(sweep: Sweep, **arrays: torch.Tensor) -> SweepResult:
    """A hand-built result: the arrays given, and for the rest what they imply. Snapshots at the middle and the end
    of the run, where the held-out loss is the recorded loss nearest that step (so that a loss trace still falling
    over the second half is not settled) and # mono / # features the final one (unchanged, unless `snap_mono` is
    given); the constant-output loss ten times the largest loss (every model has learned); zeros otherwise."""
    n, cfg = sweep.n_inst, sweep.configs[0]
    k, steps = cfg.d_hidden, cfg.n_steps
    loss_steps = arrays.get("loss_steps", torch.zeros(1))
    loss = arrays.get("loss", torch.zeros(n, 1))
    r = arrays.get("r", torch.zeros(n, k))
    at = [
        int(torch.searchsorted(loss_steps.float(), float(s) - 0.5).clamp(max=len(loss_steps) - 1))
        for s in (steps // 2, steps)
    ]
    at[-1] = len(loss_steps) - 1
    mono = (r > MONO_THRESHOLD).sum(-1).float() / cfg.n_features
    defaults = {
        "loss_steps": loss_steps,
        "loss": loss,
        "snap_steps": torch.tensor([steps // 2, steps]),
        "snap_mono": mono[:, None].expand(n, 2).clone(),
        "snap_bias": torch.zeros(n, 2),
        "snap_loss": loss[:, at],
        "snap_heldout": loss[:, at],
        "heldout_const": 10 * loss.abs().amax(-1).clamp(min=1.0),
        "final_loss": torch.zeros(n),
        "r": r,
        "b_in": torch.zeros(n, k),
    }
    return SweepResult.from_arrays(sweep, {**defaults, **arrays})


@pytest.fixture(scope="session")
def ci_trained() -> Path:
    """The `ci` profile trained into its cache (`results/ci`, or $MONOSEM_RESULTS/ci), once per session, as
    `python -m monosem train --profile ci` does (pages and `load` only read); `monosem test` has trained it already
    for the notebooks, so this reads the cache."""
    from monosem import pipeline
    from monosem.cache import Cache
    from monosem.profiles import get_profile

    cache = Cache.for_profile("ci")
    pipeline.train(get_profile("ci"), cache=cache, log=lambda _: None, progress=False)
    return cache.root


@dataclass(frozen=True)
class CiBook:
    """The ci book, built from the compact export of the session's ci cache (`ci_book`): the build's process, its
    html folder, the export's folder (MONOSEM_RESULTS of the build), the files exported (sweeps, then what chapters
    compute besides sweeps) and every file's modification time there before and after the build."""

    proc: subprocess.CompletedProcess
    html: Path
    export: Path
    sweeps_written: list[Path]
    computed_written: list[Path]
    before: dict[str, int]
    after: dict[str, int]


@pytest.fixture(scope="session")
def ci_book(tmp_path_factory, ci_trained) -> CiBook:
    """The ci book, built once per session the way `python -m monosem book --profile ci` builds it (with -W), from
    the compact export of the trained ci cache alone (what `results/<profile>/` holds for the default book): for the
    test that checks the build, the browser test that reads it and the test that nothing was trained for it. One
    build that is all three saves executing every chapter a third time (nbmake executes them too)."""
    from monosem import pipeline, runner
    from monosem.cache import Cache
    from monosem.profiles import get_profile

    ci = get_profile("ci")
    cache = Cache(ci_trained)
    out = tmp_path_factory.mktemp("ci-book")
    target = Cache(out / "export" / "ci")
    sweeps = runner.distinct(pipeline.chapter_sweeps(ci), cache)
    quiet = lambda *_: None  # noqa: E731
    written = runner.export_compact(cache, sweeps, pipeline.weights_needed(), target, log=quiet)
    computed = pipeline.export_computations(ci, None, cache, target, log=quiet)
    before = {p.name: p.stat().st_mtime_ns for p in target.root.iterdir()}
    proc = subprocess.run(
        [sys.executable, "-m", "monosem", "book", "--profile", "ci", "--out", str(out)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        env={**os.environ, "MONOSEM_RESULTS": str(out / "export")},  # the full cache out of reach
    )
    after = {p.name: p.stat().st_mtime_ns for p in target.root.iterdir()}
    return CiBook(proc, out / "_build" / "html", target.root, written, computed, before, after)
