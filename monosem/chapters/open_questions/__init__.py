"""Chapter 10 (beyond the paper), the three questions the paper leaves open: why d + 1 positive-bias neurons and not
d (Sections 4.1.2 and 5.2), whether the zero-bias minima at different learning rates are separate basins (Section
4.1.1), and a negative-bias recipe that does not need its bias decay tuned per setting (Section 6).

`train`: what it trains at each profile; `analysis`: its results (`load`), claims (`findings`) and the numbers its
prose quotes (`glue_values`), with the tools they need (the output-bias algebra, neuron matching, the loss along a path
between two models); `figures`: the figures only it draws. `ms.open_questions.load(profile)` in a notebook.
"""

from monosem.chapters.open_questions.analysis import *  # noqa: F403
from monosem.chapters.open_questions.train import *  # noqa: F403
