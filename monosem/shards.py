"""A sweep in shards: its instances are independent, so a large sweep can train in pieces and be merged.

(A shard is a piece of a sweep for the Ray cluster, `monosem.cluster`; a `claims.Part` is a part of a paper's claim.
What is stored keeps the older word: a shard is named `<name>_part<j>of<n>`, a cluster keeps finished shards in
`<cache>/parts/`, and a merged result's meta lists them under "parts", so that results and a cluster's
half-finished work from before the rename are read as they are.)

Instance i of a sweep sees the data stream of its seed and draws its initial weights from its seed alone
(`monosem.data`, `monosem.model`): neither depends on the other instances or on the instance's position. A
shard, a sweep over a contiguous run of the instances, therefore trains each of them exactly as the whole sweep
does, and on a CPU the merged shards equal the whole sweep bit for bit (tested). On a GPU a batched matrix
product of another batch size may round differently, so there the merged shards agree to float precision only.

A shard is an ordinary `Sweep`: the whole sweep's grid with its first axis of more than one value cut into
consecutive slices. As the first axis varies slowest, each slice is a run of consecutive instances, and the
shards' instances, concatenated, are the whole sweep's in order.
"""

from __future__ import annotations

import torch

from monosem.config import Sweep
from monosem.results import COMMON_ARRAYS, SweepResult


def max_shards(sweep: Sweep) -> int:
    """How many shards `sweep` can be cut into: the length of its first axis of more than one value."""
    return next((len(values) for _, values in sweep.axes if len(values) > 1), 1)


def split(sweep: Sweep, n_shards: int) -> list[Sweep]:
    """`sweep` cut into `n_shards` shards (as even as the axis allows) along its first axis of more than one value.

    Shard j is named `<name>_part<j>of<n>`; names do not enter the cache key, which is the configurations.
    """
    if isinstance(n_shards, bool) or not isinstance(n_shards, int) or not 1 <= n_shards <= max_shards(sweep):
        raise ValueError(
            f"n_shards must be an integer in [1, {max_shards(sweep)}] for sweep {sweep.name!r}, got {n_shards!r}"
        )
    if n_shards == 1:
        return [sweep]
    axis = next(i for i, (_, values) in enumerate(sweep.axes) if len(values) > 1)
    name, values = sweep.axes[axis]
    size, extra = divmod(len(values), n_shards)
    shards, start = [], 0
    for j in range(n_shards):
        stop = start + size + (j < extra)
        axes = (*sweep.axes[:axis], (name, values[start:stop]), *sweep.axes[axis + 1 :])
        shards.append(Sweep(f"{sweep.name}_part{j + 1}of{n_shards}", sweep.base, axes))
        start = stop
    return shards


def merge(sweep: Sweep, results: list[SweepResult]) -> SweepResult:
    """The result of `sweep` from the results of its shards, in order: per-instance arrays concatenated.

    meta: the first shard's, with seconds the sum over the shards (the device time spent on the sweep), and
    "parts", the shards' own meta in order.
    """
    configs = tuple(c for r in results for c in r.configs)
    if configs != sweep.configs:
        raise ValueError(
            f"the shards hold {len(configs)} configurations that are not those of sweep {sweep.name!r} "
            f"({sweep.n_inst} instances), in order"
        )
    first = results[0]
    if any(set(r.arrays) != set(first.arrays) for r in results):
        raise ValueError(f"the shards of sweep {sweep.name!r} hold different arrays")
    arrays = {}
    for name, value in first.arrays.items():
        if name in COMMON_ARRAYS:
            if any(not torch.equal(r[name], value) for r in results):
                raise ValueError(f"the shards of sweep {sweep.name!r} disagree on {name}")
            arrays[name] = value
        else:
            arrays[name] = torch.cat([r[name] for r in results])
    meta = {k: v for k, v in first.meta.items() if k != "path"}
    if len(results) > 1:
        meta["seconds"] = sum(r.seconds for r in results)
        meta["parts"] = [{k: v for k, v in r.meta.items() if k != "path"} for r in results]
    return SweepResult.from_arrays(sweep, arrays, meta)
