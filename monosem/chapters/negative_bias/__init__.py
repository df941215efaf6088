"""Chapter 2, a negative initial bias with bias decay (paper Section 4.1.2). Claims 3, 4 and 5.

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.negative_bias.load(profile)`, `ms.negative_bias.figures.<figure>(...)` in a
notebook.
"""

from monosem.chapters.negative_bias.analysis import *  # noqa: F403
from monosem.chapters.negative_bias.train import *  # noqa: F403
