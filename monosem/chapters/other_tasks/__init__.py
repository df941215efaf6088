"""Chapter 6, the other two tasks (paper Sections 4.2-4.3): claim 9.

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`); `figures`: the figures only it draws. The public names of `train` and `analysis`
(their `__all__`) are the chapter's: `ms.other_tasks.load(profile)`, `ms.other_tasks.figures.<figure>(...)` in a
notebook.
"""

from monosem.chapters.other_tasks.analysis import *  # noqa: F403
from monosem.chapters.other_tasks.train import *  # noqa: F403
