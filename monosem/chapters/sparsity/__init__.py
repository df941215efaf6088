"""Chapter 5, feature sparsity (paper Section 4.1.5): claim 8.

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.sparsity.load(profile)`, `ms.sparsity.figures.<figure>(...)` in a notebook.
"""

from monosem.chapters.sparsity.analysis import *  # noqa: F403
from monosem.chapters.sparsity.train import *  # noqa: F403
