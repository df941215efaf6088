"""Chapter 9 (beyond the paper), incidental polysemanticity (Lecomte et al. 2023): with at least as many neurons

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.incidental_polysemanticity.load(profile)`,
`ms.incidental_polysemanticity.figures.<figure>(...)` in a notebook.
"""

from monosem.chapters.incidental_polysemanticity.analysis import *  # noqa: F403
from monosem.chapters.incidental_polysemanticity.train import *  # noqa: F403
