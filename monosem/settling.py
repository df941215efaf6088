"""How well the settledness rule tells a settled model from one still learning: its two error rates, measured.

The rule (`monosem.results.settled`) reads two snapshots one doubling of steps apart, both evaluated on the same
held-out samples: a model has settled when its held-out loss moved by less than SETTLE_LOSS of itself and its
# mono / # features by less than SETTLE_MONO, and its loss is at most LEARNED x the constant-output loss.

- False alarms: a settled model trained on must still be called settled. Every model the rule called settled at
  the end of its run is trained on at its own learning rate, without bias decay, for a quarter of its run (at
  least 2^14 steps), after rebuilding its optimizer's moments (`continuation`, CONTINUE_WARMUP); the rule is applied
  between the first and the last snapshot of that continuation measured as the rule measures (`flat_pair`,
  `false_alarms`), so that the model's noise at its own lr is in the comparison, as it is in the rule.
- Detection: a model still learning must be called unsettled. A model whose held-out loss fell, or whose
  # mono / # features moved, by more than STILL_LEARNING x the rule's thresholds between T/2 and T was still
  learning at T/2; the rule is applied to its snapshots at T/4 and T/2 (`detection`).

Chapter 1 prints both rates. Nothing here tests them against a bar: they are measurements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor

from monosem import training
from monosem.cache import Cache
from monosem.config import Sweep
from monosem.model import ToyModel
from monosem.optim import T_MAX
from monosem.results import SETTLE_LOSS, SETTLE_MONO, WEIGHT_ARRAYS, SweepResult, settled, settling_between

# The continuation: the model's own learning rate (times this), no bias decay, for a quarter of the run (a doubling
# would cost as much as the run itself), but at least CONTINUE_MIN steps (at most the run's own): its first and last
# snapshots that average # mono / # features over four periods, as the rule's do, are 2^13 and 2^14 (`flat_pair`).
# Only the models the rule called settled are continued (`flat_instances`): at `cpu` a few, at `long` 2^15 steps each.
# Not a tiny lr: the final weights sit at the top of the lr schedule, at the top of their noise (`training.rest_steps`),
# and a model trained on at a tiny lr from there sinks to the bottom of it (14 % in loss at lr 0.03 at `cpu`), which
# the rule would rightly see as movement; at its own lr, read at rest at both ends, a settled model stays put.
CONTINUE_LR = 1.0
CONTINUE_PART = 4
CONTINUE_MIN = 2**14
# The continuation first rebuilds the optimizer's moments (a result keeps the weights, not the moments) over this
# many batches at lr 0 (`training.train(moment_warmup=)`): LAMB's second moments then hold 1 - 0.999^4096 = 98 % of
# their steady value. Without it, the first steps from zero moments are sign-like and as large as the lr allows:
# the one LR1 model of `long` that had settled (lr 0.03, # mono / # features 0.656, 0.667, 0.674 at 2^15, 2^16, 2^17)
# lost 0.12 of it over a continuation that started so.
CONTINUE_WARMUP = 2**12
# What the issue asks of the rule's false alarms (quoted on the page beside the measured rate, not tested).
FALSE_ALARM_BAR = 0.05
# Ground truth of "still learning at T/2": between T/2 and T its held-out loss fell by more than this many times
# SETTLE_LOSS, or its # mono / # features moved by more than this many times SETTLE_MONO. Twice the thresholds,
# so that a model just at a threshold (which the rule may call either way) is not counted as a miss.
STILL_LEARNING = 2.0
# What a continuation leaves out of the cache: its weights (and every neuron's r_i at every snapshot).
DROPPED = (*WEIGHT_ARRAYS, "snap_r")


between = settling_between  # the rule's columns between any two snapshots (`monosem.results`)


def snapshot_index(result: SweepResult, step: int) -> int:
    """The index of the snapshot at `step`; ValueError when there is none."""
    hits = (result.snap_steps == step).nonzero().flatten().tolist()
    if not hits:
        steps = result.snap_steps.tolist()
        raise ValueError(f"sweep {result.sweep.name!r} has no snapshot at step {step} (snapshots at {steps})")
    return hits[0]


def at_steps(result: SweepResult, first: int, last: int) -> pd.DataFrame:
    """The rule's columns between the snapshots at steps `first` and `last` of every instance."""
    i, j = snapshot_index(result, first), snapshot_index(result, last)
    if result.snap_heldout is None or result.heldout_const is None:
        raise ValueError(f"sweep {result.sweep.name!r} has no held-out losses: trained before they were recorded")
    h, m = result.snap_heldout, result.snap_mono
    return between(h[:, i], h[:, j], m[:, i], m[:, j], result.heldout_const)


# --- when a model settles ---------------------------------------------------------------------------------------


def settle_steps(result: SweepResult) -> list[int | None]:
    """For every instance, the first snapshot step s (a power of two, from 2^11, where held-out losses are read at
    rest) from which the rule holds over every later doubling (s/2 -> s, s -> 2s, ..., to the end of the run);
    None when it does not hold over the last doubling. The run length a model needs to settle, read off its own
    snapshots: a longer run can only add snapshots, so this is the measurement behind a profile's run length."""
    steps = [int(s) for s in result.snap_steps.tolist()]
    pairs = [(a, b) for a, b in zip(steps, steps[1:], strict=False) if b == 2 * a and b >= 4 * T_MAX]
    holds = [settled(at_steps(result, a, b)).tolist() for a, b in pairs]
    out: list[int | None] = []
    for i in range(result.sweep.n_inst):
        first = None
        for (_, b), ok in zip(reversed(pairs), reversed(holds), strict=True):
            if not ok[i]:
                break
            first = b
        out.append(first)
    return out


# --- false alarms ----------------------------------------------------------------------------------------------


def flat_instances(result: SweepResult) -> list[int]:
    """The models the rule called settled at the end of their run (which includes LEARNED): the flat ones, whose
    continuations measure the false alarms."""
    return result.converged().nonzero().flatten().tolist()


def continue_steps(n_steps: int) -> int:
    """A continuation's length for a run of `n_steps`: a CONTINUE_PART-th of it, but at least CONTINUE_MIN (at most
    the run's own length), so that its first and last snapshots can be measured as the rule measures."""
    return max(n_steps // CONTINUE_PART, min(n_steps, CONTINUE_MIN))


def continuation(sweep: Sweep, instances: list[int] | None = None) -> Sweep:
    """`sweep`'s instances `instances` (all by default) trained on: each at CONTINUE_LR x its lr, no bias decay, for
    `continue_steps` steps, its own seed (the seed fixes the projection the model was trained on, so it must stay;
    its data stream then replays the first batches of the run, samples the model last saw long ago). Instance j is
    instance instances[j] of `sweep`. Needs a sweep whose axes do not touch bias_decay or n_steps and sweep lr on
    an axis of its own."""
    return _trained_on(sweep, instances, continue_steps(sweep.base.n_steps), "flat")


def extension(sweep: Sweep, instances: list[int] | None = None) -> Sweep:
    """`sweep`'s instances `instances` (all by default) trained on for one doubling more: as many steps again as
    the run's, at their own lr (times CONTINUE_LR), no bias decay (a run's second half has none), their own seed,
    as `continuation`: `unsettled_more` reads whether a run twice as long would have settled them."""
    return _trained_on(sweep, instances, sweep.base.n_steps, "more")


def _trained_on(sweep: Sweep, instances: list[int] | None, n_steps: int, suffix: str) -> Sweep:
    names = [n for name, _ in sweep.axes for n in name.split(",")]
    shared_lr = any("lr" in name.split(",") and name != "lr" for name, _ in sweep.axes)
    if {"bias_decay", "n_steps"} & set(names) or shared_lr:
        raise ValueError(f"sweep {sweep.name!r} sweeps {names}: its continuation needs lr alone on its axis")
    instances = list(range(sweep.n_inst)) if instances is None else list(instances)
    if not instances or not all(0 <= i < sweep.n_inst for i in instances):
        raise ValueError(f"instances must be some of 0..{sweep.n_inst - 1} of sweep {sweep.name!r}, got {instances}")
    base = sweep.base.replace(lr=sweep.base.lr * CONTINUE_LR, bias_decay=0.0, n_steps=n_steps)

    def value(i: int) -> tuple:
        c = sweep.configs[i]
        return tuple(c.lr * CONTINUE_LR if n == "lr" else getattr(c, n) for n in names)

    values = tuple(value(i) for i in instances)
    axes = ((",".join(names), values if len(names) > 1 else tuple(v for (v,) in values)),) if names else ()
    return Sweep(f"{sweep.name}_{suffix}", base, axes)


def continue_flat(result: SweepResult, cache: Cache, progress: bool = True) -> SweepResult | None:
    """The continuation of `result`'s flat models (`flat_instances`, `continuation`), from the cache when it is
    there: keyed by the continuation's configurations and the trained sweep's key (the weights it starts from).
    Keeps every array but `DROPPED`, every period's numbers (`window_pairs`) and the training seconds. None when no
    model had settled."""
    instances = flat_instances(result)
    if not instances:
        return None
    return _train_on(result, instances, continuation(result.sweep, instances), cache, progress)


def unsettled_instances(result: SweepResult) -> list[int]:
    """The models the rule did not call settled at the end of their run."""
    return (~result.converged()).nonzero().flatten().tolist()


def extend_unsettled(result: SweepResult, cache: Cache, progress: bool = True) -> SweepResult | None:
    """The extension (`extension`) of `result`'s models that had not settled (`unsettled_instances`), from the cache
    when it is there, keyed as `continue_flat`'s; None when every model had settled."""
    instances = unsettled_instances(result)
    if not instances:
        return None
    return _train_on(result, instances, extension(result.sweep, instances), cache, progress)


def _train_on(result: SweepResult, instances: list[int], sweep: Sweep, cache: Cache, progress: bool) -> SweepResult:
    """`result`'s final models `instances` trained on as `sweep` says (a `continuation` or an `extension` of them),
    their moments rebuilt first (CONTINUE_WARMUP), every period recorded; from the cache when there."""
    config = {
        "from": result.sweep.key(cache.version),
        "configs": [c.to_dict() for c in sweep.configs],
        "moment_warmup": CONTINUE_WARMUP,
        "record_periods": True,
    }

    def compute() -> dict[str, Tensor]:
        m = result.model()
        init = ToyModel(*(w[instances].contiguous() for w in (m.W_in, m.b_in, m.W_out)), m.activation)
        trained = training.train(
            sweep, init=init, progress=progress, moment_warmup=CONTINUE_WARMUP, record_periods=True
        )
        kept = {k: v for k, v in trained.arrays.items() if k not in DROPPED}
        return {**kept, "seconds": torch.tensor(trained.seconds, dtype=torch.float64)}

    arrays = dict(cache.get_or_compute(sweep.name, config, compute))
    seconds = float(arrays.pop("seconds"))
    return SweepResult.from_arrays(sweep, arrays, {"seconds": seconds})


def flat_pair(cont: SweepResult) -> tuple[int, int]:
    """The steps of a continuation between which the rule is applied: its first snapshot measured as its last is
    (held-out loss at rest from 2^11 steps on, `training.rest_steps`; # mono / # features the mean over as many
    periods of the schedule, `training.mono_periods`) and its last. At 2^10 the count is the top of the schedule's,
    which at lr 0.03 is 0.1 above a period's mean: comparing it with a mean made a false alarm of the one settled LR1
    model of `long`. A continuation too short for two such snapshots compares its first snapshot at rest (a mean
    over fewer periods, so noisier than the rule's: a rate measured so is an upper bound) or, shorter still, its
    first snapshot."""
    steps = [int(s) for s in cont.snap_steps.tolist()]
    n_steps = steps[-1]
    rest = [s for s in steps if s >= 4 * T_MAX]
    alike = [s for s in rest if training.mono_periods(s, n_steps) == training.mono_periods(n_steps, n_steps)]
    first = alike[0] if len(alike) >= 2 else rest[0] if len(rest) >= 2 else steps[0]
    return first, n_steps


def false_alarms(cont: SweepResult | None, trained: SweepResult) -> pd.DataFrame:
    """The rule over the continuation `cont` of `trained`'s flat models (`flat_pair`), one row per continued model,
    with `instance` (its index in `trained`) and `flagged` (called unsettled over the continuation). No rows when
    no model had settled (`cont` None)."""
    instances = flat_instances(trained)
    if cont is None or not instances:
        return pd.DataFrame(columns=["loss change", "mono change", "loss / constant", "instance", "flagged"])
    if cont.sweep.n_inst != len(instances):
        raise ValueError(
            f"continuation {cont.sweep.name!r} holds {cont.sweep.n_inst} models, {trained.sweep.name!r} has "
            f"{len(instances)} flat ones: it continues another result"
        )
    table = at_steps(cont, *flat_pair(cont))
    table["instance"] = instances
    table["flagged"] = ~settled(table)
    return table


def window_pairs(cont: SweepResult | None) -> pd.DataFrame:
    """The rule between every two disjoint windows of a continuation's recorded periods (`period_mono`,
    `period_heldout`), one row per (model, pair): windows of `training.MONO_PERIODS` periods, as a snapshot
    averages, the first the window of the first snapshot `flat_pair` compares (the continuation's start, where the
    model settles back after its restart, left out, as there); the held-out loss of a window is that of its last
    period, as a snapshot's. The rule's columns (`between`) with `model` (the continued model's index) and
    `flagged`. Many comparisons per flat model, where `false_alarms` makes one: the noise the rule sees between two
    doublings, sampled more often."""
    columns = ["loss change", "mono change", "loss / constant", "model", "flagged"]
    if cont is None or cont.period_mono is None:
        return pd.DataFrame(columns=columns)
    w, period = training.MONO_PERIODS, 2 * T_MAX
    first, last = flat_pair(cont)
    # the first window is the first compared snapshot's own (its last w periods) where it has w; else it starts there
    full = training.mono_periods(first, last) == w
    start = first // period - w if full else first // period
    ends = list(range(start + w, cont.period_mono.shape[1] + 1, w))  # window q ends after period ends[q]
    if len(ends) < 2:
        return pd.DataFrame(columns=columns)
    mono = torch.stack([cont.period_mono[:, e - w : e].mean(1) for e in ends], 1)
    loss = torch.stack([cont.period_heldout[:, e - 1] for e in ends], 1)
    tables = []
    for a in range(len(ends)):
        for b in range(a + 1, len(ends)):
            t = between(loss[:, a], loss[:, b], mono[:, a], mono[:, b], cont.heldout_const)
            t["model"] = range(cont.sweep.n_inst)
            tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    table["flagged"] = ~settled(table)
    return table


def unsettled_more(ext: SweepResult | None, trained: SweepResult) -> pd.DataFrame:
    """Would one doubling more have settled `trained`'s unsettled models? One row per extended model (`ext`, the
    `extension` of `trained`'s `unsettled_instances`): its `instance` and lr, the rule between the run's last
    snapshot (step T) and the extension's (2T in all; both on the same held-out samples, both # mono means over the
    same number of periods) with `settled`, and `settled within` (the rule over the extension's own last doubling,
    which the extension's restart does not reach into). No rows when every model had settled (`ext` None)."""
    columns = ["instance", "lr", "loss change", "mono change", "loss / constant", "settled", "settled within"]
    instances = unsettled_instances(trained)
    if ext is None or not instances:
        return pd.DataFrame(columns=columns)
    if ext.sweep.n_inst != len(instances):
        raise ValueError(
            f"extension {ext.sweep.name!r} holds {ext.sweep.n_inst} models, {trained.sweep.name!r} has "
            f"{len(instances)} unsettled ones: it extends another result"
        )
    idx = torch.tensor(instances)
    if trained.heldout_const is None or trained.snap_heldout is None:
        raise ValueError(f"sweep {trained.sweep.name!r} has no held-out losses: trained before they were recorded")
    table = between(
        trained.snap_heldout[idx, -1],
        ext.snap_heldout[:, -1],
        trained.snap_mono[idx, -1],
        ext.snap_mono[:, -1],
        trained.heldout_const[idx],
    )
    table.insert(0, "lr", [trained.configs[i].lr for i in instances])
    table.insert(0, "instance", instances)
    table["settled"] = settled(table)
    table["settled within"] = ext.converged().tolist()
    return table[columns]


# --- detection -------------------------------------------------------------------------------------------------


def still_learning(result: SweepResult) -> pd.Series:
    """Which models were still learning at T/2: between T/2 and T the held-out loss fell by more than
    STILL_LEARNING x SETTLE_LOSS, or # mono / # features moved by more than STILL_LEARNING x SETTLE_MONO."""
    t = result.configs[0].n_steps
    later = at_steps(result, t // 2, t)
    return (later["loss change"] < -STILL_LEARNING * SETTLE_LOSS) | (
        later["mono change"].abs() > STILL_LEARNING * SETTLE_MONO
    )


def detection(result: SweepResult) -> pd.DataFrame:
    """The rule on the snapshots before the last, at T/4 and T/2, one row per model, with `still learning` (the
    ground truth, `still_learning`) and `flagged` (called unsettled there)."""
    t = result.configs[0].n_steps
    table = at_steps(result, t // 4, t // 2)
    table["still learning"] = still_learning(result)
    table["flagged"] = ~settled(table)
    return table


# --- both rates ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """n_flat: continued models (those the rule called settled at the end of their run); n_false: those it called
    unsettled over the continuation; n_pairs, n_pairs_false: the same over every two disjoint windows of their
    continuations (`window_pairs`). n_learning: models still learning at T/2; n_caught: those the rule called
    unsettled at (T/4, T/2)."""

    n_flat: int
    n_false: int
    n_learning: int
    n_caught: int
    n_pairs: int = 0
    n_pairs_false: int = 0

    @property
    def false_alarm_rate(self) -> float:
        return self.n_false / self.n_flat if self.n_flat else float("nan")

    @property
    def pair_false_alarm_rate(self) -> float:
        """False alarms over every two disjoint windows of the continuations (`window_pairs`)."""
        return self.n_pairs_false / self.n_pairs if self.n_pairs else float("nan")

    @property
    def detection_rate(self) -> float:
        return self.n_caught / self.n_learning if self.n_learning else float("nan")


def rates(continuations: Iterable[SweepResult | None], trained: Iterable[SweepResult]) -> Rates:
    """Both error rates: false alarms over the continued models (the continuations of `trained`'s flat models, in
    order; None where none had settled), detection over the models of `trained` still learning at T/2."""
    trained, continuations = list(trained), list(continuations)
    fa = [false_alarms(c, r) for c, r in zip(continuations, trained, strict=True)]
    det = pd.concat([detection(r) for r in trained], ignore_index=True)
    learning = det[det["still learning"]]
    n_false = sum(int(t["flagged"].sum()) for t in fa)
    pairs = [window_pairs(c) for c in continuations]
    return Rates(
        sum(len(t) for t in fa),
        n_false,
        len(learning),
        int(learning["flagged"].sum()),
        sum(len(p) for p in pairs),
        sum(int(p["flagged"].sum()) for p in pairs),
    )


def table(named: dict[str, SweepResult], continuations: dict[str, SweepResult | None]) -> pd.DataFrame:
    """One row per model of the `named` trained sweeps: its lr and seed, whether the rule called it settled at T,
    the rule's loss and mono changes over its continuation and whether it was flagged there (NaN and None for a
    model not continued: one that had not settled); the same at (T/4, T/2), whether it was still learning and
    whether the rule flagged it. For the page."""
    rows = []
    for name, result in named.items():
        fa = false_alarms(continuations[name], result).set_index("instance")
        det, settled_at_t = detection(result), result.converged().tolist()
        for i, c in enumerate(result.configs):
            continued = i in fa.index
            rows.append(
                {
                    "sweep": name,
                    "lr": c.lr,
                    "seed": c.seed,
                    "settled at T": bool(settled_at_t[i]),
                    "continued: loss change": fa["loss change"][i] if continued else float("nan"),
                    "continued: mono change": fa["mono change"][i] if continued else float("nan"),
                    "continued: flagged": bool(fa["flagged"][i]) if continued else None,
                    "T/4 -> T/2: loss change": det["loss change"][i],
                    "T/4 -> T/2: mono change": det["mono change"][i],
                    "still learning at T/2": bool(det["still learning"][i]),
                    "T/4 -> T/2: flagged": bool(det["flagged"][i]),
                }
            )
    return pd.DataFrame(rows)
