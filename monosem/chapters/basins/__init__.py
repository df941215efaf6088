"""Chapter 1, basins (paper Section 4.1): with zero initial bias the learning rate picks the minimum.

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.basins.load(profile)`, `ms.basins.figures.<figure>(...)` in a notebook.
"""

from monosem.chapters.basins.analysis import *  # noqa: F403
from monosem.chapters.basins.train import *  # noqa: F403
