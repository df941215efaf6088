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
# (ch-width)=
# # The number of neurons
#
# Every model so far had k = 2N neurons. Section 4.1.4 of {cite}`jermyn2022` varies k and finds (claim 7) that
# more neurons give more monosemantic neurons, that the *fraction* of neurons that are monosemantic peaks near one
# neuron per feature (k = N), and that the negative initial bias of the {ref}`ch-negative-bias` chapter costs a
# little loss at k = N/2 to N but wins above N. Wider layers cost compute, so the paper also tried sparse layers
# with a fixed random connectivity, and reports, without numbers, that they were worse than dense layers of the
# same compute. This chapter re-runs batches K0, K1 and K2 of Table 1, and re-checks that negative result.

# %% tags=["parameters"]
profile = "auto"

# %% tags=["remove-cell"]
import monosem as ms

ms.figures.use_book_style()
P = ms.get_profile(profile)
res = ms.width.load(P)
ms.claims.glue_numbers("", ms.width.glue_values(res))

# %% [markdown]
# The **{glue:text}`profile`** profile: N = {glue:text}`N` features, d = {glue:text}`d`, {glue:text}`steps:,`
# steps, learning rate {glue:text}`k_lr` (Table 1's for the K batches), and k = {glue:text}`ks`
# neurons, from {glue:text}`k_min_over_n:g` N to {glue:text}`k_max_over_n:g` N. The paper sweeps k from 16 to 2048
# (N/32 to 4N); the `paper` profile does the same, the `cpu` profile starts at N/2: the narrowest models have the
# largest batches, and the three models at k = N/4 alone would take a third of the chapter's training budget on a
# 2-core machine. For the claim that the fraction of monosemantic neurons peaks near N, a grid must show it rise
# and fall around N; this one: {glue:text}`peak_range`. Three families of models:
#
# - **K0**: zero initial bias, no bias decay (the {ref}`ch-basins` chapter's recipe);
# - **K1**: initial mean bias {glue:text}`k1_init_bias:g` with bias decay {glue:text}`k1_decay:g` (the
#   {ref}`ch-negative-bias` chapter's);
# - **K2**: K1's recipe with power-law feature frequencies.
#
# Table 1 sets the batch to 2^23 / k, so that batch × k, and with it the matmul cost of a step, is the same at
# every width. Each profile keeps batch × k at its default model's, here {glue:text}`batch_total:,` (the paper's
# 8192 × 1024 = 2^23; the `cpu` profile's 256 × 512, the same 32-fold scale-down as every other chapter): from
# batch {glue:text}`batch_k_min:,` at k = {glue:text}`k_min` to {glue:text}`batch_k_max:,` at
# k = {glue:text}`k_max`. The number of neurons fixes the shapes of the weights, so every width is its own
# training run: one batched model whose instances are the three families, which differ only in their bias
# recipe and feature frequencies. A model whose configuration is already an instance of a chapter-2 sweep is
# taken from there: at the `cpu` and `paper` profiles, the three models at k = 2N are LR1's, LR3's and LR4's at
# lr {glue:text}`k_lr:g`, seed 0. One seed per model, except where the cache holds more: chapter 2's LR1 and LR3
# sweep seeds at the `ci` and `paper` profiles, and `python -m monosem train --seeds 3` trains every width at three.
# Here the most seeds at any width are {glue:text}`K0_n_seeds` (K0), {glue:text}`K1_n_seeds` (K1) and
# {glue:text}`K2_n_seeds` (K2); their spread is the noise against which the tests below judge a difference.
#
# ## Training traces

# %% mystnb={"figure": {"caption": "Training traces of the K0 (zero initial bias), K1 (initial bias -1, bias decay) and K2 (K1 with power-law frequencies) models, one line per number of neurons k, coloured by k: loss (log scale), number of monosemantic neurons per feature, and mean bias, against log2 of the step. Compare with Fig. 15 (K0, K1) and Fig. 16 (K2) of the paper.", "name": "fig-width-traces"}}
ms.width.figures.width_traces(res.labelled())

# %% [markdown]
# ## Monosemanticity and loss against the number of neurons

# %% mystnb={"figure": {"caption": "Final number of monosemantic neurons per feature (left), fraction of neurons that are monosemantic (middle) and final loss (right, log scale) against the number of neurons k (log2 axis), for K0, K1 and K2. Dotted: k = N. Hollow markers: the model had not settled by the end of the run. Compare with Fig. 17 and the loss panels of Fig. 15-16 of the paper.", "name": "fig-width-final"}}
ms.width.figures.against_width(res.labelled(), P.n_features)

# %% [markdown]
# From k = {glue:text}`k_min` to k = {glue:text}`k_max`, the number of monosemantic neurons per feature goes from
# {glue:text}`K0_mono_min_k:.2f` to {glue:text}`K0_mono_max_k:.2f` with zero initial bias (K0), from
# {glue:text}`K1_mono_min_k:.2f` to {glue:text}`K1_mono_max_k:.2f` with the negative bias (K1) and from
# {glue:text}`K2_mono_min_k:.2f` to {glue:text}`K2_mono_max_k:.2f` with power-law frequencies (K2). The fraction of
# neurons that are monosemantic is largest at k = {glue:text}`K1_peak_k` in K1 ({glue:text}`K1_peak_fraction:.0%`),
# at k = {glue:text}`K2_peak_k` in K2 ({glue:text}`K2_peak_fraction:.0%`) and at k = {glue:text}`K0_peak_k` in K0
# ({glue:text}`K0_peak_fraction:.0%`). At k = N, K1 has
# {glue:text}`K1_at_n_mono:.2f` monosemantic neurons per feature ({glue:text}`K1_at_n_fraction:.0%` of its
# neurons), K0 {glue:text}`K0_at_n_mono:.2f`. In the paper's Fig. 17 the count rises with k in all three families,
# and the fraction peaks at k = N; the paper suspects that its widest models would have gained more with longer
# training.
#
# The loss of K1 relative to K0, (K1 − K0) / K0, at every width ("not settled" where either model has not):
# {glue:text}`loss_gaps`. The spread of the loss over seeds: {glue:text}`loss_noise_text`; a difference no larger
# than that has no sign here. The paper (Fig. 15, middle) finds the two indistinguishable up to k = N/4, K1 slightly
# worse at N/2 to N, and K1 better above N: with enough neurons for every feature to have its own, monosemantic
# representations are the better ones for this task, and polysemanticity is how a model copes with too few
# neurons.
#
# ## Sparse layers at fixed compute
#
# Wider layers are more monosemantic, but they cost more. The paper tried to get the width without the cost by
# making both linear layers sparse, "with fixed connectivity according to an Erdős–Rényi graph", and found that
# "even modest amounts of sparsity resulted in significantly greater loss, such that dense layers were more
# performant than sparse ones at fixed compute cost". It gives no densities, widths or numbers, and the published
# reference code has no sparse layers, so the details here are ours:
#
# - each of the two layers of a model f times wider than a dense model keeps a fixed random set of exactly
#   1/f of its weights (a random bipartite graph with a fixed number of edges), drawn from the model's seed, so
#   that each layer has exactly as many weights as the dense model's; the bias stays dense;
# - the missing weights are zero from the start and their gradients are zeroed at every step, so they stay exactly
#   zero through LAMB (whose per-layer trust ratio then sees only the existing weights); the existing weights
#   start as in the dense model (PyTorch's default initialisation for the full fan-in: the "naive" sparsity);
# - the sparse model trains at the dense model's batch, so the two cost the same matmul FLOPs per step in
#   principle (this CPU implementation multiplies by the masked dense matrices, so here it costs its full width);
# - K1's recipe (initial bias {glue:text}`k1_init_bias:g`, bias decay {glue:text}`k1_decay:g`,
#   lr {glue:text}`k_lr:g`), against the dense K1 model of width
#   k = {glue:text}`masked_base` (batch {glue:text}`masked_batch:,`), with {glue:text}`masked_factors` times as
#   many neurons.
#
# Table 1's batch rule puts every dense K model at the same matmul cost per step as well, so all the models in the
# next figure cost about the same per step.

# %% mystnb={"figure": {"caption": "Sparse K1 models (each layer keeps a fixed random 1/f of its weights, f = 2 or 4 at the cpu and paper profiles, at the batch of the dense model of width N) against the dense K1 models of the previous figure: final loss (log scale), number of monosemantic neurons per feature, and fraction of neurons that are monosemantic, against the number of neurons k. A sparse model has as many weights, and costs as many matmul FLOPs per step in principle, as the dense model at k = N. Hollow markers: the model had not settled.", "name": "fig-width-sparse"}}
ms.width.figures.against_width(res.masked_labelled(), P.n_features, metrics=("loss", "mono", "fraction"))

# %% [markdown]
# The dense model (k = {glue:text}`masked_base`) ends at a loss of {glue:text}`dense_loss:.3f` with
# {glue:text}`dense_mono:.2f` monosemantic neurons per feature ({glue:text}`dense_fraction:.0%` of its neurons),
# its loss {glue:text}`dense_state`. The sparse ones, with the change of loss relative to it:
# {glue:text}`masked_list`. The question behind the experiment was whether a wide sparse layer buys the
# monosemanticity of a wide dense one at the cost of a narrow one; the middle panel answers it for this run.
#
# Final values of every model ("silent": neurons that no single feature activates, $r_i = 0$):

# %% tags=["remove-input"]
ms.width.show_table(res)

# %% [markdown]
# ## What we found
#
# The claim is split into the parts the paper states, each a test with a named threshold (a constant of
# `monosem.chapters.width`, with its reason). The verdict is over the parts that could be tested: "agree" when every
# one holds, "partly" when some do, "no" when none does. A part can be tested only when every model it reads has
# settled, by the rule of the {ref}`ch-basins` chapter: over the last doubling of its steps the held-out loss moved
# by less than {glue:text}`settle_loss:.0%` and # mono / # features by less than {glue:text}`settle_mono:g`, and
# the loss is at most {glue:text}`learned:g` times that of the best constant output. A part whose models have not
# settled "cannot be tested at this scale" and counts neither for nor against the claim. The parts on K1 and K2 rest
# on the bias decay as well: they need the decay alone to leave at most {glue:text}`decay_done:.0%` of the initial
# bias at mid-run, which at decay {glue:text}`k1_decay:g` and lr {glue:text}`k_lr:g` takes {glue:text}`decay_need`
# steps; this profile's {glue:text}`steps:,` steps leave {glue:text}`bias_left:.0%`, so the decay
# {glue:text}`decay_ok` done its job here. The sign of a loss difference counts only beyond the spread of the loss
# over seeds ({glue:text}`loss_noise_text`), and the peak only where the fraction's spread over seeds
# ({glue:text}`fraction_noise_text`) is below the margin by which the peak must stand above both ends of the grid
# ({glue:text}`peak_margin:g`); with one seed the spread is unknown and those parts cannot be tested.

# %%
ms.claims.show(ms.width.findings(res))

# %% [markdown]
# ## Where this run and the paper may part ways
#
# The verdicts above are computed from the run; here are the numbers behind them, and the likeliest causes of a
# difference (hypotheses, not tested here).
#
# **Models that have not settled.** Of the {glue:text}`n_ks` models of each family, {glue:text}`K0_n_settled` (K0),
# {glue:text}`K1_n_settled` (K1) and {glue:text}`K2_n_settled` (K2) have settled by the end of this
# profile's {glue:text}`steps:,` steps (the paper trained 131,072); a part that reads any of the others cannot be
# tested at this scale. The paper notes that its own widest models were still gaining monosemantic neurons when it stopped
# (Fig. 16).
#
# **The cost of the negative bias**, (K1 − K0) / K0, at every width: {glue:text}`loss_gaps`. The paper finds no cost up to k = N/4, a small one at N/2 to N, and a gain above N. A neuron whose bias keeps it
# below zero for every single feature is silent; the fraction of silent neurons per width is
# {glue:text}`K1_silent` in K1, against {glue:text}`K0_silent` in K0. A narrow model has no neurons to spare, so
# silent neurons cost it loss that a wide one does not notice. The bias decay shrinks K1's initial bias by
# {glue:text}`decay_shrink:.0%` over the first half of this profile's run, against
# {glue:text}`decay_shrink_paper:.0%` over the paper's, which gives a silent neuron more time to come back there.
#
# **Sparse layers.** Single models at one seed each; where a sparse model or its dense partner has not settled,
# they are compared in the figure and the text, and the part cannot be tested at this scale.
#
# The models this chapter trained itself took {glue:text}`minutes:.1f` minutes (recorded wall time, on a machine
# that may have been busy with other work).
