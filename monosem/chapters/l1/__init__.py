"""Chapter 3, L1 regularisation of the activations against the negative bias (paper Section 4.1.3). Claim 6.

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.l1.load(profile)`, `ms.l1.figures.<figure>(...)` in a notebook.
"""

from monosem.chapters.l1.analysis import *  # noqa: F403
from monosem.chapters.l1.train import *  # noqa: F403
