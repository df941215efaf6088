"""Two versions: the library's, and that of what a trained result holds.

`RESULTS_VERSION` is part of every cache key: bump it when a change to the training arithmetic, or to what a result
records, makes a cached result differ from what the code would now train. A release that changes neither (prose,
figures, claims, speed-ups that are equal bit for bit) bumps `__version__` only, and committed results stay fresh.
"""

__version__ = "0.2.0"
# "2": every snapshot is evaluated on a fixed held-out set (`snap_heldout`, `heldout_const`), which the
# settledness rule reads. ("0.1.0" was the key of every result before the two versions were told apart.)
# "3": from step 2^11 on, `snap_mono` is the mean over the lr schedule's last period (`training.mono_steps`), not
# the count at the top of the schedule, where at high lr it swings by more than the settledness rule allows.
# "4": the mean over the schedule's last four periods (`training.MONO_PERIODS`): one period's mean still differs
# between two doublings of a flat model by more than SETTLE_MONO in 12-30 % of pairs at lr 0.01-0.03.
RESULTS_VERSION = "4"
