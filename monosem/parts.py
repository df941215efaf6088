"""A sweep in parts: its instances are independent, so a large sweep can train in pieces and be merged.

Instance i of a sweep sees the data stream of its seed and draws its initial weights from its seed alone
(`monosem.data`, `monosem.model`): neither depends on the other instances or on the instance's position. A
part, a sweep over a contiguous run of the instances, therefore trains each of them exactly as the whole sweep
does, and on a CPU the merged parts equal the whole sweep bit for bit (tested). On a GPU a batched matrix
product of another batch size may round differently, so there the merged parts agree to float precision only.

A part is an ordinary `Sweep`: the whole sweep's grid with its first axis of more than one value cut into
consecutive slices. As the first axis varies slowest, each slice is a run of consecutive instances, and the
parts' instances, concatenated, are the whole sweep's in order.
"""

from __future__ import annotations

import torch

from monosem.config import Sweep
from monosem.results import COMMON_ARRAYS, SweepResult


def max_parts(sweep: Sweep) -> int:
    """How many parts `sweep` can be cut into: the length of its first axis of more than one value."""
    return next((len(values) for _, values in sweep.axes if len(values) > 1), 1)


def split(sweep: Sweep, n_parts: int) -> list[Sweep]:
    """`sweep` cut into `n_parts` parts (as even as the axis allows) along its first axis of more than one value.

    Part j is named `<name>_part<j>of<n>`; names do not enter the cache key, which is the configurations.
    """
    if isinstance(n_parts, bool) or not isinstance(n_parts, int) or not 1 <= n_parts <= max_parts(sweep):
        raise ValueError(
            f"n_parts must be an integer in [1, {max_parts(sweep)}] for sweep {sweep.name!r}, got {n_parts!r}"
        )
    if n_parts == 1:
        return [sweep]
    axis = next(i for i, (_, values) in enumerate(sweep.axes) if len(values) > 1)
    name, values = sweep.axes[axis]
    size, extra = divmod(len(values), n_parts)
    parts, start = [], 0
    for j in range(n_parts):
        stop = start + size + (j < extra)
        axes = (*sweep.axes[:axis], (name, values[start:stop]), *sweep.axes[axis + 1 :])
        parts.append(Sweep(f"{sweep.name}_part{j + 1}of{n_parts}", sweep.base, axes))
        start = stop
    return parts


def merge(sweep: Sweep, results: list[SweepResult]) -> SweepResult:
    """The result of `sweep` from the results of its parts, in order: per-instance arrays concatenated.

    meta: the first part's, with seconds the sum over the parts (the device time spent on the sweep), and
    parts, the parts' own meta in order.
    """
    configs = tuple(c for r in results for c in r.configs)
    if configs != sweep.configs:
        raise ValueError(
            f"the parts hold {len(configs)} configurations that are not those of sweep {sweep.name!r} "
            f"({sweep.n_inst} instances), in order"
        )
    first = results[0]
    if any(set(r.arrays) != set(first.arrays) for r in results):
        raise ValueError(f"the parts of sweep {sweep.name!r} hold different arrays")
    arrays = {}
    for name, value in first.arrays.items():
        if name in COMMON_ARRAYS:
            if any(not torch.equal(r[name], value) for r in results):
                raise ValueError(f"the parts of sweep {sweep.name!r} disagree on {name}")
            arrays[name] = value
        else:
            arrays[name] = torch.cat([r[name] for r in results])
    meta = {k: v for k, v in first.meta.items() if k != "path"}
    if len(results) > 1:
        meta["seconds"] = sum(r.seconds for r in results)
        meta["parts"] = [{k: v for k, v in r.meta.items() if k != "path"} for r in results]
    return SweepResult.from_arrays(sweep, arrays, meta)
