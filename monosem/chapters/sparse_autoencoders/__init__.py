"""Beyond the paper: recovering the features of a polysemantic toy model with sparse autoencoders

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.sparse_autoencoders.load(profile)`,
`ms.sparse_autoencoders.figures.<figure>(...)` in a notebook.
"""

from monosem.chapters.sparse_autoencoders.analysis import *  # noqa: F403
from monosem.chapters.sparse_autoencoders.train import *  # noqa: F403
