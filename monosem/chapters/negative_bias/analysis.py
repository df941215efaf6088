"""Chapter 2, a negative initial bias with bias decay (paper Section 4.1.2). Claims 3, 4 and 5.

Table 1's LR3 and LR4 (initial bias -1, decay 0.03), B1-B5 (initial bias swept at five densities), the GeLU
sweep over lr and initial bias, LR3 at a second embedding dimension (`LR3d2`, `LR3x2`), and, where the profile's
initial weight norms differ from the paper's, LR3 with LAMB's weight clamp scaled by their ratio (`LR3clamp`);
LR1 and LR2 come from chapter 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from monosem import tables
from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.negative_bias.train import (
    B_BATCHES,
    B_LR,
    CLAMP_NAME,
    GRIDS,
    LAMB_CLAMP,
    clamp_ratio,
    initial_norms,
    scaled_clamp,
    sweeps,
)
from monosem.claims import Finding, Gate, Part, rule_values, settled_gate
from monosem.metrics import POSITIVE_BIAS, mono_fraction, n_positive_bias
from monosem.paper import D_TOL, HARDLY, RECIPE, SAME_LOSS, bias_left
from monosem.profiles import PROFILES, Profile
from monosem.prose import by_lr, median_by_lr, scale_numbers, seeds_text, spread
from monosem.results import SweepResult

__all__ = [
    "GELU_MINIMUM",
    "NegativeBias",
    "load",
    "HIGHLY_LR3",
    "GELU_NEAR",
    "B_RANGE",
    "DROP",
    "settled_lrs",
    "lr_values",
    "negative_bias_vs_zero",
    "best_bias",
    "below_sqrt_eps",
    "positive_bias_counts",
    "claim3",
    "claim4",
    "claim5",
    "findings",
    "batch_names",
    "sparse_batches",
    "bias_left_table",
    "clamp_steps",
    "clamp_effect",
    "glue_values",
    "RECIPE",
]

# The GeLU reaches its minimum, about -0.17, at this pre-activation.
GELU_MINIMUM = -0.75


@dataclass(frozen=True)
class NegativeBias:
    profile: Profile
    lr1: SweepResult
    lr2: SweepResult
    lr3: SweepResult
    lr4: SweepResult
    b: dict[str, SweepResult]  # those of B1-B5 the profile trains, by name
    gelu: SweepResult
    lr3x2: SweepResult
    lr3d2: SweepResult
    lr3_clamp: SweepResult | None = None  # None at the paper's scale (`lr3_clamp`)

    def b_labelled(self) -> dict[str, SweepResult]:
        """The B batches labelled with their densities, for figures."""
        return {f"{name} (ε = 1/{round(1 / r.configs[0].eps)})": r for name, r in self.b.items()}

    def clamp_labelled(self) -> dict[str, SweepResult]:
        """LR3 and, where trained, LR3 with the scaled clamp, labelled with their clamps, for figures."""
        out = {f"LR3, clamp {LAMB_CLAMP:g}": self.lr3}
        if self.lr3_clamp is not None:
            out[f"{CLAMP_NAME}, clamp {self.lr3_clamp.configs[0].weight_clamp:g}"] = self.lr3_clamp
        return out


def load(profile: Profile, cache: Cache | None = None) -> NegativeBias:
    """The chapter's trained results, read from the cache (NotTrained names the command that trains them)."""
    cache = reader(profile, cache, "negative_bias")
    # every sweep at the most seeds cached (`train --seeds S`): the claims pool seeds per lr, the figures draw bands
    got = {s.name: cache.get_or_train(cache.seeded(s)) for s in sweeps(profile)}
    b = {name: got[name] for name in GRIDS.of(profile).b_batches}
    return NegativeBias(
        profile,
        got["LR1"],
        got["LR2"],
        got["LR3"],
        got["LR4"],
        b,
        got["GELU"],
        got["LR3x2"],
        got["LR3d2"],
        got.get(CLAMP_NAME),
    )


# Claim 3. "Highly monosemantic minima at every lr": the paper's LR3 traces end between about 0.8 and 1 monosemantic
# neurons per feature at every lr (Figs. 1 right and 7), which Fig. 10 calls "highly monosemantic solutions across
# the board"; the part tests the low end of what the paper shows for this recipe.
HIGHLY_LR3 = 0.8


# GeLU: the best initial bias is "near -1" when it is within this of -1 (with the grid 0, -0.5, -1, -2: only -1).
GELU_NEAR = 0.25


# Claim 4. The paper's range of # mono / # features below -sqrt(eps) (Fig. 8).
B_RANGE = (0.6, 1.0)


# "Drops quickly above -sqrt(eps)": the mean above is at most this fraction of the mean below.
DROP = 0.5


def settled_lrs(result: SweepResult, field: str = "lr") -> dict[float, bool]:
    """Per learning rate (or another `field`), whether every seed has settled (`SweepResult.converged`)."""
    return {key: bool(ok.all()) for key, ok in by_lr(result, result.converged(), field).items()}


def lr_values(result: SweepResult, values: torch.Tensor, fmt: str = ".2f", field: str = "lr") -> str:
    """Per-instance `values` as text per learning rate (median [min, max] over seeds), each marked where a seed has
    not settled: "0.85 (lr 0.001, not settled), 0.91 (lr 0.003)"."""
    ok = settled_lrs(result, field)
    name = "lr" if field == "lr" else field.replace("_", " ")
    return ", ".join(
        f"{spread(v, fmt)} ({name} {key:g}{'' if ok[key] else ', not settled'})"
        for key, v in by_lr(result, values, field).items()
    )


def negative_bias_vs_zero(zero: SweepResult, negative: SweepResult) -> dict[str, Any]:
    """Per-lr comparison (medians over seeds) of a negative-bias lr sweep with the zero-bias one, at every learning
    rate of the negative-bias sweep (the claims' gates say whether the models have settled)."""
    mono_z = median_by_lr(zero, zero.mono_per_feature())
    mono_n = median_by_lr(negative, negative.mono_per_feature())
    loss_z, loss_n = median_by_lr(zero, zero.final_loss), median_by_lr(negative, negative.final_loss)
    lrs = [lr for lr in mono_n if lr in mono_z]
    lowest = min(mono_n, key=mono_n.get)
    return {
        "n_lrs": len(lrs),
        "n_neg_settled": sum(settled_lrs(negative).values()),
        "n_zero_settled": sum(settled_lrs(zero).values()),
        "n_more_mono": sum(mono_n[lr] > mono_z[lr] for lr in lrs),
        "n_same_or_lower_loss": sum(loss_n[lr] <= loss_z[lr] * (1 + SAME_LOSS) for lr in lrs),
        "n_highly": sum(mono_n[lr] >= HIGHLY_LR3 for lr in mono_n),
        "n_neg": len(mono_n),
        "mono_zero_mean": sum(mono_z.values()) / len(mono_z),
        "mono_neg_mean": sum(mono_n.values()) / len(mono_n),
        "mono_neg_min": mono_n[lowest],
        "lr_neg_min": lowest,
        "mono_neg": mono_n,
        "mono_neg_text": lr_values(negative, negative.mono_per_feature()),
    }


def best_bias(result: SweepResult) -> dict[str, float]:
    """The initial bias with the most monosemantic neurons per feature, averaged over the other axis."""
    grouped = by_lr(result, result.mono_per_feature(), "init_bias")
    biases, means = list(grouped), [float(v.mean()) for v in grouped.values()]
    best = max(range(len(biases)), key=lambda i: means[i])
    return {"best_bias": biases[best], "best_mono": means[best], "zero_bias_mono": means[biases.index(0.0)]}


def below_sqrt_eps(result: SweepResult) -> dict[str, float]:
    """Claim 4's numbers for one B sweep: mean # mono / # features and mean fraction of monosemantic neurons
    over initial biases below -sqrt(eps), their spread there, and # mono / # features above it (each initial
    bias's median over seeds when the sweep has several)."""
    eps = result.configs[0].eps
    mono_by = median_by_lr(result, result.mono_per_feature(), "init_bias")
    frac_by = median_by_lr(result, mono_fraction(result.r), "init_bias")
    biases = torch.tensor(list(mono_by))
    below = biases < -(eps**0.5)
    frac = torch.tensor(list(frac_by.values()))
    mono = torch.tensor(list(mono_by.values()))
    nan = float("nan")
    spread_below = float((mono[below].max() - mono[below].min()) / mono[below].max()) if below.sum() > 1 else nan
    return {
        "eps": eps,
        "sqrt_eps": eps**0.5,
        "n_below": int(below.sum()),
        "mono_below": float(mono[below].mean()) if below.any() else nan,
        "frac_below": float(frac[below].mean()) if below.any() else nan,
        "mono_above": float(mono[~below].mean()) if (~below).any() else nan,
        "spread_below": spread_below,
    }


def positive_bias_counts(result: SweepResult) -> list[int]:
    """Neurons with final bias above POSITIVE_BIAS (the paper's proxy for polysemantic neurons), per instance."""
    return n_positive_bias(result.b_in).tolist()


def _d_counts(result: SweepResult) -> tuple[int, dict[float, float], str]:
    """d, the median count over seeds at every lr, and the counts as text (median [min, max] per lr, each marked
    where a seed has not settled)."""
    d = result.configs[0].d_embed
    counts = n_positive_bias(result.b_in)
    return d, median_by_lr(result, counts), lr_values(result, counts, ".0f")


def _gates(*gates: Gate) -> Gate:
    out = gates[0]
    for g in gates[1:]:
        out = out & g
    return out


def claim3(res: NegativeBias) -> Finding:
    uni, power, g = (
        negative_bias_vs_zero(res.lr1, res.lr3),
        negative_bias_vs_zero(res.lr2, res.lr4),
        best_bias(res.gelu),
    )
    # Every part rests on the recipe's bias decay (LR3, LR4, GeLU) and reads minima: settled models, decay done.
    lr3_gate = settled_gate(res.lr3, decay=True)
    uni_gate = settled_gate(res.lr1) & lr3_gate
    power_gate = settled_gate(res.lr2) & settled_gate(res.lr4, decay=True)
    gelu_gate = settled_gate(res.gelu, decay=True)
    parts = (
        Part(
            "highly monosemantic minima at every lr",
            f"about {HIGHLY_LR3:g}-1 per feature at every lr (Figs. 1 right, 7, 10)",
            f"LR3: {uni['mono_neg_text']}; >= {HIGHLY_LR3:g} at {uni['n_highly']} of {uni['n_neg']} lrs",
            f"median >= {HIGHLY_LR3:g} per feature (HIGHLY_LR3) at every lr",
            uni["n_highly"] == uni["n_neg"],
            lr3_gate,
        ),
        Part(
            "more monosemantic than with zero bias",
            "at every lr (Fig. 1)",
            f"at {uni['n_more_mono']} of {uni['n_lrs']} lrs (mean {uni['mono_neg_mean']:.2f} vs "
            f"{uni['mono_zero_mean']:.2f})",
            "LR3 median > LR1 median at every lr",
            uni["n_more_mono"] == uni["n_lrs"],
            uni_gate,
        ),
        Part(
            "with the same or slightly lower loss",
            "same or slightly lower (Fig. 1)",
            f"at {uni['n_same_or_lower_loss']} of {uni['n_lrs']} lrs",
            f"LR3 median loss <= LR1's x (1 + {SAME_LOSS}) (SAME_LOSS) at every lr",
            uni["n_same_or_lower_loss"] == uni["n_lrs"],
            uni_gate,
        ),
        Part(
            "also with power-law frequencies",
            "LR4 more monosemantic than LR2 (Fig. 12)",
            f"at {power['n_more_mono']} of {power['n_lrs']} lrs (mean {power['mono_neg_mean']:.2f} vs "
            f"{power['mono_zero_mean']:.2f})",
            "LR4 median > LR2 median at every lr",
            power["n_more_mono"] == power["n_lrs"],
            power_gate,
        ),
        Part(
            "and with GeLU, best initial bias near -1",
            "best near -1, slightly below the GeLU minimum at -0.75 (Fig. 13)",
            f"best initial bias {g['best_bias']:g} ({g['best_mono']:.2f} per feature vs "
            f"{g['zero_bias_mono']:.2f} at 0)",
            f"|best + 1| <= {GELU_NEAR} (GELU_NEAR)",
            abs(g["best_bias"] + 1) <= GELU_NEAR,
            gelu_gate,
        ),
    )
    return Finding(
        "3. Initial bias -1 with bias decay: highly monosemantic at every lr, same or lower loss",
        parts,
        "fig-neg-final",
        headline=(
            f"about {HIGHLY_LR3:g}-1 per feature at every lr",
            f"{uni['mono_neg_min']:.2f} at the weakest lr ({uni['lr_neg_min']:g})",
        ),
    )


def claim4(res: NegativeBias) -> Finding:
    b = {name: below_sqrt_eps(r) for name, r in res.b.items()}
    lo, hi = B_RANGE
    in_range = {n: lo <= v["mono_below"] <= hi for n, v in b.items()}
    two_or_more = {n: v for n, v in b.items() if v["n_below"] > 1}
    hardly = {n: v["spread_below"] <= HARDLY for n, v in two_or_more.items()}
    drops = {n: v["mono_above"] <= DROP * v["mono_below"] for n, v in b.items()}
    k_over_n = res.lr3.configs[0].d_hidden / res.lr3.configs[0].n_features
    # The B batches start from negative biases that only the decay removes: every part needs it done, and minima.
    gates = {n: settled_gate(r, decay=True) for n, r in res.b.items()}
    every = _gates(*gates.values())

    def listing(fmt) -> str:
        return "; ".join(f"{n}: {fmt(v)}" for n, v in b.items())

    parts = (
        Part(
            "below -sqrt(eps), 0.6-1 monosemantic neurons per feature (30-50 % of neurons)",
            "0.6-1 per feature, 30-50 % of neurons (Fig. 8-9)",
            listing(lambda v: f"{v['mono_below']:.2f} ({v['frac_below']:.0%})"),
            f"mean below in [{lo}, {hi}] (B_RANGE) in every batch; the fraction of neurons is the same number "
            f"x N / k (k = {k_over_n:g} N here), so it is not a separate test",
            all(in_range.values()),
            every,
        ),
        Part(
            "the precise bias hardly matters below -sqrt(eps)",
            "hardly matters (Fig. 8)",
            listing(lambda v: f"spread {v['spread_below']:.0%} over {v['n_below']} biases"),
            f"(max - min) / max <= {HARDLY:.0%} (HARDLY) in every batch with >= 2 biases below",
            all(hardly.values()),
            _gates(*(gates[n] for n in two_or_more)) if two_or_more else None,
            testable=bool(two_or_more),
        ),
        Part(
            "monosemanticity drops quickly above -sqrt(eps)",
            "drops quickly (Fig. 8-9)",
            listing(lambda v: f"{v['mono_above']:.2f} above vs {v['mono_below']:.2f} below"),
            f"mean above <= {DROP} x mean below (DROP) in every batch",
            all(drops.values()),
            every,
        ),
    )
    return Finding(
        "4. ReLU: below about -sqrt(eps) the initial bias hardly matters",
        parts,
        "fig-b-sweeps",
        headline=(f"{lo:g}-{hi:g} per feature below -sqrt(eps)", listing(lambda v: f"{v['mono_below']:.2f}")),
    )


def claim5(res: NegativeBias) -> Finding:
    parts = []
    counted = {}
    for label, result in (
        ("at this profile's d (LR3)", res.lr3),
        ("at a second d, N and k fixed (LR3d2)", res.lr3d2),
        ("with N, d and k doubled (LR3x2)", res.lr3x2),
    ):
        d, counts, text = _d_counts(result)
        counted[result.sweep.name] = (d, counts)
        parts.append(
            Part(
                label,
                "65 for d = 64, 33 for d = 32, 130 for d = 128 (Fig. 11)",
                f"d = {d}, d + 1 = {d + 1}: {text}",
                f"median over seeds within {D_TOL} of d + 1 (D_TOL) at every lr",
                all(abs(c - (d + 1)) <= D_TOL for c in counts.values()),
                # the law is the recipe's (Fig. 11 is LR3): settled models whose decay has done its job
                settled_gate(result, decay=True),
            )
        )
    d, counts = counted["LR3"]
    low, high = min(counts.values()), max(counts.values())
    return Finding(
        f"5. Exactly d + 1 neurons keep a positive bias (> {POSITIVE_BIAS})",
        tuple(parts),
        "fig-d-plus-one",
        headline=(
            "65 = d + 1 at d = 64, at every lr",
            f"{low:.0f}-{high:.0f} at d = {d} (d + 1 = {d + 1})"
            if low != high
            else f"{low:.0f} at d = {d} (d + 1 = {d + 1})",
        ),
    )


def findings(res: NegativeBias) -> list[Finding]:
    """Claims 3, 4 and 5 (Section 4.1.2)."""
    return [claim3(res), claim4(res), claim5(res)]


def batch_names(names: tuple[str, ...]) -> str:
    """B batches as text: "B1-B3" for a run of consecutive ones, else listed."""
    order = list(B_BATCHES)
    at = [order.index(n) for n in names]
    if len(names) > 2 and at == list(range(at[0], at[0] + len(at))):
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)


def sparse_batches(profile: Profile) -> tuple[str, ...]:
    """The B batches the profile trains with B2's slower decay (all but B1)."""
    return tuple(n for n in GRIDS.of(profile).b_batches if B_BATCHES[n][1] == B_BATCHES["B2"][1])


def bias_left_table(profile: Profile) -> pd.DataFrame:
    """What bias decay alone leaves of the initial bias (`monosem.tables.bias_left_table`) at each of the profile's
    learning rates (decay 0.03, LR3 and LR4) and at B2-B5's (decay 0.003, lr 0.003; those the profile trains),
    against the paper's run (2^17 steps)."""
    here, paper = profile.n_steps, PROFILES["paper"].n_steps
    rows = [("LR3, LR4", lr, RECIPE["bias_decay"], here, paper) for lr in profile.lrs]
    sparse = sparse_batches(profile)
    if sparse:
        rows.append((batch_names(sparse), B_LR, B_BATCHES["B2"][1], here, paper))
    return tables.bias_left_table(rows, profile)


def clamp_steps(profile: Profile) -> pd.DataFrame:
    """Per layer of LR3 at initialisation: its norm at the paper's scale and at the profile's, and LAMB's step
    relative to the weights, min(norm, clamp) / norm per unit of lr and of normalised update (the update has unit
    size per weight in either model), in the paper (clamp 10), here with clamp 10, and here with the scaled clamp."""
    paper, here, clamp = initial_norms(PROFILES["paper"]), initial_norms(profile), scaled_clamp(profile)
    return pd.DataFrame(
        [
            (
                layer,
                paper[layer],
                here[layer],
                *(
                    min(n, c) / n
                    for n, c in ((paper[layer], LAMB_CLAMP), (here[layer], LAMB_CLAMP), (here[layer], clamp))
                ),
            )
            for layer in paper
        ],
        columns=[
            "layer",
            "initial norm, paper",
            f"initial norm, {profile.name}",
            f"relative step, paper (clamp {LAMB_CLAMP:g})",
            f"relative step, {profile.name} (clamp {LAMB_CLAMP:g})",
            f"relative step, {profile.name} (clamp {clamp:g})",
        ],
    )


def clamp_effect(res: NegativeBias) -> dict[str, Any]:
    """LR3 against LR3 with the scaled clamp, per lr (medians over seeds): # mono / # features and final loss, as
    numbers and as text; at the paper's scale (no such sweep) the text says why there is nothing to compare."""
    profile = res.profile
    out: dict[str, Any] = {
        "clamp": scaled_clamp(profile),
        "clamp_ratio": clamp_ratio(profile),
        "clamp_default": LAMB_CLAMP,
        **{f"norm_{k}": v for k, v in initial_norms(profile).items()},
        **{f"norm_paper_{k}": v for k, v in initial_norms(PROFILES["paper"]).items()},
    }
    if res.lr3_clamp is None:
        out["clamp_result"] = (
            "At this profile the initial norms are the paper's (the ratio is 1), so the clamp is the paper's and there "
            "is no second sweep to compare."
        )
        return out
    a, b = res.lr3, res.lr3_clamp
    mono_a, mono_b = median_by_lr(a, a.mono_per_feature()), median_by_lr(b, b.mono_per_feature())
    loss_a, loss_b = median_by_lr(a, a.final_loss), median_by_lr(b, b.final_loss)
    ok_a, ok_b = settled_lrs(a), settled_lrs(b)
    lrs = [lr for lr in mono_b if lr in mono_a]
    mono_change = [mono_b[lr] - mono_a[lr] for lr in lrs]
    loss_change = [loss_b[lr] / loss_a[lr] - 1 for lr in lrs]
    out.update(
        {
            "clamp_n_lrs": len(lrs),
            "clamp_n_more_mono": sum(c > 0 for c in mono_change),
            "clamp_mono_change_mean": sum(mono_change) / len(lrs),
            "clamp_mono_change_max": max(mono_change, key=abs),
            "clamp_loss_change_mean": sum(loss_change) / len(lrs),
            "clamp_n_settled": sum(ok_b[lr] for lr in lrs),
            "clamp_n_settled_lr3": sum(ok_a[lr] for lr in lrs),
            "clamp_per_lr": "; ".join(
                f"lr {lr:g}: {mono_a[lr]:.2f} -> {mono_b[lr]:.2f} per feature, loss {loss_a[lr]:.4g} -> "
                f"{loss_b[lr]:.4g}{'' if ok_a[lr] and ok_b[lr] else ' (not settled)'}"
                for lr in lrs
            ),
        }
    )
    out["clamp_result"] = (
        f"{CLAMP_NAME} is LR3 trained with the clamp at {out['clamp']:g}, at every learning rate. Against LR3, its "
        f"# mono / # features differs by {out['clamp_mono_change_mean']:+.2f} on average over the {len(lrs)} "
        f"learning rates (the largest difference {out['clamp_mono_change_max']:+.2f}; higher at "
        f"{out['clamp_n_more_mono']} of them) and its final loss by {out['clamp_loss_change_mean']:+.1%}; it has "
        f"settled at {out['clamp_n_settled']} of the learning rates, LR3 at {out['clamp_n_settled_lr3']}. Per "
        f"learning rate, LR3{' (median over its seeds)' if len(set(a.values('seed'))) > 1 else ''} -> {CLAMP_NAME}: "
        f"{out['clamp_per_lr']}."
    )
    return out


def glue_values(res: NegativeBias) -> dict[str, Any]:
    trained = [res.lr3, res.lr4, *res.b.values(), res.gelu, res.lr3x2, res.lr3d2]
    out = scale_numbers(res.profile, trained + ([res.lr3_clamp] if res.lr3_clamp is not None else []))
    scalar = (int, float, str)
    out.update({f"uni_{k}": v for k, v in negative_bias_vs_zero(res.lr1, res.lr3).items() if isinstance(v, scalar)})
    out.update({f"power_{k}": v for k, v in negative_bias_vs_zero(res.lr2, res.lr4).items() if isinstance(v, scalar)})
    out.update({f"gelu_{k}": v for k, v in best_bias(res.gelu).items()})
    lowest = min(res.profile.lrs)
    out["lr3_loss_lowest_lr"] = median_by_lr(res.lr3, res.lr3.final_loss)[lowest]
    out["lr1_loss_lowest_lr"] = median_by_lr(res.lr1, res.lr1.final_loss)[lowest]
    out["d2"] = res.lr3x2.configs[0].d_embed
    out["counts_d"] = _d_counts(res.lr3)[2]
    out["counts_wide"] = _d_counts(res.lr3d2)[2]
    out["counts_d2"] = _d_counts(res.lr3x2)[2]
    out.update(seeds_text(res.lr3))
    out["b_lr"] = B_LR
    trained = GRIDS.of(res.profile).b_batches
    out["b_names"] = batch_names(trained)
    left_out = tuple(n for n in B_BATCHES if n not in trained)
    out["b_left_out"] = (
        f"This profile leaves out {batch_names(left_out)}: at its run length their bias decay leaves the bias "
        "almost where it started (see the end of this chapter), and an earlier run of them learned almost nothing."
        if left_out
        else "This profile trains all five."
    )
    out["gelu_lrs"] = ", ".join(f"{lr:g}" for lr in GRIDS.of(res.profile).gelu_lrs)
    out["b_biases"] = ", ".join(f"{b:g}" for b in GRIDS.of(res.profile).biases)
    out["sparse_names"] = batch_names(sparse_batches(res.profile)) or "none"
    decay = B_BATCHES["B2"][1]
    out["sparse_decay"] = decay
    out["sparse_shrink"] = 1 - bias_left(decay, B_LR, res.profile.n_steps)
    out["sparse_shrink_paper"] = 1 - bias_left(decay, B_LR, PROFILES["paper"].n_steps)
    out["gelu_minimum"] = GELU_MINIMUM
    out["gelu_min_value"] = float(torch.nn.functional.gelu(torch.tensor(GELU_MINIMUM)))
    out["positive_bias"] = POSITIVE_BIAS
    out["highly_lr3"] = HIGHLY_LR3
    out.update(rule_values())
    out["d_lrs"] = ", ".join(f"{lr:g}" for lr in GRIDS.of(res.profile).doubled_lrs)
    out.update(clamp_effect(res))
    return out
