"""Chapter 7, the mechanism of a monosemantic decoder (paper Section 5): claim 10.

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.mechanism.load(profile)`, `ms.mechanism.figures.<figure>(...)` in a
notebook.
"""

from monosem.chapters.mechanism.analysis import *  # noqa: F403
from monosem.chapters.mechanism.train import *  # noqa: F403
