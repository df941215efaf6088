"""The old name of `monosem.shards`, kept only while tests/test_ray.py (held by another change) imports it and
matches its old error text: delete this file once that test imports `monosem.shards`."""

from monosem import shards
from monosem.config import Sweep
from monosem.shards import COMMON_ARRAYS, merge
from monosem.shards import max_shards as max_parts

__all__ = ["COMMON_ARRAYS", "max_parts", "merge", "split"]


def split(sweep: Sweep, n_parts: int) -> list[Sweep]:
    try:
        return shards.split(sweep, n_parts)
    except ValueError as err:
        raise ValueError(str(err).replace("n_shards", "n_parts")) from None
