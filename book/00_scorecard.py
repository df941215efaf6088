# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch-scorecard)=
# # The ten claims at a glance
#
# Every claim of {cite}`jermyn2022` that this book checks: one line each, with the paper's headline number beside
# this build's, the verdict, and what it would take to test here what could not be tested. The page is generated
# from the cached results by the very functions that write each chapter's "What we found" table, so it cannot
# disagree with the chapters. A claim is checked part by part, as the paper words it, each part with a stated
# threshold. A part whose models have not settled (the rule of {ref}`ch-basins`: the held-out loss and the number
# of monosemantic neurons still over the last doubling of steps), or that rests on a bias decay that the run was
# too short to finish, *cannot be tested at this scale* and counts neither for nor against the claim. The verdict is
# over the parts that could be tested: *agree* when every one holds, *no* when none does, *partly* otherwise, and
# *not testable here* when none could be tested. Each claim's parts are folded below the table, with their tests.
# The chapters that go beyond the paper keep their own "What we found" tables, outside these ten claims:
# {ref}`ch-sae`, {ref}`ch-incidental` and {ref}`ch-open-questions`.

# %% tags=["parameters"]
profile = "auto"

# %% tags=["remove-cell"]
import monosem as ms

P = ms.get_profile(profile)
card = ms.scorecard.load(P)
ms.claims.glue_numbers("", ms.scorecard.glue_values(card))

# %% [markdown]
# Built at the **{glue:text}`profile`** profile: of {glue:text}`n_claims` claims, {glue:text}`n_agree` agree,
# {glue:text}`n_partly` partly agree, {glue:text}`n_no` disagree and {glue:text}`n_not_testable_here` could not be
# tested at this scale; {glue:text}`n_parts_tested` of their {glue:text}`n_parts` parts could be tested. At the
# `ci` profile the models are toys and the verdicts mean nothing; the `cpu` and `paper` builds are the ones to read.

# %% tags=["remove-input"]
ms.scorecard.show(card)
