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
# (ch-other-tasks)=
# # The other tasks: a re-projector and absolute values
#
# Everything so far used one task, the feature decoder. Sections 4.2 and 4.3 of {cite}`jermyn2022` apply the
# negative-bias recipe (initial mean bias −1, bias decay during the first half of training) to the paper's two
# other tasks. The random re-projector maps the projected features P f to a second random projection Q f; the
# paper finds roughly one monosemantic neuron per feature across a range of learning rates, as for the decoder.
# The absolute-value task maps P (f₁ − f₂) to |f₁ − f₂|; there, basins of different monosemanticity reach
# different losses, the more monosemantic the lower, and a negative initial bias alone is not enough: the bias
# must also decay slowly (claim 9). This chapter re-runs batches RP1, LR5 and D1 of Table 1.

# %% tags=["parameters"]
profile = "auto"

# %% tags=["remove-cell"]
import monosem as ms

ms.figures.use_book_style()
P = ms.get_profile(profile)
res = ms.other_tasks.load(P)
ms.claims.glue_numbers("", ms.other_tasks.glue_values(res))

# %% [markdown]
# The **{glue:text}`profile`** profile: N = {glue:text}`N` features and d = {glue:text}`d` embedding dimensions.
# RP1 has the decoder's k = {glue:text}`k` neurons at batch {glue:text}`batch`; the absolute-value batches LR5 and
# D1 have k = 4N = {glue:text}`k_abs` neurons (the paper's 2048 for N = 512) at batch
# {glue:text}`batch_abs`, Table 1's batch rule 2^23 / k scaled as in the {ref}`ch-width` chapter (batch × k fixed at
# the profile's default). RP1 trains {glue:text}`steps:,` steps, LR5 {glue:text}`steps_abs:,`
# ({glue:text}`abs_steps_factor` times the profile's) and D1 {glue:text}`steps_d1:,` (the `paper` profile:
# {glue:text}`steps_lr5_paper:,` for RP1 and LR5, {glue:text}`steps_d1_paper:,` for D1), all with initial mean
# bias −1; RP1 and LR5 decay the bias at 0.03 per step (times the learning rate), D1 runs at lr
# {glue:text}`d1_lr` and sweeps the decay. This run trains {glue:text}`grid_here`, in {glue:text}`minutes:.1f`
# minutes of training (LR3 is chapter 2's and not counted).
#
# Table 1 lists neither the learning rates of RP1 and LR5 nor the decays of D1. `paper` takes for both lr sweeps the
# six learning rates of the reference plots. For D1, the colour bar of the paper's Fig. 23 spans log₁₀ decay from
# −3.5 to −1.5, and the reference plotting code pads it by 30 % of the range below and 10 % above, so the decays
# ran from about 10^−3.3 to 10^−1.5. The grids: {glue:text}`grid_ci` at `ci`; {glue:text}`grid_cpu` at `cpu`;
# {glue:text}`grid_paper` at `paper`. The model of D1 at decay 0.03 is the model of LR5 at lr 0.007 (the same
# configuration) where both train equally long; where D1 does not train it, the chapter takes it from LR5, and where
# both do, it is counted once. Nor does Table 1 give run lengths: the axes of Figs. 21 and 22 (RP1, LR5) run to
# 2^17.5 steps and that of Fig. 23 (D1) to 2^20, so `paper` trains RP1 and LR5 for
# {glue:text}`steps_lr5_paper_log2` steps and D1 for {glue:text}`steps_d1_paper_log2`, as a sweep of its own (the
# number of steps is fixed for a batched model).
#
# **Why `cpu` trains the absolute value longer, with fewer models.** A first `cpu` run trained LR5 at all six
# learning rates for the profile's 2^14 steps: none of its models had settled (the loss was still falling by
# 0.6-1.7 % per period of the lr schedule, and # mono / # features was still rising fast in the last doubling of
# steps), so no part of the claim about the absolute value could be tested. `cpu` therefore trains these
# models twice as long, which doubles their cost; to stay within the chapter's training budget LR5 drops lr
# {glue:text}`lr5_dropped_cpu` (in that first run lr 0.001 had learned nothing: loss 1.16, no monosemantic neuron),
# D1 drops the decays {glue:text}`d1_dropped_cpu` and adds {glue:text}`d1_added_cpu`, and D1 takes its decay-0.03
# model from LR5. LR5 and D1 train as one batched model (they differ only in learning rate and decay), which trains
# them faster than two separate sweeps. The decays are per step, so a run shorter than the paper's removes less of
# the bias: that is why `cpu` moves D1's decays towards faster ones (last section).
#
# **The tasks and the metric.** Q is drawn the way P is (orthonormal columns, rows normalised to unit length),
# and the re-projector's output has d dimensions, so its second layer is k × d. For the absolute value, f₁ and f₂
# are each drawn at density ε/2, as in the reference code, so that f₁ − f₂ has about the density ε of the other
# tasks. Its features arrive with either sign, so the paper measures monosemanticity with h_i(F_j) + h_i(−F_j) in
# place of h_i(F_j) in eq. 7: a neuron that fires for a feature of either sign, and for no other feature, counts
# as monosemantic. (The published plotting helper of the reference code computes r_i from h_i(F_j) alone for every
# task; we follow the paper's text.)
#
# ## The re-projector

# %% mystnb={"figure": {"caption": "Training traces of RP1 (the random re-projector; initial mean bias -1, bias decay 0.03), coloured by learning rate: loss (log scale), number of monosemantic neurons per feature and mean bias against log2 of the step. Compare with Fig. 21 of the paper.", "name": "fig-rp1-traces"}}
ms.figures.training_traces(res.rp1, by="lr")

# %% [markdown]
# At the end of training RP1 has {glue:text}`rp1_mono` monosemantic neurons per feature, at final losses
# {glue:text}`rp1_loss`; {glue:text}`rp1_settled` models have settled by the rule of {ref}`ch-basins` (over the
# last doubling of steps the held-out loss moved by less than {glue:text}`settle_loss:.0%` and the number of
# monosemantic neurons per feature by less than {glue:text}`settle_mono`, and the loss is at most
# {glue:text}`learned` times the best constant output's), and the bias decay has done its job (at most
# {glue:text}`decay_done:.0%` of the initial bias left by the decay alone at mid-run) at lr
# {glue:text}`rp1_done`. The paper: roughly one per feature
# across its learning rates, "as in the decoder models". The decoder with the same recipe at this scale, chapter
# 2's LR3 (median over its seeds; one sweep, trained once for both chapters), reaches {glue:text}`lr3_mono`. Side
# by side, with the absolute-value models of LR5:

# %% mystnb={"figure": {"caption": "Final number of monosemantic neurons per feature (left) and final loss (right) against the learning rate, for the re-projector (RP1, k = 2N), the decoder (LR3 of chapter 2, k = 2N; median over seeds, band: their range, where more than one is cached) and the absolute-value task (LR5, k = 4N), all with initial mean bias -1 and bias decay 0.03. The tasks' losses are not comparable with each other (the re-projector has d outputs, the others N).", "name": "fig-other-final"}}
ms.figures.final_against(
    {"RP1 (re-projector)": res.rp1, "LR3 (decoder)": res.lr3, "LR5 (absolute value)": res.lr5}, by="lr"
)

# %% [markdown]
# The single-feature activations of RP1 models, sorted as in the {ref}`ch-basins` chapter (neurons by
# monosemanticity, features by the neuron they activate most), so that monosemantic neurons form a diagonal:

# %% mystnb={"figure": {"caption": "Single-feature activations of the RP1 models at the lowest, the focus and the highest learning rate of this profile; neurons sorted by monosemanticity, features by the neuron they activate most.", "name": "fig-rp1-heatmaps"}}
ms.figures.activation_heatmaps(res.rp1, ms.other_tasks.heatmap_indices(res.rp1, P), by="lr")

# %% [markdown]
# ## The absolute value: learning rate
#
# LR5 trains the absolute-value task with the decoder's negative-bias recipe at each of its learning rates. The paper's
# Fig. 22 finds that monosemanticity still rises with the learning rate, so that several of its models are
# largely polysemantic despite the initial bias −1, and that the more monosemantic models end with larger negative
# biases and lower losses.

# %% mystnb={"figure": {"caption": "Training traces of LR5 (absolute value, k = 4N, initial mean bias -1, bias decay 0.03), coloured by learning rate: loss (log scale), number of monosemantic neurons per feature (from h_i(F_j) + h_i(-F_j)) and mean bias against log2 of the step. Compare with Fig. 22 of the paper.", "name": "fig-lr5-traces"}}
ms.figures.training_traces(res.lr5, by="lr")

# %% [markdown]
# LR5 ends with {glue:text}`lr5_mono` monosemantic neurons per feature ({glue:text}`lr5_settled` settled), at
# final losses {glue:text}`lr5_loss`. Over {glue:text}`lr5_read` the rank correlation of the number of monosemantic
# neurons per feature with the learning rate is {glue:text}`lr5_rho`, and over {glue:text}`lr5_bias_read` that of
# the final mean bias with it is {glue:text}`lr5_bias_rho` (negative: the more monosemantic, the more negative the
# bias).
#
# The decay of LR5 is Table 1's 0.03 per step at every profile, but over a shorter run it removes less of the bias:
# at lr {glue:text}`d1_lr` the decay alone leaves {glue:text}`lr5_left:.1%` of it over this run, against
# {glue:text}`lr5_left_paper:.1%` over the paper's (the table in the last section has every lr). Where this run's LR5
# leaves more, it is in effect a slower decay than the paper's, and slower decays are what D1 (below) tests.
#
# ## Loss against monosemanticity
#
# Unlike the decoder's basins, which reach the same loss, the paper's absolute-value basins differ in loss, and
# the more monosemantic ones reach the lower loss. A basin here is a minimum the model has found, not the plateau it
# started on: the paper trains "well past the loss plateau". A model whose neurons never fire outputs a constant,
# and the best constant output (the mean target) has a loss of {glue:text}`constant_loss_abs:.3f` at this N; the
# settledness rule counts a model whose held-out loss is above {glue:text}`learned` times that of the best constant
# output as still on its initial plateau, not settled, even when its loss is flat. Of the absolute-value models,
# {glue:text}`n_plateau` are (those: {glue:text}`plateau_list`). Every LR5 and D1 model:

# %% mystnb={"figure": {"caption": "Final loss against final number of monosemantic neurons per feature for every absolute-value model of LR5 (labelled with its learning rate) and D1 (labelled with its bias decay); hollow: not settled. D1 at decay 0.03 is the same configuration as LR5 at lr 0.007 where both train equally long. Grey: the loss of the best constant output (dashed) and the settledness rule's limit, a fixed fraction of it (dotted): a model above it is on its initial plateau. The paper: lower loss for the more monosemantic solutions (Fig. 22).", "name": "fig-abs-loss-mono"}}
ms.other_tasks.figures.loss_against_mono({"LR5": res.lr5, "D1": res.d1}, lines=ms.other_tasks.plateau_lines(res))

# %% [markdown]
# Over {glue:text}`lvm_read` (each configuration counted once, of {glue:text}`n_abs_models`), the rank
# correlation of the final loss with the number of monosemantic neurons per feature is
# {glue:text}`lvm_rho_text` (negative: more monosemantic, lower loss); the one-sided
# {glue:text}`anti_alpha:.0%` critical value of Spearman's rho is {glue:text}`lvm_critical`, computed exactly
# from all n! orderings of n unrelated values. The least against the most monosemantic of them:
# {glue:text}`lvm_gap_text` (the gap relative to the latter's loss). The paper's figures cannot tell whether its
# own low-monosemanticity models had left the plateau: its Fig. 22 shows final losses up to about 2.5 at N = 512,
# where the best constant output's loss is {glue:text}`constant_loss_abs_paper:.2f`.
#
# ## The absolute value: bias decay
#
# D1 holds the learning rate at {glue:text}`d1_lr` and sweeps the bias decay. The paper's Fig. 23: the slower the
# decay, the more monosemantic the model; with a slow decay the negative bias works again.

# %% mystnb={"figure": {"caption": "Training traces of the D1 batch (absolute value, k = 4N, lr 0.007, initial mean bias -1), coloured by the bias decay (log scale); where D1 does not train decay 0.03, that model's traces are LR5's at lr 0.007. Compare with Fig. 23 of the paper.", "name": "fig-d1-traces"}}
ms.figures.training_traces(res.d1, by="bias_decay")

# %% mystnb={"figure": {"caption": "Final number of monosemantic neurons per feature (left) and final loss (right) of Table 1's row D1 against the bias decay (absolute value, lr 0.007, initial mean bias -1; the model at decay 0.03 is LR5's at lr 0.007); hollow: not settled. Compare with Fig. 23 of the paper.", "name": "fig-d1-final"}}
ms.other_tasks.figures.final_against_models(
    {"D1 (absolute value, lr 0.007)": ms.other_tasks.d1_instances(res)}, by="bias_decay"
)

# %% [markdown]
# Row D1 ends with {glue:text}`d1_mono` monosemantic neurons per feature (the D1 batch:
# {glue:text}`d1_settled` settled; its decay has done its job at {glue:text}`d1_done`); over
# {glue:text}`d1_read` the rank correlation with the decay is {glue:text}`d1_rho` (negative: slower decay, more
# monosemantic). Its final mean biases: {glue:text}`d1_bias`. A model still on the initial plateau has no
# monosemantic neuron because its neurons hardly ever fire: with a slow decay the bias stays near or below its
# initial −1, and a neuron then fires only on rare samples, whose gradients are all it learns from. LR5's models
# here see {glue:text}`samples_abs:,` samples in all and D1's {glue:text}`samples_d1:,` (the `paper` profile's:
# {glue:text}`samples_lr5_paper:,` and {glue:text}`samples_d1_paper:,`, at batch {glue:text}`batch_abs_paper`).
#
# ## How much bias the decay leaves
#
# The decays are per step and act during the first half of the run, so the decay alone leaves
# (1 − decay · lr)^(steps / 2) of the initial bias, and a shorter run decays less in total. At `cpu`, whose D1
# trains {glue:text}`d1_fewer_cpu` times fewer steps than `paper`'s, D1's slowest decay in the paper
# ({glue:text}`d1_slowest_paper`) would leave {glue:text}`d1_slowest_left_cpu` of the bias, barely different from
# no decay, so `cpu` drops it and adds {glue:text}`d1_added_cpu`, which leaves {glue:text}`d1_added_left_cpu` of
# it, as the paper's two fastest, {glue:text}`d1_fastest_paper`, leave {glue:text}`d1_fastest_left_paper` over the
# paper's run. Every model of this chapter follows the recipe, so every part of claim 9 rests on the decay: it reads
# only the models whose decay alone leaves at most {glue:text}`decay_done:.0%` of the bias by mid-run (which ones
# follows from their configurations, before any result is read). What the decay alone leaves at each
# absolute-value model of this profile, and over the `paper` profile's run of its row (gradients move the bias
# too; this is the decay's share only):

# %% tags=["remove-input"]
ms.tables.show_bias_left(ms.other_tasks.bias_left_table(P))

# %% [markdown]
# Final values for every model:

# %%
ms.tables.summary_tables(
    {"RP1 (re-projector)": res.rp1, "LR5 (absolute value)": res.lr5, "D1 (absolute value)": res.d1}
)

# %% [markdown]
# ## What we found
#
# Claim 9 is split into the parts the paper states, each a test with a named threshold (a constant of
# `monosem.chapters.other_tasks`, with its reason). Every part reads the models whose bias decay has done its
# job, and is tested only when all of them have settled; otherwise it "cannot be tested at this scale" (the table
# says why) and counts neither for nor against. The verdict is over the parts that could be tested: "agree" when
# every one holds, "not testable here" when none could be tested. The rank-correlation parts compare with the
# exact one-sided {glue:text}`anti_alpha:.0%` critical value of Spearman's rho for the number of models read
# (fewer than {glue:text}`anti_min_models` models cannot reach that level).

# %%
ms.claims.show(ms.other_tasks.findings(res))

# %% [markdown]
# Where this run and the paper part ways, the likely reasons (hypotheses, not tested here) are those of scale: this
# profile trains the absolute-value models {glue:text}`steps_abs:,` steps at batch {glue:text}`batch_abs` (the
# `paper` profile: {glue:text}`steps_lr5_paper:,` steps for LR5 and {glue:text}`steps_d1_paper:,` for D1, at
# batch {glue:text}`batch_abs_paper`), and the paper describes the absolute value as harder to learn than the
# decoder, so it needs more steps with the bias still negative. Two effects of the shorter run pull in opposite
# directions: a decay removes less of the bias (the table above), so Table 1's decays act like slower ones here,
# which should make LR5 more monosemantic; and a model whose bias stays strongly negative sees few samples that
# make its neurons fire, so with the slowest decays it may never leave the initial plateau. For the re-projector, the decoder trained the same way at the same scale (LR3) is the
# yardstick: where the two agree with each other but not with the paper's "roughly one", the difference is one of
# scale that chapter 2 shows for the decoder too, not one of the task.
