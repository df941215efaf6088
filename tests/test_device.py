"""The device code path: what can be checked without a GPU runs everywhere; the TF32 check needs CUDA."""

import collections

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from monosem.chapters import basins, negative_bias
from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.training import train


def cuda(test):
    """A test that needs a GPU: marked `cuda` (`pytest -m cuda` selects it) and skipped without one."""
    return pytest.mark.cuda(pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")(test))


def test_tf32_switch_is_recorded_and_inert_on_cpu():
    sweep = basins.lr1(get_profile("ci"))
    on = train(sweep, device="cpu", progress=False, tf32=True)
    off = train(sweep, device="cpu", progress=False, tf32=False)
    assert on.meta["tf32"] is True and off.meta["tf32"] is False
    assert torch.equal(on["W_out"], off["W_out"])  # TF32 only changes CUDA matmuls
    assert torch.backends.cuda.matmul.allow_tf32 is False  # restored afterwards


@cuda
def test_tf32_stays_close_to_fp32_on_cuda():
    sweep = negative_bias.lr3(get_profile("ci"))
    fp32 = train(sweep, device="cuda", progress=False, tf32=False)
    tf32 = train(sweep, device="cuda", progress=False, tf32=True)
    torch.testing.assert_close(tf32["final_loss"], fp32["final_loss"], rtol=2e-2, atol=1e-3)
    assert (tf32.mono_per_feature() - fp32.mono_per_feature()).abs().max() <= 2 / sweep.configs[0].n_features


# The ops that move data between host and device: a read of a device value on the host (`.item()`, `bool()`,
# `float()`), a tensor made from host data (`torch.tensor`, indexing with a Python list), and the ops whose
# output size depends on the data. On a GPU each one waits for the device to catch up.
HOST_ROUND_TRIPS = ("_local_scalar_dense", "lift_fresh", "nonzero", "masked_select")


class CountHostRoundTrips(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in HOST_ROUND_TRIPS:
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(
    "axes",
    [{"lr": (0.003, 0.03)}, {"eps": (1 / 16, 1 / 64)}, {"seed": (0, 1), "l1": (0.0, 0.01)}],
    ids=["one stream", "one seed, two densities", "two seeds"],
)
def test_the_step_loop_never_waits_for_the_device(axes):
    """Checked on CPU tensors, so it runs everywhere: the ops that would stall a GPU happen a fixed number of
    times per training run (set-up and the final results), not per step, per recorded loss or per snapshot."""
    counts = []
    for n_steps in (32, 128):
        with CountHostRoundTrips() as mode:
            train(make_sweep("S", get_profile("ci").base(n_steps=n_steps), **axes), device="cpu", progress=False)
        counts.append(mode.counts)
    assert counts[0] == counts[1]


def test_the_sparse_step_waits_for_the_device_twice_a_step_and_no_more():
    """The sparse decoder step (`data.sparse_step`) reads back how many features are active, twice a step (the
    entries active in any stream, then each stream's among them): output sizes that depend on the data. Nothing
    else of it waits. On a GPU a step of the sweeps that take it (k <= N / 4 at batch 2^23 / k) is milliseconds of
    work, beside which the wait is small (`bench --sparse --device cuda` measures the whole)."""
    base = get_profile("ci").base(d_hidden=16)  # k <= N / 4
    counts = []
    for n_steps in (32, 128):
        with CountHostRoundTrips() as mode:
            train(make_sweep("S", base.replace(n_steps=n_steps), lr=(0.003, 0.03)), device="cpu", progress=False)
        counts.append(mode.counts)
    assert counts[1] - counts[0] == collections.Counter({"nonzero": 2 * (128 - 32)})


def test_same_run_bounds_are_exact_on_cpu_and_tf32_sized_on_cuda():
    """The comparison the `cpu_exact` tests use, checked on both branches (the CUDA one on CPU tensors)."""
    from conftest import assert_same_run

    gen = torch.Generator().manual_seed(0)
    w = torch.randn(4, 64, generator=gen)
    tf32_like = w * (1 + 5e-3 * torch.randn(w.shape, generator=gen))  # rounding grown over training
    other = torch.randn(4, 64, generator=gen)  # another model
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert_same_run(w, w + 1e-7, "W_in", 64, cpu)
    with pytest.raises(AssertionError):
        assert_same_run(tf32_like, w, "W_in", 64, cpu)
    assert_same_run(tf32_like, w, "W_in", 64, gpu)
    with pytest.raises(AssertionError):
        assert_same_run(other, w, "W_in", 64, gpu)
    mono = torch.tensor([0.5, 0.25])
    assert_same_run(mono + 2 / 64, mono, "snap_mono", 64, gpu)
    with pytest.raises(AssertionError):
        assert_same_run(mono + 3 / 64, mono, "snap_mono", 64, gpu)
