"""The message `train --profile paper` gives on a machine without CUDA names the cause and the fix."""

import torch

from monosem.device import no_cuda_reason


def test_no_message_when_cuda_works():
    assert no_cuda_reason("12.6", True) is None


def test_a_cuda_build_without_a_gpu_asks_about_the_driver():
    text = no_cuda_reason("13.0", False)
    assert "torch was built for CUDA 13.0" in text and "driver new enough" in text
    assert "--index-url https://download.pytorch.org/whl/cu126" in text


def test_a_cpu_build_says_so():
    text = no_cuda_reason(None, False)
    assert text.startswith("this is a CPU build of torch") and "--index-url" in text


def test_this_process():
    assert (no_cuda_reason() is None) == torch.cuda.is_available()
