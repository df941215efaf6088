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
# Every claim of {cite}`jermyn2022` that this book checks, with the paper's numbers, this build's numbers and
# the verdict. The page is generated from the cached results by the very functions that write each chapter's
# "What we found" table, so it cannot disagree with the chapters: a claim reads *agree* only when every part of
# it, as the paper words it, holds here with its stated threshold; *partly* when some part does not; *no* when
# none does; *not tested* when the run cannot decide (for instance no converged model). The chapter tables give
# each part separately, with its threshold and the reason for it.

# %% tags=["parameters"]
profile = "auto"

# %% tags=["remove-cell"]
import monosem as ms
from monosem import pipeline

P = ms.get_profile(profile)
card = ms.scorecard.run(P, progress=False)
ms.claims.glue_numbers("", ms.scorecard.numbers(card))

# %% [markdown]
# Built at the **{glue:text}`profile`** profile: of {glue:text}`n_claims` claims, {glue:text}`n_agree` agree,
# {glue:text}`n_partly` partly agree, {glue:text}`n_no` disagree and {glue:text}`n_not_tested` could not be
# tested at this scale. At the `ci` profile the models are toys and the verdicts mean nothing; the `cpu` and
# `paper` builds are the ones to read.

# %% tags=["remove-input"]
ms.scorecard.show(card, pipeline.chapters())
