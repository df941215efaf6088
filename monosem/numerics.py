"""Process-wide numerical settings a training run needs, entered for the run and restored on exit.

Three settings live outside any tensor: TF32 matmuls on CUDA, flushing float32 denormals to zero on a CPU, and
glibc's allocator thresholds. `numerics(device, tf32)` sets them for the duration of a `with` block and puts
back what it found, so that no library call leaves the process changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import sys
from collections.abc import Iterator

import torch

# glibc's documented defaults (mallopt(3)): 128 KiB for each of the three thresholds.
_GLIBC_DEFAULT = 128 * 1024
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def _set_malloc(mmap_threshold: int, trim_threshold: int, top_pad: int) -> None:
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
        libc.mallopt(_M_TOP_PAD, top_pad)


@contextlib.contextmanager
def full_precision() -> Iterator[None]:
    """Matmuls in full float32 for the block (TF32 off on CUDA), restored on exit. Training measures its models so
    (every snapshot's r_i and # mono / # features, every held-out loss), whatever precision its steps use: under
    TF32 a neuron with r_i near the 0.999 threshold could count differently in a snapshot than in the final weights'
    r, which is recomputed in float32 on the CPU. On a CPU it changes nothing."""
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


@contextlib.contextmanager
def numerics(device: torch.device, tf32: bool) -> Iterator[None]:
    """TF32 matmuls on CUDA as asked; on a CPU, denormals flushed and freed memory kept for reuse.

    Why the CPU settings: Adam's second moments of rarely active neurons decay into float32 denormals, which
    make CPU arithmetic several times slower (flushing them changes no result beyond float32 rounding); and
    every step allocates float32 tensors of megabytes that glibc would map afresh each time, page faults that
    cost up to a third of a step on two cores. On exit TF32 and the denormal mode are restored to what they
    were, and the allocator thresholds to glibc's defaults (glibc cannot report their current values; its
    dynamic adjustment of the mmap threshold stays off, which changes no result).
    """
    previous_tf32 = torch.backends.cuda.matmul.allow_tf32
    cpu = device.type == "cpu"
    flush = cpu and torch.set_flush_denormal(False)  # returns whether this CPU can flush denormals at all
    try:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        if cpu:
            _set_malloc(1 << 30, 1 << 30, 64 << 20)
        torch.set_flush_denormal(flush)
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.backends.cuda.matmul.allow_tf32 = previous_tf32
        if cpu:
            _set_malloc(_GLIBC_DEFAULT, _GLIBC_DEFAULT, _GLIBC_DEFAULT)
