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
# (ch-sparsity)=
# # Feature sparsity
#
# So far every model saw features with density ε = 1/64, about εN = 8 features per sample for d = 64 embedding
# dimensions. Section 4.1.5 of {cite}`jermyn2022` varies ε up to and beyond εN = d, where a sample holds more
# features than the embedding has dimensions, and finds (claim 8) that monosemanticity peaks near ε = 2^-5, that a
# smooth transition to polysemantic models begins near εN = d/4 and is nearly complete near εN = 2d, and that
# sparser data needs a slower bias decay and longer runs. This chapter re-runs batches E1-E4 of Table 1: initial
# mean bias −1, learning rate 0.003, one bias decay per batch (0.03, 0.01, 0.003, 0.001), ε swept.

# %% tags=["parameters"]
profile = "auto"

# %% tags=["remove-cell"]
import monosem as ms

ms.plotting.use_book_style()
P = ms.get_profile(profile)
res = ms.sparsity.run(P)
nums = ms.sparsity.numbers(res)
ms.claims.glue_numbers("", nums)

# %% [markdown]
# The **{glue:text}`profile`** profile: N = {glue:text}`N`, d = {glue:text}`d`, k = {glue:text}`k`, batches of
# {glue:text}`batch` samples and {glue:text}`steps:,` steps (the paper: N = 512, d = 64, k = 1024, batch 8192,
# 131,072 steps). N / d is 8 at every profile, so a density ε means the same εN / d everywhere. It trains
# {glue:text}`grid_ci` at `ci`, {glue:text}`grid_cpu` at `cpu` and {glue:text}`grid_paper` at `paper`
# ({glue:text}`n_models_paper` models), one batched sweep per row; here {glue:text}`n_models` models, of which
# {glue:text}`n_converged` have converged (loss falling by less than {glue:text}`still_falling:.1%` per window
# at the end). The paper does not list its densities: its figures show ε from about 10^-3 (Fig. 19) to beyond
# εN = d (Fig. 18), with ε = 0.0884, 0.125 and 0.1768 (2^-3.5, 2^-3 and 2^-2.5) among them (Fig. 20), so the
# `paper` grid takes octaves from 2^-1 to 2^-10 and adds those two half-octaves. Nor does Table 1 give E1-E4 a
# number of steps (the axis of Fig. 19 runs to 2^20 steps); every profile trains them for its usual number of
# steps, 2^17 at `paper`. Why `cpu` trains only the two fastest decays is the subject of the last section.
#
# ## Monosemanticity against density
#
# The paper's Fig. 18 plots the fraction of neurons that are monosemantic and the number of monosemantic neurons
# per feature against ε, one line per bias decay. We add the same against εN / d, with the paper's marks: the
# transition begins at εN = d/4 and is nearly complete at εN = 2d.

# %% mystnb={"figure": {"caption": "Final number of monosemantic neurons per feature against the feature density $\\varepsilon$ (left) and against $\\varepsilon N / d$ (middle), and the fraction of neurons that are monosemantic against $\\varepsilon$ (right), one line per Table 1 row (darker: faster bias decay; hollow: loss still falling). Vertical lines: the paper's $\\varepsilon N = d/4$ (the transition begins), $\\varepsilon N = d$ and $\\varepsilon N = 2d$ (nearly complete). Shaded: where this run's transition row falls from 90 % to 10 % of its peak. Compare with Fig. 18 of the paper.", "name": "fig-eps-mono"}}
ms.plotting.against_density(
    res.labelled(),
    {"εN = d/4": ms.sparsity.PAPER_START, "εN = d": 1.0, "εN = 2d": ms.sparsity.PAPER_END},
    span=(nums["start"], nums["end"]),
)

# %% [markdown]
# The paper states the transition for batch E3 (Fig. 19). This profile reads it off the row whose decay leaves,
# over this run, about as much of the initial bias as E3 leaves over the paper's run (see the last section):
# here {glue:text}`trace_row` (decay {glue:text}`trace_decay`), read from all its models (the verdicts below count a
# reading only when the models it rests on have converged). It peaks at
# ε = {glue:text}`peak_eps` with {glue:text}`peak:.2f` monosemantic neurons per feature, falls to
# {glue:text}`start_level:.0%` of that peak at εN / d = {glue:text}`start:.2f` (ε = {glue:text}`start_eps`; the
# paper: {glue:text}`paper_start`) and to {glue:text}`end_level:.0%` at εN / d = {glue:text}`end:.2f`
# (ε = {glue:text}`end_eps`; the paper: {glue:text}`paper_end`), both interpolated in log ε between grid points
# (nan: not reached within the grid). At the end of the run the loss of the model at the peak still falls by
# {glue:text}`peak_drop:.2%` per window (a model counts as converged below {glue:text}`still_falling:.1%`). Every
# row, read the same way:

# %% tags=["remove-input"]
table = ms.sparsity.transition_table(res)
table.style.hide(axis="index").format(
    {"bias decay": "{:g}", "peak # mono / # features": "{:.2f}"} | {c: "{:.1%}" for c in table.columns[2:4]}
)

# %% [markdown]
# ## Training traces at several densities
#
# The paper's Fig. 19 shows batch E3 over training: at higher sparsity the mean bias decays further before the
# loss starts to fall. In row {glue:text}`trace_row` the loss has fallen halfway from its first to its final
# value at step {glue:text}`t_ref` at ε = {glue:text}`ref_eps`, when the decay alone had removed
# {glue:text}`removed_ref:.0%` of the initial bias, and at step {glue:text}`t_sparse` at the sparsest density
# ε = {glue:text}`sparse_eps` ({glue:text}`removed_sparse:.0%` removed by then). At every density, from the densest
# to the sparsest, it has fallen halfway at step {glue:text}`fall_steps` ("not within the run": the loss has not
# fallen halfway, or by less than {glue:text}`min_fall:.0%` in all).

# %% mystnb={"figure": {"caption": "Training traces of the transition row, coloured by the feature density $\\varepsilon$ (log scale): loss, number of monosemantic neurons per feature and mean bias against log2 of the step. Compare with Fig. 19 of the paper (batch E3).", "name": "fig-eps-traces"}}
ms.plotting.training_traces(res.rows[ms.sparsity.trace_row(res.rows, P)], by="eps")

# %% [markdown]
# ## Near the boundary εN = d
#
# The paper's Fig. 20 shows the single-feature activations of three E1 models around εN = d and sees no sharp
# phase transition: the heavily polysemantic neurons grow in number and strength, the monosemantic ones fade.
# The same for row {glue:text}`heatmap_row` at the grid density nearest εN = d and its neighbours:

# %% mystnb={"figure": {"caption": "Single-feature activations of the E1 models at the density nearest $\\varepsilon N = d$ and its neighbours on the grid; neurons sorted by monosemanticity, features by the neuron they activate most. Compare with Fig. 20 of the paper.", "name": "fig-eps-heatmaps"}}
e1 = res.rows[ms.sparsity.HEATMAP_ROW] if ms.sparsity.HEATMAP_ROW in res.rows else next(iter(res.rows.values()))
ms.plotting.activation_heatmaps(e1, ms.sparsity.boundary_indices(e1), by="eps")

# %% [markdown]
# ## How much bias the decay leaves
#
# The decays are Table 1's per-step rates, applied for the first half of the run: the decay alone leaves
# (1 − decay · lr)^(steps / 2) of the initial bias. A run shorter than the paper's therefore decays less. Over
# this run E1 leaves {glue:text}`left_E1:.0%` of the bias (the paper's run: {glue:text}`left_E1_paper:.1%`), E2
# {glue:text}`left_E2:.0%` ({glue:text}`left_E2_paper:.0%`), E3 {glue:text}`left_E3:.0%`
# ({glue:text}`left_E3_paper:.0%`) and E4 {glue:text}`left_E4:.0%` ({glue:text}`left_E4_paper:.0%`). At `cpu`,
# with 8 times fewer steps than the paper, E3 and E4 would leave the bias almost where it started, less decay
# than any row of the paper's run; when this grid was chosen, chapter 2's `cpu` run of B2-B5 at initial bias −1
# (the same recipe as E3) had learned almost nothing by its end (chapter 2 now leaves B4 and B5 out at `cpu`). E1 and E2 leave about what the paper's E3 and E4
# leave, so `cpu` trains those two, which also keeps it within its time budget. Gradients move the bias too; the
# table is the decay's share only.

# %% tags=["remove-input"]
left = ms.sparsity.bias_left(P)
left.style.hide(axis="index").format({c: "{:.1%}" for c in left.columns[3:]} | {"bias decay": "{:g}"})

# %% [markdown]
# Final values for every model:

# %%
ms.tables.summary_tables(res.labelled())

# %% [markdown]
# ## What we found
#
# Claim 8 is split into the parts the paper states, each a test with a named threshold (a constant of
# `monosem.experiments.sparsity`, with its reason). A part about minima counts only when the models it rests on
# have converged; "agree" only when every part holds.

# %%
ms.claims.show(ms.sparsity.findings(res))

# %% [markdown]
# A part is "not tested" where a model it rests on is still learning: {glue:text}`n_converged` of the
# {glue:text}`n_models` models have converged here, and the readings above, taken from every model, are then
# shown but not counted. Where this run and the paper part ways, the likely reasons (hypotheses, not tested here) are those of scale:
# this profile trains {glue:text}`steps:,` steps at batch {glue:text}`batch`, so a feature of density ε appears
# about ε · {glue:text}`batch` times per step against ε · 8192 in the paper, and sparse data has far fewer
# examples of each feature to learn from; the paper itself says that the sparse regime needs slower decays and
# longer runs than it trained.
