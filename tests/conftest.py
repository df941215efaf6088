"""Helpers shared by the tests."""

import sys
from pathlib import Path

import torch

from monosem.config import Sweep
from monosem.results import SweepResult

sys.path.insert(0, str(Path(__file__).parent))  # `from conftest import make_result` in test modules


def make_result(sweep: Sweep, **arrays: torch.Tensor) -> SweepResult:
    """A hand-built result: the arrays given, zeros (one snapshot, one recorded loss) for the rest."""
    n, k = sweep.n_inst, sweep.configs[0].d_hidden
    defaults = {
        "loss_steps": torch.zeros(1),
        "loss": torch.zeros(n, 1),
        "snap_steps": torch.ones(1),
        "snap_mono": torch.zeros(n, 1),
        "snap_bias": torch.zeros(n, 1),
        "snap_loss": torch.zeros(n, 1),
        "final_loss": torch.zeros(n),
        "r": torch.zeros(n, k),
        "b_in": torch.zeros(n, k),
    }
    return SweepResult.from_arrays(sweep, {**defaults, **arrays})
