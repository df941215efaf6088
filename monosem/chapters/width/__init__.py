"""Chapter 4, the number of neurons (paper Section 4.1.4). Claim 7.

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.width.load(profile)`, `ms.width.figures.<figure>(...)` in a notebook.
"""

from monosem.chapters.width.analysis import *  # noqa: F403
from monosem.chapters.width.train import *  # noqa: F403
