"""The record of a trained sweep: its traces, summaries and final weights, with typed fields.

`compact` makes the form that is committed for the `paper` profile: summaries and traces always, the final
weights only of the sweeps whose figures need them, stored as float16 (half the bytes; the monosemanticity
r_i and every summary are computed from the float32 weights before they are rounded).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd
import torch
from torch import Tensor

from monosem.config import ModelConfig, Sweep
from monosem.metrics import (
    POSITIVE_BIAS,
    mono_fraction,
    mono_per_feature,
    n_positive_bias,
    single_feature_activations,
)
from monosem.model import ToyModel

# The settledness rule. A model has settled when, over the last doubling of its steps (its last two snapshots, both
# evaluated on the same held-out samples, so that the change is a paired difference and not sampling noise):
# SETTLE_LOSS: its held-out loss moved by less than 1 % of itself. The claims compare losses at resolutions of 2 %
# (claim 3's "same or slightly lower") to 12 % (claim 1's "slightly"); a model still losing 1 % per doubling of
# steps is within the smallest of them over the next doubling.
SETTLE_LOSS = 0.01
# SETTLE_MONO: its # mono / # features moved by less than 0.02 (two features in a hundred: 5 neurons at N = 256),
# the quantity the claims are about, which the paper shows still rising after the loss flattens (Figs. 6, 12, 16);
# every claim reads it at steps of 0.1 or more.
SETTLE_MONO = 0.02
# LEARNED: its held-out loss is at most 0.9 x the loss of the best constant output (what a model with every neuron
# dead reaches): a model stuck there is flat, but at no minimum the paper studies (its plateau, 0.85-0.95 at N = 512,
# is about a third of the constant-output loss there).
LEARNED = 0.9

# Arrays shared by every instance of a sweep (the rest have the instance as their first axis).
COMMON_ARRAYS = ("loss_steps", "snap_steps")
# The final weights and the projections they act on: what a compact result may leave out.
WEIGHT_ARRAYS = ("W_in", "W_out", "proj", "out_proj")


@dataclass
class SweepResult:
    """What a chapter needs of a trained sweep (n = instances, k = neurons, N = features, d = embedding).

    loss_steps (n_rec,): the steps at which the loss was recorded; loss (n, n_rec).
    snap_steps (n_snap,): the snapshot steps (powers of two and the last step); snap_mono, snap_bias and
    snap_loss (n, n_snap): # mono / # features, mean bias and loss there, computed on the training device
    (# mono / # features from step 2^11 on as the mean over the lr schedule's last periods, up to four,
    `training.mono_steps`: at high lr it swings with the schedule and from period to period);
    snap_r (n, n_snap, k): every neuron's r_i there; snap_heldout (n, n_snap): the task loss on a fixed held-out
    set (the same samples at every snapshot), taken where the model is at rest: from step 2^10 on, at the bottom of
    the lr schedule half a period before the snapshot (`training.rest_steps`); heldout_const (n,): the loss of the
    best constant output on that set.
    period_mono, period_heldout (n, n_steps // 2^10): # mono / # features averaged over each whole period of the
    lr schedule and its held-out loss at rest, where training was asked to record them (`train(record_periods=)`:
    the continuations that measure the settledness rule's false alarms), else None.
    final_loss (n,): the mean recorded loss over the last period of the lr schedule.
    r (n, k): the final monosemanticity r_i, computed in float32 on the CPU from the final weights.
    b_in (n, k): the final biases. W_in (n, d, k), W_out (n, k, d_out), proj (n, d, N) and, for the
    re-projector, out_proj (n, d, N): the final weights and projections (None in a compact result without them).
    meta: seconds (training wall time), device, tf32, compile and, for a compact result, compact: "weights"
    (weights kept as float16) or "summaries" (no weights); path, when the result was read from a file.
    """

    sweep: Sweep
    loss_steps: Tensor
    loss: Tensor
    snap_steps: Tensor
    snap_mono: Tensor
    snap_bias: Tensor
    snap_loss: Tensor
    final_loss: Tensor
    r: Tensor
    b_in: Tensor
    W_in: Tensor | None = None
    W_out: Tensor | None = None
    proj: Tensor | None = None
    out_proj: Tensor | None = None
    snap_r: Tensor | None = None
    snap_heldout: Tensor | None = None
    heldout_const: Tensor | None = None
    period_mono: Tensor | None = None
    period_heldout: Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_arrays(cls, sweep: Sweep, arrays: dict[str, Tensor], meta: dict[str, Any] | None = None) -> SweepResult:
        names = {f.name for f in dataclasses.fields(cls)} - {"sweep", "meta"}
        unknown = set(arrays) - names
        if unknown:
            raise ValueError(f"unknown result arrays {sorted(unknown)}; a result holds {sorted(names)}")
        return cls(sweep, **arrays, meta=dict(meta or {}))

    @property
    def arrays(self) -> dict[str, Tensor]:
        """Every array the result holds, by name (the stored form)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("sweep", "meta") and getattr(self, f.name) is not None
        }

    def __getitem__(self, name: str) -> Tensor:
        value = self.arrays.get(name)
        if value is None:
            raise KeyError(f"result of sweep {self.sweep.name!r} holds no array {name!r}")
        return value

    @property
    def configs(self) -> tuple[ModelConfig, ...]:
        return self.sweep.configs

    @property
    def n_features(self) -> int:
        return self.configs[0].n_features

    @property
    def seconds(self) -> float:
        """Training wall time, as recorded when the sweep was trained."""
        return float(self.meta.get("seconds", float("nan")))

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

    def select(self, sweep: Sweep, indices: list[int]) -> SweepResult:
        """The result of `sweep`, whose instances are this result's `indices`, in order (instances train
        independently, so a sub-sweep's result is this one's rows)."""
        if tuple(self.configs[i] for i in indices) != sweep.configs:
            raise ValueError(f"instances {indices} of sweep {self.sweep.name!r} are not those of sweep {sweep.name!r}")
        rows = torch.tensor(indices, dtype=torch.long)
        arrays = {k: v if k in COMMON_ARRAYS else v[rows] for k, v in self.arrays.items()}
        return SweepResult.from_arrays(sweep, arrays, {**self.meta, "selected_from": self.sweep.name})

    def mono_per_feature(self) -> Tensor:
        """Final # monosemantic neurons / # features per instance, (n,), from the final r_i (computed in float32 on
        the CPU on every device: under TF32 a GPU's ~5e-4 relative precision is close to the 0.999 threshold)."""
        return mono_per_feature(self.r, self.n_features)

    def settling(self) -> pd.DataFrame:
        """What the settledness rule reads, one row per instance: the relative change of the held-out loss over the
        last doubling of steps (between the last two snapshots; negative: still falling), the change of # mono /
        # features over it, and the final held-out loss over the constant-output loss."""
        if self.snap_heldout is None or self.heldout_const is None:
            raise MissingHeldoutError(
                f"the result of sweep {self.sweep.name!r} has no held-out losses "
                f"({self.meta.get('path', 'not from a file')}): it was trained before they were recorded; "
                "delete it to retrain the sweep"
            )
        if self.snap_heldout.shape[1] < 2:
            raise ValueError(f"sweep {self.sweep.name!r} has fewer than two snapshots: it cannot show settling")
        h, m = self.snap_heldout, self.snap_mono
        return settling_between(h[:, -2], h[:, -1], m[:, -2], m[:, -1], self.heldout_const)

    def converged(self) -> Tensor:
        """Which instances have settled (the rule: SETTLE_LOSS, SETTLE_MONO, LEARNED), (n,) bool. A rising loss
        fails it too: an unstable run is at no minimum."""
        return torch.tensor(settled(self.settling()).to_numpy(), dtype=torch.bool)

    def summary(self) -> pd.DataFrame:
        """One row per instance: the swept values, final # mono / # features, final loss, and the number of
        neurons with a clearly positive bias (the paper's proxy for polysemantic neurons)."""
        # an axis that changes several fields at once ("init_bias,bias_decay,freq") gives a column per field
        fields = [f for name, _ in self.sweep.axes for f in name.split(",")]
        rows: dict[str, list[Any]] = {f: self.values(f) for f in dict.fromkeys(fields)}
        rows["# mono / # features"] = self.mono_per_feature().tolist()
        rows["final loss"] = self.final_loss.tolist()
        rows["converged"] = ["yes" if c else "no" for c in self.converged().tolist()]
        rows[f"neurons with bias > {POSITIVE_BIAS}"] = n_positive_bias(self.b_in).tolist()
        return pd.DataFrame(rows)

    @property
    def has_weights(self) -> bool:
        return self.W_in is not None

    def _weight(self, name: str) -> Tensor:
        value = getattr(self, name)
        if value is None:
            raise MissingWeightsError(
                f"the result of sweep {self.sweep.name!r} was stored compact, without its final weights "
                f"({self.meta.get('path', 'not from a file')}); export it again with its weights, or delete "
                "the file to retrain the sweep"
            )
        return value.float()

    def model(self) -> ToyModel:
        """The final weights of every instance (float32, also when they were stored as float16)."""
        return ToyModel(self._weight("W_in"), self.b_in.float(), self._weight("W_out"), self.configs[0].activation)

    def activations(self) -> Tensor:
        """Single-feature activations h_i(F_j) of the final models, (n, k, N)."""
        return single_feature_activations(self.model(), self._weight("proj"), self.configs[0].task)


class MissingWeightsError(LookupError):
    """A compact result was asked for weights it does not hold."""


class MissingHeldoutError(LookupError):
    """A result trained before held-out losses were recorded was asked whether it has settled."""


def settling_between(
    before_loss: Tensor, after_loss: Tensor, before_mono: Tensor, after_mono: Tensor, const: Tensor
) -> pd.DataFrame:
    """The rule's three columns between two snapshots, one row per model: the relative change of the held-out loss
    (over the later loss; negative: falling), the change of # mono / # features, and the later loss over the
    constant-output loss."""
    before_loss, after_loss, const = before_loss.double(), after_loss.double(), const.double()
    return pd.DataFrame(
        {
            "loss change": ((after_loss - before_loss) / after_loss).tolist(),
            "mono change": (after_mono.double() - before_mono.double()).tolist(),
            "loss / constant": (after_loss / const).tolist(),
        }
    )


def settled(settling: pd.DataFrame) -> pd.Series:
    """The settledness rule on `SweepResult.settling()`'s columns: the held-out loss moved by less than SETTLE_LOSS
    of itself and # mono / # features by less than SETTLE_MONO over the last doubling of steps, and the loss is at
    most LEARNED x the constant-output loss."""
    return (
        (settling["loss change"].abs() < SETTLE_LOSS)
        & (settling["mono change"].abs() < SETTLE_MONO)
        & (settling["loss / constant"] <= LEARNED)
    )


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
    return SweepResult.from_arrays(result.sweep, arrays, meta)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))
    return a == b


class Instance(NamedTuple):
    """One model of a trained sweep: the sweep's result and the model's index in it, with its final numbers."""

    result: SweepResult
    index: int

    @property
    def config(self) -> ModelConfig:
        return self.result.configs[self.index]

    @property
    def sweep(self) -> str:
        return self.result.sweep.name

    @property
    def mono(self) -> float:
        """# monosemantic neurons / # features."""
        return float(self.result.mono_per_feature()[self.index])

    @property
    def fraction(self) -> float:
        """The fraction of neurons that are monosemantic."""
        return float(mono_fraction(self.result.r[self.index]))

    @property
    def silent(self) -> float:
        """The fraction of neurons that no single feature activates (r_i = 0 in eq. 7: dead to every F_j)."""
        return float((self.result.r[self.index] == 0).float().mean())

    @property
    def loss(self) -> float:
        return float(self.result.final_loss[self.index])

    @property
    def mean_bias(self) -> float:
        return float(self.result.b_in[self.index].float().mean())

    @property
    def converged(self) -> bool:
        return bool(self.result.converged()[self.index])
