"""Chapter 1, basins (paper Section 4.1): with zero initial bias the learning rate picks the minimum.

Table 1's LR1 (uniform frequencies) and LR2 (power law), lr swept. Claims 1 and 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from monosem import settling, training
from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.basins.train import MORE, continue_all, extend, lr1, lr2
from monosem.chapters.basins.train import flat as flat_sweep
from monosem.claims import Finding, Part, rule_values, settled_gate, spearman
from monosem.metrics import MONO_THRESHOLD, is_monosemantic
from monosem.paper import RISES, log2_steps
from monosem.profiles import Profile
from monosem.prose import by_lr, converged_lrs, median_by_lr, rho_text, scale_numbers, seeds_text, spread
from monosem.results import SETTLE_LOSS, SweepResult

__all__ = [
    "POLY_THRESHOLD",
    "Basins",
    "load",
    "SLIGHTLY",
    "NOT_HIGHER",
    "PLATEAU",
    "PAPER_N",
    "PLATEAU_TOL",
    "CLEAR_BIAS",
    "MODERATE_MIN",
    "MODERATE_MAX",
    "heldout_by_lr",
    "lr_dependence",
    "bias_split",
    "claim1",
    "claim2",
    "findings",
    "glue_values",
    "continuations",
    "settling_rates",
    "settling_table",
    "settle_table",
    "settling_numbers",
    "extension",
    "more_table",
    "more_numbers",
    "first_seed",
    "most_monosemantic",
    "HEATMAP_LRS",
    "heatmap_indices",
]

# A neuron counts as clearly polysemantic for claim 2 below this monosemanticity.
POLY_THRESHOLD = 0.5


@dataclass(frozen=True)
class Basins:
    profile: Profile
    lr1: SweepResult
    lr2: SweepResult
    flat: SweepResult | None = None  # FLAT (`train.flat`): more seeds of LR1's fastest settler, where trained

    def rule_sweeps(self) -> dict[str, SweepResult]:
        """The sweeps on which the settledness rule's error rates are measured, by name."""
        return {"LR1": self.lr1, "LR2": self.lr2, **({"FLAT": self.flat} if self.flat is not None else {})}


def load(profile: Profile, cache: Cache | None = None) -> Basins:
    """The chapter's trained sweeps, read from the cache (NotTrained names the command that trains them)."""
    cache = reader(profile, cache, "basins")
    # every sweep at the most seeds cached (`train --seeds S`): the claims pool seeds per lr, the figures draw bands
    flat_ = flat_sweep(profile)
    return Basins(
        profile,
        *(cache.get_or_train(cache.seeded(s)) for s in (lr1(profile), lr2(profile))),
        flat=None if flat_ is None else cache.get_or_train(flat_),
    )


# "Slightly lower loss" (Fig. 1's caption): lower at the highest lr than at the lowest by at most this; the paper's
# plateau, 0.85-0.95 (Fig. 1), spans 11 %, so a larger fall is not slight.
SLIGHTLY = 0.12


# "Not higher": the paper's text calls the basins' losses "indistinguishable" (Sec. 4, Fig. 3), its Fig. 1 caption
# "slightly lower" at high lr. The loss at the highest lr may sit above the lowest lr's by at most this: twice the
# settle tolerance SETTLE_LOSS (1 %), because each of the two models is settled only to within SETTLE_LOSS of its
# loss over a doubling of steps, so two losses at the same minimum can differ by up to that sum either way. (The
# two held-out losses compared are on the same samples, so their sampling noise is far below it.)
NOT_HIGHER = 2 * SETTLE_LOSS


# The paper's loss plateau at N = 512 (Fig. 1, 3); the loss sums over N outputs, so it scales with N.
PLATEAU = (0.85, 0.95)


PAPER_N = 512


# How far outside the scaled plateau a settled loss may sit and still be "near" it.
PLATEAU_TOL = 0.1


# Claim 2. A bias counts as clearly negative or positive beyond this: the paper's own proxy for a positive-bias
# (polysemantic) neuron, 0.05 (Fig. 11), used in both directions.
CLEAR_BIAS = 0.05


# "Moderate" negative biases, in units of sqrt(eps), the typical input to a ReLU (Sec. 4.1.2: "the typical input to
# the ReLU has scale ~ eps^1/2"). Moderate is of that order, not many times it: the median monosemantic bias lies
# between -MODERATE_MAX and -MODERATE_MIN times sqrt(eps). MODERATE_MAX = 8: Fig. 5's monosemantic biases reach down
# to its axis' end at -1, 8 sqrt(eps) at the paper's eps = 1/64; a median beyond all of them is not moderate.
# MODERATE_MIN = 1: below the typical input the bias is the "transition region of small-magnitude biases" that
# Sec. 4.1.1 sets apart from the moderate ones (and it would not hold back the interference a neuron sees).
MODERATE_MIN = 1.0


MODERATE_MAX = 8.0


def heldout_by_lr(result: SweepResult) -> dict[float, float]:
    """The final held-out loss per lr, the median over seeds (every lr of a seed on the same held-out samples)."""
    return median_by_lr(result, result["snap_heldout"][:, -1])


def lr_dependence(result: SweepResult) -> dict[str, Any]:
    """Claim 1's numbers for a zero-bias lr sweep (seeds pooled per lr by their median; the loss is the final
    held-out loss)."""
    mono = median_by_lr(result, result.mono_per_feature())
    loss = heldout_by_lr(result)
    ok = converged_lrs(result)
    lrs = list(mono)
    lo, hi = lrs[0], lrs[-1]
    spreads = by_lr(result, result.mono_per_feature())
    return {
        "lrs": lrs,
        "converged_lrs": ok,
        "n_converged": len(ok),
        "n_lrs": len(lrs),
        "n_models": result.sweep.n_inst,
        "n_settled": int(result.converged().sum()),
        "lr_low": lo,
        "lr_high": hi,
        "mono_low": mono[lo],
        "mono_high": mono[hi],
        "mono_low_spread": spread(spreads[lo], ".3f"),
        "mono_high_spread": spread(spreads[hi], ".3f"),
        "loss_low": loss[lo],
        "loss_high": loss[hi],
        "loss_fall": (loss[lo] - loss[hi]) / loss[lo],
        "rho_mono": spearman(lrs, list(mono.values())) if len(lrs) >= 3 else float("nan"),
        "loss_by_lr": loss,
        "plateau_low": PLATEAU[0] * result.n_features / PAPER_N,
        "plateau_high": PLATEAU[1] * result.n_features / PAPER_N,
    }


def bias_split(result: SweepResult) -> dict[str, float]:
    """Claim 2's numbers: median final bias of monosemantic and of clearly polysemantic (r < POLY_THRESHOLD,
    alive) neurons, pooled over every instance, and sqrt(eps), the scale of a moderate bias."""
    r, b = result.r.flatten(), result.b_in.flatten()
    mono = is_monosemantic(r)
    poly = (r < POLY_THRESHOLD) & (r > 0)
    return {
        "n_mono": int(mono.sum()),
        "n_poly": int(poly.sum()),
        "median_mono": float(b[mono].median()) if mono.any() else float("nan"),
        "median_poly": float(b[poly].median()) if poly.any() else float("nan"),
        "sqrt_eps": math.sqrt(result.configs[0].eps),
    }


def claim1(result: SweepResult) -> Finding:
    c = lr_dependence(result)
    lo, hi = c["lr_low"], c["lr_high"]
    lo_hi = f"lr {lo:g} vs {hi:g}"
    low, high = c["plateau_low"], c["plateau_high"]
    lrs = c["lrs"]
    near = [lr for lr in lrs if low * (1 - PLATEAU_TOL) <= c["loss_by_lr"][lr] <= high * (1 + PLATEAU_TOL)]
    every = settled_gate(result)  # the parts that read every lr
    ends = settled_gate(result, [i for i, cfg in enumerate(result.configs) if cfg.lr in (lo, hi)])
    parts = (
        Part(
            "higher lr gives more monosemantic neurons",
            "from about 0 to about 0.9 per feature over lr 0.001-0.03 (Fig. 1 left)",
            f"{c['mono_low_spread']} at lr {lo:g}, {c['mono_high_spread']} at lr {hi:g}; rank "
            f"correlation {rho_text(c['rho_mono'])} over {len(lrs)} lrs",
            f"rank correlation with lr over >= 3 lrs >= {RISES} (RISES)",
            c["rho_mono"] >= RISES,
            every,
            testable=len(lrs) >= 3,
        ),
        Part(
            "and slightly lower (or the same) loss",
            "indistinguishable (Sec. 4, Fig. 3); slightly lower at high lr (Fig. 1), within the 0.85-0.95 plateau",
            f"held-out {c['loss_low']:.3f} -> {c['loss_high']:.3f} ({lo_hi}: {-c['loss_fall']:+.1%})",
            f"at the highest lr not higher than at the lowest by more than {NOT_HIGHER:.0%} (NOT_HIGHER, twice the "
            f"settle tolerance) and not lower by more than {SLIGHTLY:.0%} (SLIGHTLY)",
            -NOT_HIGHER <= c["loss_fall"] <= SLIGHTLY,
            ends,
            testable=len(lrs) >= 2,
        ),
        Part(
            "the loss plateaus near 0.85-0.95 (N = 512)",
            "0.85-0.95 at N = 512",
            f"held-out {', '.join(format(c['loss_by_lr'][lr], '.3f') for lr in lrs)} "
            f"(scaled plateau at N = {result.n_features}: {low:.3f}-{high:.3f})",
            f"every lr's loss within the plateau x N / 512, +-{PLATEAU_TOL:.0%} (PLATEAU_TOL)",
            len(near) == len(lrs),
            every,
        ),
    )
    return Finding(
        "1. Zero bias: the lr picks the minimum; higher lr, more monosemantic, slightly lower loss",
        parts,
        "fig-lr-final",
        headline=(
            "about 0 -> 0.9 mono / feature, lr 0.001 -> 0.03",
            f"{c['mono_low']:.2f} -> {c['mono_high']:.2f}, lr {lo:g} -> {hi:g}",
        ),
    )


def claim2(result: SweepResult) -> Finding:
    c = bias_split(result)
    gate = settled_gate(result)  # every zero-bias LR1 model's neurons are pooled
    lo, hi = MODERATE_MIN * c["sqrt_eps"], MODERATE_MAX * c["sqrt_eps"]
    parts = (
        Part(
            "monosemantic neurons have negative biases",
            "negative (Fig. 5)",
            f"median {c['median_mono']:+.3f} over {c['n_mono']} neurons with r > {MONO_THRESHOLD}",
            f"median < -{CLEAR_BIAS} (CLEAR_BIAS)",
            c["median_mono"] < -CLEAR_BIAS,
            gate,
        ),
        Part(
            "moderate ones",
            "moderate: down to about -1 = 8 sqrt(eps) (Fig. 5), beyond the small ones of the transition region",
            f"median {c['median_mono']:+.3f} = {c['median_mono'] / c['sqrt_eps']:+.1f} sqrt(eps)",
            f"median between -{MODERATE_MAX:g} and -{MODERATE_MIN:g} sqrt(eps) ({-hi:.3f} to {-lo:.3f}; "
            "MODERATE_MAX, MODERATE_MIN)",
            -hi <= c["median_mono"] <= -lo,
            gate,
        ),
        Part(
            "polysemantic neurons have positive biases",
            "small positive (Fig. 5)",
            f"median {c['median_poly']:+.3f} over {c['n_poly']} neurons with 0 < r < {POLY_THRESHOLD}",
            f"median > +{CLEAR_BIAS} (CLEAR_BIAS)",
            c["median_poly"] > CLEAR_BIAS,
            gate,
        ),
    )
    return Finding(
        "2. Monosemantic neurons have moderate negative biases, polysemantic ones positive",
        parts,
        "fig-lr1-bias",
        headline=(
            "mono moderate negative (to about -1), poly positive",
            f"mono {c['median_mono']:+.2f}, poly {c['median_poly']:+.2f} (medians)",
        ),
    )


def findings(res: Basins) -> list[Finding]:
    """Claims 1 and 2 (Section 4.1) from the zero-bias uniform-frequency lr sweep."""
    return [claim1(res.lr1), claim2(res.lr1)]


def glue_values(res: Basins) -> dict[str, Any]:
    mono2 = median_by_lr(res.lr2, res.lr2.mono_per_feature())
    out = scale_numbers(res.profile, [res.lr1, res.lr2])
    over_lr = lr_dependence(res.lr1)
    out.update({f"over_lr_{k}": v for k, v in over_lr.items() if isinstance(v, (int, float, str))})
    out.update({f"bias_sign_{k}": v for k, v in bias_split(res.lr1).items()})
    out["lr2_mono_low"] = mono2[min(mono2)]
    out["lr2_mono_high"] = mono2[max(mono2)]
    out.update(seeds_text(res.lr1))
    out["n_models"] = res.lr1.sweep.n_inst
    out["n_settled_lr2"] = int(res.lr2.converged().sum())
    out["n_models_lr2"] = res.lr2.sweep.n_inst
    out.update(rule_values())
    out["not_higher_pct"] = 100 * NOT_HIGHER
    out["slightly_pct"] = 100 * SLIGHTLY
    return out


def continuations(res: Basins, cache: Cache | None = None) -> dict[str, SweepResult | None]:
    """The settled final models of LR1, LR2 and FLAT (`Basins.rule_sweeps`) trained on at their own lr
    (`settling.continuation`; None for a sweep none of whose models settled), read from the cache."""
    return continue_all(res.rule_sweeps(), reader(res.profile, cache, "basins"), progress=False)


def settling_rates(res: Basins, flat: dict[str, SweepResult | None]) -> settling.Rates:
    """Both error rates of the settledness rule over LR1, LR2 and FLAT: false alarms over their continuations
    `flat`, detection over their own snapshots."""
    named = res.rule_sweeps()
    return settling.rates([flat[name] for name in named], named.values())


def settling_table(res: Basins, flat: dict[str, SweepResult | None]) -> pd.DataFrame:
    return settling.table(res.rule_sweeps(), flat)


def settle_table(res: Basins) -> pd.DataFrame:
    """When each LR1 and LR2 model settled (`settling.settle_steps`), from its own snapshots: the run length it
    needed at this profile's shapes, or "not by 2^T" where it had not settled by the end of its run."""
    rows = []
    for name, result in (("LR1", res.lr1), ("LR2", res.lr2)):
        end = log2_steps(result.configs[0].n_steps)
        for c, step in zip(result.configs, settling.settle_steps(result), strict=True):
            rows.append((name, c.lr, c.seed, log2_steps(step) if step else f"not by {end}"))
    return pd.DataFrame(rows, columns=["sweep", "lr", "seed", "settled from step"])


def flat_seeds_text(res: Basins) -> str:
    """FLAT in words, for the page: what it is at this profile, or that it has none."""
    if res.flat is None:
        return f"(no more seeds are trained for this test at the {res.profile.name} profile: `FLAT` has none there)"
    c, seeds = res.flat.configs[0], res.flat.values("seed")
    return (
        f"and of FLAT, {len(seeds)} more seeds of LR1's model at lr {c.lr:g} (seeds {min(seeds)}-{max(seeds)}, "
        f"{log2_steps(c.n_steps)} steps), trained for this test"
    )


def _by_text(texts: dict[str, str]) -> str:
    """Sweeps' texts, one per distinct text, each with the sweeps it is for: "a (LR1, LR2); b (FLAT)"."""
    grouped: dict[str, list[str]] = {}
    for name, text in texts.items():
        grouped.setdefault(text, []).append(name)
    if len(grouped) == 1:
        return next(iter(grouped))
    return "; ".join(f"{text} ({', '.join(names)})" for text, names in grouped.items())


def continue_steps_text(res: Basins) -> str:
    """How long the continuations run (`settling.continue_steps`), per sweep where they differ."""
    return _by_text(
        {name: f"{settling.continue_steps(r.configs[0].n_steps):,} steps" for name, r in res.rule_sweeps().items()}
    )


def flat_pair_text(flat: dict[str, SweepResult | None]) -> str:
    """Which two snapshots of the continuations the rule compares (`settling.flat_pair`), and whether they are
    measured alike (as many periods averaged), in words, per sweep where they differ."""
    texts = {name: _pair_text(c) for name, c in flat.items() if c is not None}
    return _by_text(texts) if texts else "no model had settled, so none was continued"


def _pair_text(cont: SweepResult) -> str:
    first, last = settling.flat_pair(cont)
    a, b = (training.mono_periods(s, last) for s in (first, last))

    def counted(periods: int) -> str:
        return f"averaged over {periods} period{'s' if periods > 1 else ''}" if periods else "counted at its own step"

    pair = f"steps {log2_steps(first)} and {log2_steps(last)} of the continuation"
    if a == b:
        return f"{pair}, # mono / # features {counted(b)} at both: measured as the rule measures"
    return (
        f"{pair}, # mono / # features {counted(a)} and {counted(b)} (the continuation is too short for two "
        f"snapshots of {training.MONO_PERIODS} periods): noisier than the rule, so the rate is an upper bound"
    )


def _rate(n: int, of: int, what: str) -> str:
    return f"{n} of {of} ({n / of:.0%})" if of else f"none of none (no model {what})"


def settling_numbers(res: Basins, flat: dict[str, SweepResult | None]) -> dict[str, Any]:
    """The page's numbers on the settledness rule: its constants, the continuation, and both error rates."""
    rates = settling_rates(res, flat)
    table = settling_table(res, flat)
    continued = table.dropna(subset=["continued: loss change"])
    if len(continued):
        worst = continued.loc[continued["continued: loss change"].idxmin()]
        max_fall = f"{-worst['continued: loss change']:.2%} ({worst['sweep']} at lr {worst['lr']:g})"
    else:
        max_fall = "none (no model was continued)"
    settle = settle_table(res)["settled from step"]
    return {
        "n_settle_models": len(settle),
        "n_settle_never": int(settle.str.startswith("not").sum()),
        "continue_max_fall": max_fall,
        "continue_lr": settling.CONTINUE_LR,
        "continue_steps": continue_steps_text(res),
        "continue_min": settling.CONTINUE_MIN,
        "continue_part": settling.CONTINUE_PART,
        "continue_warmup": settling.CONTINUE_WARMUP,
        "flat_pair": flat_pair_text(flat),
        "flat_seeds": flat_seeds_text(res),
        "mono_periods": training.MONO_PERIODS,
        "mono_points": training.MONO_POINTS,
        "continue_models": sum(c.sweep.n_inst for c in flat.values() if c is not None),
        "continue_minutes": sum(c.seconds for c in flat.values() if c is not None) / 60,
        "false_alarm_bar_pct": 100 * settling.FALSE_ALARM_BAR,
        "still_learning_x": settling.STILL_LEARNING,
        "n_flat": rates.n_flat,
        "n_false": rates.n_false,
        "false_alarms": _rate(rates.n_false, rates.n_flat, "had settled at the end of its run"),
        "false_alarm_pct": 100 * rates.false_alarm_rate,
        "pair_false_alarms": _rate(rates.n_pairs_false, rates.n_pairs, "was continued long enough for two windows"),
        "n_pairs": rates.n_pairs,
        "n_learning": rates.n_learning,
        "n_caught": rates.n_caught,
        "caught": _rate(rates.n_caught, rates.n_learning, "was still learning at T/2"),
        "detection_pct": 100 * rates.detection_rate,
    }


def extension(res: Basins, cache: Cache | None = None) -> SweepResult | None:
    """LR1's unsettled models trained one doubling more (`train.extend`), read from the cache; None where the
    profile has no MORE or every model had settled."""
    return extend(res.profile, res.lr1, reader(res.profile, cache, "basins"), progress=False)


def more_table(res: Basins, more: SweepResult | None) -> pd.DataFrame:
    """Per LR1 model not settled at T: its lr and seed, the rule's changes from T to 2T (the run's last snapshot
    against its extension's) and whether it settled there, and over the extension's own last doubling
    (`settling.unsettled_more`)."""
    table = settling.unsettled_more(more, res.lr1)
    n_steps = res.lr1.configs[0].n_steps
    end, longer = log2_steps(n_steps), log2_steps(2 * n_steps)
    return pd.DataFrame(
        {
            "lr": table["lr"],
            "seed": [res.lr1.configs[i].seed for i in table["instance"]],
            f"{end} -> {longer}: loss change": table["loss change"],
            f"{end} -> {longer}: mono change": table["mono change"],
            f"settled at {longer}": table["settled"],
            "settled over the extension's last doubling": table["settled within"],
        }
    )


def more_numbers(res: Basins, more: SweepResult | None) -> dict[str, Any]:
    """The page's numbers on the extension: what it is at this profile and how many of its models settled."""
    table = settling.unsettled_more(more, res.lr1)
    n_steps = res.lr1.configs[0].n_steps
    if more is None:
        why = "every LR1 model had settled" if MORE[res.profile.name] else "`MORE` has none at this profile"
        what = f"no model is trained on at the {res.profile.name} profile ({why})"
    else:
        what = (
            f"the {len(table)} LR1 models not settled at step {log2_steps(n_steps)} trained on for "
            f"{n_steps:,} steps more ({more.seconds / 60:.1f} min of training)"
        )
    return {
        "more_what": what,
        "more_settled": _rate(int(table["settled"].sum()), len(table), "was trained on"),
        "more_within": _rate(int(table["settled within"].sum()), len(table), "was trained on"),
        "more_lrs": ", ".join(f"{lr:g}" for lr in table.loc[table["settled"], "lr"]) or "none",
    }


def first_seed(result: SweepResult) -> list[int]:
    """The instances of the first seed, one per learning rate, in lr order."""
    seed = min(result.values("seed"))
    return sorted((i for i, c in enumerate(result.configs) if c.seed == seed), key=lambda i: result.configs[i].lr)


def most_monosemantic(result: SweepResult) -> int:
    """The first seed's instance at the highest learning rate."""
    return first_seed(result)[-1]


# Fig. 4's three learning rates: low, middle and high.
HEATMAP_LRS = (0.001, 0.005, 0.03)


def heatmap_indices(res: Basins) -> list[int]:
    """Seed 0's LR1 models at Fig. 4's learning rates, or, where the profile lacks one of them, at its lowest,
    focus and highest learning rate."""
    lrs = (
        HEATMAP_LRS
        if set(HEATMAP_LRS) <= set(res.profile.lrs)
        else (min(res.profile.lrs), res.profile.lr_focus, max(res.profile.lrs))
    )
    return [res.lr1.index(lr=lr, seed=0) for lr in lrs]
