"""Helpers shared by the tests."""

import sys
from pathlib import Path

import pytest
import torch

from monosem.config import Sweep
from monosem.metrics import MONO_THRESHOLD
from monosem.results import SweepResult

sys.path.insert(0, str(Path(__file__).parent))  # `from conftest import make_result` in test modules


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
