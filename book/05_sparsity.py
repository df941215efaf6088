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

ms.figures.use_book_style()
P = ms.get_profile(profile)
res = ms.sparsity.load(P)
nums = ms.sparsity.glue_values(res)
ms.claims.glue_numbers("", nums)

# %% [markdown]
# The **{glue:text}`profile`** profile: N = {glue:text}`N`, d = {glue:text}`d`, k = {glue:text}`k`, batches of
# {glue:text}`batch` samples and {glue:text}`steps_e:,` steps (the paper: N = 512, d = 64, k = 1024, batch 8192,
# and the {glue:text}`steps_e_paper:,` steps of the `paper` profile, below). N / d is 8 at every profile, so a
# density ε means the same εN / d everywhere. It trains {glue:text}`grid_ci` at `ci`, {glue:text}`grid_cpu` at
# `cpu` and {glue:text}`grid_paper` at `paper` ({glue:text}`n_models_paper` models), one batched sweep per row;
# here {glue:text}`n_models` models, of which {glue:text}`n_settled` have settled by the rule of {ref}`ch-basins`:
# over the last doubling of steps the held-out loss moved by less than {glue:text}`settle_loss:.0%` and the
# number of monosemantic neurons per feature by less than {glue:text}`settle_mono`, and the loss is at most
# {glue:text}`learned` times that of the best constant output (a model stuck on its initial plateau has not
# settled). The paper does not list its densities: its figures show ε from about 10^-3 (Fig. 19) to beyond
# εN = d (Fig. 18), with ε = 0.0884, 0.125 and 0.1768 (2^-3.5, 2^-3 and 2^-2.5) among them (Fig. 20), so the
# `paper` grid takes octaves from 2^-1 to 2^-10 and adds those two half-octaves. Nor does Table 1 give E1-E4 a number of steps: the axis of Fig. 19 runs
# to 2^20, so `paper` trains them {glue:text}`steps_e_paper_log2` steps ({glue:text}`steps_e_paper:,`), and `ci`
# and `cpu` for their profile's usual number. Why that matters, and why `cpu` trains only the two fastest decays,
# is the subject of the last section.
#
# ## Monosemanticity against density
#
# The paper's Fig. 18 plots the fraction of neurons that are monosemantic and the number of monosemantic neurons
# per feature against ε, one line per bias decay. We add the same against εN / d, with the paper's marks: the
# transition begins at εN = d/4 and is nearly complete at εN = 2d.

# %% mystnb={"figure": {"caption": "Final number of monosemantic neurons per feature against the feature density $\\varepsilon$ (left) and against $\\varepsilon N / d$ (middle), and the fraction of neurons that are monosemantic against $\\varepsilon$ (right), one line per Table 1 row (darker: faster bias decay; hollow: not settled). Vertical lines: the paper's $\\varepsilon N = d/4$ (the transition begins), $\\varepsilon N = d$ and $\\varepsilon N = 2d$ (nearly complete). Shaded: where this run's transition row falls from 90 % to 10 % of its peak. Compare with Fig. 18 of the paper.", "name": "fig-eps-mono"}}
ms.sparsity.figures.against_density(
    res.labelled(),
    {"εN = d/4": ms.sparsity.PAPER_START, "εN = d": 1.0, "εN = 2d": ms.sparsity.PAPER_END},
    span=(nums["start"], nums["end"]),
)

# %% [markdown]
# The paper states the transition for batch E3 (Fig. 19). This profile reads it off the row whose decay leaves,
# over this run, about as much of the initial bias as E3 leaves over the paper's run (see the last section):
# here {glue:text}`trace_row` (decay {glue:text}`trace_decay`), read from all its models (the verdicts below count a
# reading only when the models it rests on have settled and the row's decay has done its job). It peaks at
# ε = {glue:text}`peak_eps` with {glue:text}`peak:.2f` monosemantic neurons per feature, falls to
# {glue:text}`start_level:.0%` of that peak at εN / d = {glue:text}`start:.2f` (ε = {glue:text}`start_eps`; the
# paper: {glue:text}`paper_start`) and to {glue:text}`end_level:.0%` at εN / d = {glue:text}`end:.2f`
# (ε = {glue:text}`end_eps`; the paper: {glue:text}`paper_end`), both interpolated in log ε between grid points
# (nan: not reached within the grid). Over the last doubling of steps the held-out loss of the model at the peak
# changed by {glue:text}`peak_loss_change:+.2%` and its # mono / # features by {glue:text}`peak_mono_change:+.3f`:
# it {glue:text}`peak_settled` settled. Every row, read the same way:

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
ms.figures.training_traces(res.rows[ms.sparsity.trace_row(res.rows, P)], by="eps")

# %% [markdown]
# ## Near the boundary εN = d
#
# The paper's Fig. 20 shows the single-feature activations of three E1 models around εN = d and sees no sharp
# phase transition: the heavily polysemantic neurons grow in number and strength, the monosemantic ones fade.
# The same for row {glue:text}`heatmap_row` at the grid density nearest εN = d and its neighbours:

# %% mystnb={"figure": {"caption": "Single-feature activations of the E1 models at the density nearest $\\varepsilon N = d$ and its neighbours on the grid; neurons sorted by monosemanticity, features by the neuron they activate most. Compare with Fig. 20 of the paper.", "name": "fig-eps-heatmaps"}}
e1 = res.rows[ms.sparsity.HEATMAP_ROW] if ms.sparsity.HEATMAP_ROW in res.rows else next(iter(res.rows.values()))
ms.figures.activation_heatmaps(e1, ms.sparsity.boundary_indices(e1), by="eps")

# %% [markdown]
# ## How much bias the decay leaves
#
# The decays are Table 1's per-step rates, applied for the first half of the run: the decay alone leaves
# (1 − decay · lr)^(steps / 2) of the initial bias, so a shorter run decays less. Over this run E1 leaves
# {glue:text}`left_E1:.1%` of the bias (over the `paper` profile's {glue:text}`steps_e_paper:,` steps:
# {glue:text}`left_E1_paper:.1%`), E2 {glue:text}`left_E2:.1%` ({glue:text}`left_E2_paper:.1%`), E3
# {glue:text}`left_E3:.1%` ({glue:text}`left_E3_paper:.1%`) and E4 {glue:text}`left_E4:.1%`
# ({glue:text}`left_E4_paper:.1%`). Every part of claim 8 rests on the decay (the negative bias it removes is what
# makes the sparse models polysemantic, Section 4.1.5), so a part is tested only on rows whose decay alone leaves at
# most {glue:text}`decay_done:.0%` of the bias by mid-run (the last column: the run that takes). Here those rows
# are: {glue:text}`done_rows`. At `paper`: {glue:text}`done_rows_paper`; at `cpu`, {glue:text}`fewer_than_paper:g`
# times fewer steps than `paper`: {glue:text}`done_rows_cpu` (E1, the fastest decay, needs
# {glue:text}`decay_steps_e1` steps), so claim 8 cannot be tested there, whatever its models show; `cpu` trains the
# two fastest decays, which come closest, and four rows would not fit its time budget. Gradients move the bias
# too; the table is the decay's share only.

# %% tags=["remove-input"]
ms.tables.show_bias_left(ms.sparsity.bias_left_table(P))

# %% [markdown]
# Final values for every model:

# %%
ms.tables.summary_tables(res.labelled())

# %% [markdown]
# ## What we found
#
# Claim 8 is split into the parts the paper states, each a test with a named threshold (a constant of
# `monosem.chapters.sparsity`, with its reason). A part is tested only where every model it reads has settled
# and its row's decay has done its job; otherwise it "cannot be tested at this scale" (the table says why) and
# counts neither for nor against. The verdict is over the parts that could be tested: "agree" when every one
# holds, "not testable here" when none could be tested. "Learns more slowly" compares the steps at which the loss
# has fallen halfway; where a loss has not fallen halfway within the run there is no step to compare, and the part
# is untestable rather than passed.

# %%
ms.claims.show(ms.sparsity.findings(res))

# %% [markdown]
# Here {glue:text}`n_settled` of the {glue:text}`n_models` models have settled, and the rows whose decay has
# done its job are: {glue:text}`done_rows`; the readings above, taken from every model, are shown also where they
# cannot be counted. Where this run and the paper part ways, the likely reasons (hypotheses, not tested here) are those of scale:
# this profile trains {glue:text}`steps_e:,` steps at batch {glue:text}`batch`, so a feature of density ε appears
# about ε · {glue:text}`batch` times per step against ε · 8192 in the paper, and sparse data has far fewer
# examples of each feature to learn from; the paper itself says that the sparse regime needs slower decays and
# longer runs than it trained.
