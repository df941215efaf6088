"""Why a machine has no CUDA, said so that the user knows what to do (`python -m monosem train --profile paper`).

pip installs the torch wheel of the release pinned in requirements.txt without looking at the machine's driver:
the default wheel on PyPI is a CUDA build that needs a recent driver, and with an older one
`torch.cuda.is_available()` is simply False. A CPU build (a CPU-only index, or a platform without CUDA wheels) has
no CUDA at all. The two call for different fixes.
"""

from __future__ import annotations

import torch

WHEEL_INDEX = "https://download.pytorch.org/whl"


def no_cuda_reason(cuda_version: str | None = None, available: bool | None = None) -> str | None:
    """None when CUDA is usable; else one or two sentences on why not and what to do. `cuda_version` (what
    `torch.version.cuda` says: None for a CPU build) and `available` default to this process's torch."""
    cuda_version = torch.version.cuda if cuda_version is None and available is None else cuda_version
    available = torch.cuda.is_available() if available is None else available
    if available:
        return None
    if cuda_version is None:
        return (
            f"this is a CPU build of torch {torch.__version__.split('+')[0]}: for a GPU, install a CUDA build, e.g. "
            f"pip install torch=={torch.__version__.split('+')[0]} --index-url {WHEEL_INDEX}/cu126"
        )
    tag = "cu" + cuda_version.replace(".", "")
    return (
        f"torch was built for CUDA {cuda_version} ({tag}) but finds no usable GPU: is there one (nvidia-smi), and is "
        f"its driver new enough for CUDA {cuda_version}? With an older driver, install the build for the CUDA "
        f"version nvidia-smi reports, e.g. pip install torch=={torch.__version__.split('+')[0]} "
        f"--index-url {WHEEL_INDEX}/cu126"
    )
