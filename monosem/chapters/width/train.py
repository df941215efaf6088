"""What chapter 4 trains at each profile: Table 1's K rows at each width of the profile's grid, reusing the
instances of Table 1's LR rows where a K model has their exact configuration, and the sparse wide models.
"""

from __future__ import annotations

from dataclasses import dataclass

from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.paper import lr1, lr2, lr3, lr4
from monosem.profiles import PerProfile, Profile

__all__ = [
    "WEIGHTS",
    "K_LR",
    "ROWS",
    "ROW_FIELDS",
    "MASKED_ROW",
    "Grid",
    "GRIDS",
    "row_config",
    "masked_config",
    "plan",
    "sweeps",
]

WEIGHTS: set[str] = set()


K_LR = 0.007


# Table 1's K rows: what differs from the profile's default model (besides k, the batch and the lr).
ROWS = {
    "K0": {},
    "K1": {"bias_decay": 0.03, "init_bias": -1.0},
    "K2": {"bias_decay": 0.03, "init_bias": -1.0, "freq": "power"},
}


# The fields in which the rows differ: one batched sweep per k trains the rows as instances.
ROW_FIELDS = ("init_bias", "bias_decay", "freq")


# The sparse models use K1's recipe, the paper's way of making models monosemantic.
MASKED_ROW = "K1"


@dataclass(frozen=True)
class Grid:
    """What this chapter trains at one profile: the widths k of K0-K2; the width of the dense model the sparse
    ones are compared with, and how many times wider the sparse ones are (at weight density 1 / factor, so that
    each layer has as many weights as the dense model's)."""

    ks: tuple[int, ...]
    masked_base: int
    masked_factors: tuple[int, ...]


GRIDS = PerProfile(
    "chapter width's grid",
    {
        "ci": Grid(ks=(32, 64, 128, 256), masked_base=64, masked_factors=(2,)),
        # N = 256: k from N / 2 to 4N (the paper: N / 32 to 4N). The narrowest models have the largest batches
        # (batch x k is fixed): the three at k = N / 4 took 4.1 of the chapter's 15.1 min on the 2-core
        # machine, unloaded. Claim 7's peak needs a width below N / PEAK_NEAR to be seen rising
        # (`peak_range`): from N / 2 this grid cannot show a rise, so that part cannot be tested at `cpu`. K1
        # alone at N / 4 would show it for K1, at about 1.4 min more (a third of the 4.1 min: an estimate, not
        # measured; the cpu book is at about 80 of its 90 minutes), but at 2^14 steps K1's bias decay (0.03 at
        # lr 0.007) has not done its job (it needs 2^14.4 steps: DECAY_DONE), so every part on K1 or K2 cannot
        # be tested at `cpu` whatever the grid: the model is not added.
        # One sparse model, twice as wide (the one 4 times as wide took 2.7 min), to keep the chapter within
        # 12 minutes.
        "cpu": Grid(ks=(128, 256, 512, 1024), masked_base=256, masked_factors=(2,)),
        "paper": Grid(ks=tuple(2**i for i in range(4, 12)), masked_base=512, masked_factors=(2, 4)),
    },
)


def row_config(profile: Profile, row: str, k: int) -> ModelConfig:
    """The model of Table 1's row `row` (K0, K1 or K2) with k neurons, at the profile's scale."""
    return profile.base(d_hidden=k, batch_size=profile.batch_for(k), lr=K_LR, **ROWS[row])


def masked_config(profile: Profile, factor: int) -> ModelConfig:
    """A sparse K1 model `factor` times wider than the grid's `masked_base` at weight density 1 / factor: each
    layer has as many weights as the dense model of width `masked_base`, and the batch is that model's, so the two
    cost the same matmul FLOPs per step in principle (on a CPU the masked model costs its full width)."""
    base = GRIDS.of(profile).masked_base
    return row_config(profile, MASKED_ROW, base * factor).replace(
        batch_size=profile.batch_for(base), weight_density=1 / factor
    )


def _donors(profile: Profile) -> list[Sweep]:
    """Table 1's LR rows (`monosem.paper`), whose instances this chapter reuses where one has a K row's exact
    configuration (trained once, by the chapters that read them)."""
    return [lr1(profile), lr2(profile), lr3(profile), lr4(profile)]


def _find(cfg: ModelConfig, donors: list[Sweep]) -> tuple[Sweep, int] | None:
    for sweep in donors:
        if cfg in sweep.configs:
            return sweep, sweep.configs.index(cfg)
    return None


def plan(profile: Profile) -> tuple[dict[str, dict[int, tuple[Sweep, int]]], dict[int, tuple[Sweep, int]]]:
    """Where every model of the chapter comes from: for each K row and k, and for each sparse factor, the sweep
    that trains it and its instance there: an instance of another chapter's sweep where one has its exact
    configuration, else of the chapter's own batched sweep at that k over the rows left (`K_k256`: K0, K1 and K2
    differ only in their bias recipe and feature frequencies, so they train as one model of three instances), or
    of its own sweep (`SPARSE_k1024`)."""
    donors = _donors(profile)

    def source(name: str, cfg: ModelConfig) -> tuple[Sweep, int]:
        return _find(cfg, donors) or (make_sweep(name, cfg, seed=(cfg.seed,)), 0)

    rows: dict[str, dict[int, tuple[Sweep, int]]] = {row: {} for row in ROWS}
    for k in GRIDS.of(profile).ks:
        configs = {row: row_config(profile, row, k) for row in ROWS}
        found = {row: _find(cfg, donors) for row, cfg in configs.items()}
        left = [row for row in ROWS if found[row] is None]
        if left:
            own = make_sweep(
                f"K_k{k}",
                configs[left[0]],
                **{",".join(ROW_FIELDS): tuple(tuple(getattr(configs[r], f) for f in ROW_FIELDS) for r in left)},
            )
            found.update({row: (own, i) for i, row in enumerate(left)})
        for row in ROWS:
            rows[row][k] = found[row]
    masked = {}
    for factor in GRIDS.of(profile).masked_factors:
        cfg = masked_config(profile, factor)
        masked[factor] = source(f"SPARSE_k{cfg.d_hidden}", cfg)
    return rows, masked


def sweeps(profile: Profile) -> list[Sweep]:
    rows, masked = plan(profile)
    out: list[Sweep] = []
    for sweep, _ in [*(s for models in rows.values() for s in models.values()), *masked.values()]:
        if sweep not in out:
            out.append(sweep)
    return out
