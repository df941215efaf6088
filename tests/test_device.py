"""The device code path: what can be checked without a GPU runs everywhere; the TF32 check needs CUDA."""

import pytest
import torch

from monosem.profiles import get_profile
from monosem.training import train

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_tf32_switch_is_recorded_and_inert_on_cpu():
    sweep = get_profile("ci").sweep("LR1")
    on = train(sweep, device="cpu", progress=False, tf32=True)
    off = train(sweep, device="cpu", progress=False, tf32=False)
    assert on.meta["tf32"] is True and off.meta["tf32"] is False
    assert torch.equal(on["W_out"], off["W_out"])  # TF32 only changes CUDA matmuls
    assert torch.backends.cuda.matmul.allow_tf32 is False  # restored afterwards


@cuda
def test_tf32_stays_close_to_fp32_on_cuda():
    sweep = get_profile("ci").sweep("LR3")
    fp32 = train(sweep, device="cuda", progress=False, tf32=False)
    tf32 = train(sweep, device="cuda", progress=False, tf32=True)
    torch.testing.assert_close(tf32["final_loss"], fp32["final_loss"], rtol=2e-2, atol=1e-3)
    assert (tf32.mono_per_feature() - fp32.mono_per_feature()).abs().max() <= 2 / sweep.configs[0].n_features
