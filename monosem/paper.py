"""The recipe's bias-decay arithmetic, which several chapters and the verdicts share.

The recipe's clock is steps: after every step of the first half of a run the bias is multiplied by
(1 - decay * lr) with the *base* learning rate, so the share of the initial bias that the decay alone leaves at
mid-run is (1 - decay * lr)^(T/2), whatever the batch.
"""

from __future__ import annotations

import math

# A part that rests on the bias decay can be tested only where the decay has done its job: at most this share of
# the initial bias left by the decay alone at mid-run, so that the second half trains the model the recipe aims at
# (a 90 % fall: the paper's Figs. 7 and 10 show the mean bias settled well before mid-run at its run lengths).
DECAY_DONE = 0.1


def decay_left(decay: float, lr: float, n_steps: int) -> float:
    """The share of the initial bias that bias decay alone leaves after the first half of a run of `n_steps`:
    (1 - decay lr)^(n_steps // 2)."""
    return (1 - decay * lr) ** (n_steps // 2)


def decay_steps(decay: float, lr: float, left: float = DECAY_DONE) -> float:
    """The run length at which the decay alone leaves `left` of the initial bias at mid-run: 2 ln(left) /
    ln(1 - decay lr) steps (infinite without decay)."""
    if decay * lr <= 0:
        return math.inf
    return 2 * math.log(left) / math.log1p(-decay * lr)


def log2_steps(steps: float) -> str:
    """A run length as the paper's figures label it: 2^14, 2^15.6."""
    if math.isinf(steps):
        return "never"
    exp = math.log2(steps)
    return f"2^{exp:.0f}" if abs(exp - round(exp)) < 0.05 else f"2^{exp:.1f}"
