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
# (ch-basins)=
# # Basins: the learning rate picks the minimum
#
# Section 4.1 of {cite}`jermyn2022` trains the same toy model, from the same zero initial bias, at six
# learning rates and finds that they settle into different minima ("basins"): the higher the learning rate,
# the more monosemantic the model and the (slightly) lower its loss (claim 1). It then looks at the biases
# and finds that monosemantic neurons end with moderate negative biases and polysemantic ones with positive
# biases (claim 2), the observation that motivates the next chapter. This chapter re-runs batches LR1
# (uniform feature frequencies) and LR2 (power-law frequencies) of the paper's Table 1.

# %% tags=["parameters"]
profile = "auto"

# %% tags=["remove-cell"]
import monosem as ms

ms.figures.use_book_style()
P = ms.get_profile(profile)
res = ms.basins.load(P)
flat = ms.basins.continuations(res)
more = ms.basins.extension(res)
ms.claims.glue_numbers("", ms.basins.glue_values(res))
ms.claims.glue_numbers("", ms.basins.settling_numbers(res, flat))
ms.claims.glue_numbers("", ms.basins.more_numbers(res, more))

# %% [markdown]
# The **{glue:text}`profile`** profile: N = {glue:text}`N` features, an embedding of d = {glue:text}`d`
# dimensions, k = {glue:text}`k` neurons, batches of {glue:text}`batch` samples and {glue:text}`steps:,` steps
# (the paper: N = 512, d = 64, k = 1024, batch 8192, 131,072 steps). Each sweep trains as one batched model (LR1:
# {glue:text}`n_lrs` learning rates at {glue:text}`seeds_text`, {glue:text}`n_models` models).
# {glue:text}`seeds_note` The numbers below come from this run.
#
# ## Training traces
#
# The loss, the number of monosemantic neurons per feature and the mean bias during training, for each
# learning rate of LR1. The learning-rate schedule is periodic: a cosine that falls to zero over 2^9 steps and
# rises back, just as smoothly, over the next 2^9 (the paper's cosine annealing with T_max = 2^9, run through the
# whole training), so it repeats every 2^10 steps without a jump. Its troughs are why the loss curve is scalloped
# late in training.

# %% mystnb={"figure": {"caption": "Training traces of LR1 (uniform feature frequencies, zero initial bias), coloured by learning rate: loss (log scale), number of monosemantic neurons per feature, and mean bias, against log2 of the step. Compare with Fig. 3 of the paper.", "name": "fig-lr1-traces"}}
ms.figures.training_traces(res.lr1, by="lr")

# %% [markdown]
# The distribution of the monosemanticity $r_i$ over training, for the most monosemantic LR1 model:

# %% mystnb={"figure": {"caption": "Cumulative fraction of neurons with monosemanticity $r_i$ below a threshold $r_t$, at each snapshot of training (coloured by log2 of the step), for seed 0 of LR1 at the highest learning rate. The jump at r_t = 1 is the population of monosemantic neurons. Compare with Fig. 2 of the paper (a model of batch K1).", "name": "fig-r-cdf"}}
ms.basins.figures.r_distribution(res.lr1, ms.basins.most_monosemantic(res.lr1))

# %% [markdown]
# ## Single-feature activations
#
# The activation of every neuron when one feature is switched on at unit strength, $h_i(F_j)$, with neurons
# sorted by their monosemanticity $r_i$ (eq. 7) and features by the neuron they activate most. A
# monosemantic neuron is a single bright pixel in its row; monosemantic neurons line up along a diagonal.

# %% mystnb={"figure": {"caption": "Single-feature activations of the LR1 models (seed 0) at the paper's learning rates 0.001, 0.005 and 0.03 (at a profile without them: its lowest, focus and highest). Neurons sorted by monosemanticity (most monosemantic at the top), features by the neuron they activate most. Compare with Fig. 4 of the paper.", "name": "fig-lr1-heatmaps"}}
ms.figures.activation_heatmaps(res.lr1, ms.basins.heatmap_indices(res), by="lr")

# %% [markdown]
# ## Biases of monosemantic and polysemantic neurons

# %% mystnb={"figure": {"caption": "Final bias of every neuron against its monosemanticity $r_i$, for each learning rate of LR1 (seed 0). Orange: monosemantic neurons ($r_i > 0.999$). Compare with Fig. 5 of the paper.", "name": "fig-lr1-bias"}}
ms.basins.figures.bias_vs_monosemanticity(res.lr1, ms.basins.first_seed(res.lr1), by="lr")

# %% mystnb={"figure": {"caption": "Final bias of every neuron, neurons sorted by decreasing monosemanticity $r_i$, for seed 0 of LR1 at each learning rate: monosemantic neurons (left) sit below zero, polysemantic ones (right) above. The paper's Fig. 5 draws it this way.", "name": "fig-lr1-bias-sorted"}}
ms.basins.figures.bias_by_rank(res.lr1, ms.basins.first_seed(res.lr1), by="lr")

# %% [markdown]
# Pooled over the {glue:text}`n_models` models, the {glue:text}`bias_sign_n_mono` monosemantic neurons have a median bias of
# {glue:text}`bias_sign_median_mono:+.3f`, and the {glue:text}`bias_sign_n_poly` clearly polysemantic neurons
# ($0 < r_i < 0.5$) a median bias of {glue:text}`bias_sign_median_poly:+.3f`.
#
# ## The learning rate picks the basin
#
# Final number of monosemantic neurons per feature and final loss (the mean of the recorded losses over the
# last 2^10 steps, one period of the schedule) against the learning rate, for uniform (LR1) and power-law
# (LR2) feature frequencies. Here {glue:text}`over_lr_n_settled` of the {glue:text}`over_lr_n_models` LR1 models and
# {glue:text}`n_settled_lr2` of the {glue:text}`n_models_lr2` LR2 models have settled (the rule is in
# {ref}`sec-settled` below); a claim's part that reads a model still moving cannot be tested at this scale.

# %% mystnb={"figure": {"caption": "Final number of monosemantic neurons per feature (left) and final loss (right) against the learning rate, zero initial bias, for uniform (LR1: median over seeds, band: their range, where more than one is cached) and power-law (LR2) feature frequencies. Compare with Fig. 1 (left) of the paper.", "name": "fig-lr-final"}}
ms.figures.final_against({"LR1 (uniform)": res.lr1, "LR2 (power law)": res.lr2}, by="lr")

# %% [markdown]
# With uniform frequencies the number of monosemantic neurons per feature goes from
# {glue:text}`over_lr_mono_low_spread` at lr = {glue:text}`over_lr_lr_low` to {glue:text}`over_lr_mono_high_spread` at
# lr = {glue:text}`over_lr_lr_high` (rank correlation with the learning rate over all learning rates
# {glue:text}`over_lr_rho_mono:+.2f`), and the median held-out loss (the final model's loss on a fixed held-out set,
# the same samples for every learning rate) from {glue:text}`over_lr_loss_low:.3f` to {glue:text}`over_lr_loss_high:.3f`.
# With power-law frequencies it goes from {glue:text}`lr2_mono_low:.3f` to
# {glue:text}`lr2_mono_high:.3f`. The loss is a sum over the N outputs, so it scales with N: the paper's plateau
# of 0.85-0.95 at N = 512 is {glue:text}`over_lr_plateau_low:.3f`-{glue:text}`over_lr_plateau_high:.3f` at
# N = {glue:text}`N`.
#
# The power-law traces (the paper's Fig. 6):

# %% mystnb={"figure": {"caption": "Training traces of LR2 (power-law feature frequencies, zero initial bias), coloured by learning rate. Compare with Fig. 6 of the paper.", "name": "fig-lr2-traces"}}
ms.figures.training_traces(res.lr2, by="lr")

# %% [markdown]
# Final values for every model of both sweeps:

# %%
ms.tables.summary_tables({"LR1": res.lr1, "LR2": res.lr2})

# %% [markdown]
# (sec-settled)=
# ## When is a model settled?
#
# The paper trains "well past the loss plateau" and compares the minima its models reach; a model still moving
# is at no minimum yet, and a claim about minima cannot be tested on it. Every snapshot of training (steps 1,
# 2, 4, ..., T) is evaluated on one fixed held-out set of samples, the same at every snapshot, so that the change
# between two snapshots is a paired difference, free of the noise of the training batches. From step 2^10 on the
# held-out loss is read at rest, at the bottom of the periodic lr schedule half a period before the snapshot: every
# such snapshot falls at the top of a period, where a model trained at a high lr sits high in its basin. The number
# of monosemantic neurons is averaged over the schedule's last {glue:text}`mono_periods` periods
# ({glue:text}`mono_points` points each; fewer periods before step 2^13): at a high lr it swings with the schedule
# and differs from one period's mean to the next by more than the rule allows a flat model (`training.MONO_PERIODS`
# gives the measurement). A model has **settled** when, over the last doubling of its steps (from T/2 to T):
#
# - its held-out loss moved by less than {glue:text}`settle_loss_pct:.0f` % of itself (`SETTLE_LOSS`),
# - its number of monosemantic neurons per feature moved by less than {glue:text}`settle_mono:.2f`
#   (`SETTLE_MONO`): the quantity the claims are about, which can still move once the loss is flat, and
# - its held-out loss is at most {glue:text}`learned:.1f` times the loss of the best constant output
#   (`LEARNED`): a model stuck there, every neuron dead, is flat but has learned nothing.
#
# The constants live in `monosem.results`, with their reasons. A rule like this errs two ways, and we measure
# both on this chapter's models.
#
# *False alarms.* A settled model trained on must still be called settled. We take every model of LR1 and LR2
# {glue:text}`flat_seeds` that the rule called settled at the end of its run ({glue:text}`continue_models` models)
# and train it on at its own learning rate, without bias decay, for a quarter of its run or
# {glue:text}`continue_min:,` steps, whichever is longer, but no longer than the run itself (here
# {glue:text}`continue_steps`, each model on its own seed's data stream: the seed also fixes the projection the
# model was trained on), after rebuilding its optimizer's moments over {glue:text}`continue_warmup:,` batches at learning rate 0 (a result
# keeps the weights, not the moments, and LAMB's first steps from zero moments are large enough to knock a settled
# model at a high learning rate out of its minimum). We apply the rule between the first and the last snapshot of
# that continuation that are measured as the rule measures (the held-out loss at rest, the number of monosemantic
# neurons averaged over as many periods of the schedule, up to four): here {glue:text}`flat_pair`. So the noise of
# the model's own learning rate is in the comparison, as it is in the rule. Over the models the rule had
# called settled at the end of their run it calls {glue:text}`false_alarms` unsettled; we ask of the rule at most
# {glue:text}`false_alarm_bar_pct:.0f` %, and a rate over a handful of models says little. So each continuation also
# records every period of the schedule, and we apply the rule between every two disjoint windows of
# {glue:text}`mono_periods` periods after the first compared snapshot (a window as a snapshot averages, its held-out
# loss its last period's): it calls {glue:text}`pair_false_alarms` of those pairs unsettled, the same noise the
# rule meets between two doublings, sampled more often (pairs of one model share its noise: they are not
# independent trials). The largest fall of the held-out loss over a continuation is
# {glue:text}`continue_max_fall`. A tiny learning rate would not do for
# this test: the final weights are those at the top of the schedule, and at a tiny learning rate a model sinks from
# there to the bottom of its basin, a real movement the rule would rightly report. (The continuations took
# {glue:text}`continue_minutes:.1f` min of training.)
#
# *Detection.* A model still learning must be called unsettled. A model whose held-out loss fell by more than
# {glue:text}`still_learning_x:.0f` x `SETTLE_LOSS`, or whose # mono / # features moved by more than
# {glue:text}`still_learning_x:.0f` x `SETTLE_MONO`, between T/2 and T was still learning at T/2; the rule
# applied to its snapshots at T/4 and T/2 (the doubling before the last) catches {glue:text}`caught` of
# them, over the same models.

# %% mystnb={"figure": {"caption": "The settledness rule on this chapter's models: the change of the held-out loss (relative; symmetric log scale) and of the number of monosemantic neurons per feature over a continuation at the model's own learning rate for a quarter of its run or 2^14 steps, whichever is longer, up to the run's own length (circles: the models the rule had called settled at the end of their run, the only ones continued, which it should then still call settled) and over the doubling of steps from T/4 to T/2 (crosses, red where the model was still learning after T/2: the rule should call them unsettled). The shaded box is where the rule calls a model settled (if its loss is also clearly below the constant-output loss).", "name": "fig-settling"}}
ms.basins.figures.settling_changes(ms.basins.settling_table(res, flat))

# %% [markdown]
# Per model: the changes over the continuation, and over the doubling before the last:

# %%
ms.basins.settling_table(res, flat)

# %% [markdown]
# **How long a run needs.** The same rule, applied to every doubling of a model's own snapshots, says from which
# step on it has stayed settled to the end of its run: the run length that model needed at this profile's shapes
# (a longer run only adds snapshots). Of the {glue:text}`n_settle_models` LR1 and LR2 models,
# {glue:text}`n_settle_never` had not settled by the end of this run. The `long` profile trains the same shapes for
# the paper's 2^17 steps; its table is this one, read further.

# %% tags=["remove-input"]
ms.basins.settle_table(res)

# %% [markdown]
# **Would a run twice as long settle them?** A longer run is the obvious remedy, and it doubles the cost, so we
# measure what one doubling more would buy before choosing a profile's run length: {glue:text}`more_what`, each
# at its own learning rate without bias decay (a run's second half has none), after rebuilding its optimizer's
# moments, as the continuations above. The rule between the run's last snapshot and the extension's (one doubling
# of steps apart, on the same held-out samples) calls {glue:text}`more_settled` of them settled (at learning
# rates {glue:text}`more_lrs`); over the extension's own last doubling it calls {glue:text}`more_within` settled.
# The extension is an approximation of the longer run: that run would also have decayed the bias for the first half
# of its doubled length.

# %% tags=["remove-input"]
ms.basins.more_table(res, more)

# %% [markdown]
# ## What we found
#
# Each claim is split into the parts the paper states; each part is a test with a named threshold (a constant
# of `monosem.chapters.basins`, whose comment gives its reason). A part that reads a model that has not
# settled ({ref}`sec-settled`) cannot be tested at this scale: it counts neither for nor against the claim. A
# claim "agrees" when every part that could be tested holds, "partly" when some do, "no" when none does, and
# is "not testable here" when no part could be tested.

# %%
ms.claims.show(ms.basins.findings(res))
