"""Chapter 4, the number of neurons (paper Section 4.1.4). Claim 7.

Table 1's K0 (zero initial bias), K1 (initial bias -1, bias decay 0.03) and K2 (K1 with power-law frequencies), all
at lr 0.007, with k swept over powers of two at the batch of Table 1's rule, 2^23 / k, scaled to the profile (batch
x k fixed at the profile's default). k fixes tensor shapes, so every k is its own sweep; a model whose
configuration is an instance of a chapter-2 sweep (at the profile's default k: LR1, LR3 and LR4 at lr 0.007, seed
0) is taken from there. Then the paper's negative result, re-run: models whose two layers are sparse with a fixed
random (Erdos-Renyi) connectivity, as wide as 2 or 4 dense models of the same compute, against the dense one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.width.train import GRIDS, K_LR, MASKED_ROW, ROWS, _donors, plan, sweeps
from monosem.claims import Finding, Gate, Part, settled_gate
from monosem.config import Sweep
from monosem.paper import DECAY_DONE, bias_left, decay_steps, log2_steps
from monosem.profiles import PROFILES, Profile
from monosem.prose import scale_numbers
from monosem.results import LEARNED, SETTLE_LOSS, SETTLE_MONO, Instance, SweepResult

__all__ = [
    "ROW_LABELS",
    "Width",
    "load",
    "NOISE",
    "PEAK_NEAR",
    "PEAK_MARGIN",
    "LITTLE",
    "SIGNIFICANT",
    "DECAYED",
    "seeds_of",
    "seed_spread",
    "models_gate",
    "rises",
    "peak_k",
    "peak_range",
    "peaks",
    "loss_gap",
    "masked_gap",
    "loss_noise",
    "fraction_noise",
    "claim7",
    "TABLE_FORMATS",
    "show_table",
    "table",
    "findings",
    "glue_values",
]

ROW_LABELS = {"K0": "K0 (zero bias)", "K1": "K1 (bias -1, decay)", "K2": "K2 (bias -1, decay, power law)"}


@dataclass(frozen=True)
class Width:
    profile: Profile
    rows: dict[str, dict[int, Instance]]  # K0, K1, K2 -> k -> model
    # the sparse-weight models ("masked": each layer keeps a fixed random 1 / factor of its weights; "sparse" is the
    # word for low feature density elsewhere in the book): width factor (= 1 / weight density) -> model
    masked: dict[int, Instance]
    trained: list[SweepResult]  # every result this chapter trains itself (not the reused ones)

    @property
    def n_features(self) -> int:
        return self.profile.n_features

    @property
    def masked_base(self) -> Instance:
        """The dense model the sparse ones are compared with (K1 at the grid's `masked_base`)."""
        return self.rows[MASKED_ROW][GRIDS.of(self.profile).masked_base]

    def labelled(self) -> dict[str, dict[int, tuple[SweepResult, int]]]:
        """The K rows for figures: label -> k -> (result, instance)."""
        return {ROW_LABELS[row]: dict(models) for row, models in self.rows.items()}

    def masked_labelled(self) -> dict[str, dict[int, tuple[SweepResult, int]]]:
        """The dense K1 models and each sparse model, for a figure: label -> k -> (result, instance)."""
        masked = {f"{MASKED_ROW}, sparse, density 1/{f}": {m.config.d_hidden: m} for f, m in self.masked.items()}
        return {f"{MASKED_ROW}, dense": dict(self.rows[MASKED_ROW]), **masked}


def load(profile: Profile, cache: Cache | None = None) -> Width:
    """The chapter's trained results, read from the cache (NotTrained names the command that trains them)."""
    cache = reader(profile, cache, "width")
    rows, masked = plan(profile)
    donors = {s.name for s in _donors(profile)}
    # every sweep at the most seeds cached (`train --seeds S`): where a width has several seeds, claim 7's tests
    # read their spread (`seed_spread`); the model of each width is the one at the profile's seed
    results = {s.name: cache.get_or_train(cache.seeded(s)) for s in sweeps(profile)}

    def trained(source: tuple[Sweep, int]) -> Instance:
        sweep, i = source
        result = results[sweep.name]
        return Instance(result, result.configs.index(sweep.configs[i]))

    return Width(
        profile,
        {row: {k: trained(src) for k, src in models.items()} for row, models in rows.items()},
        {factor: trained(src) for factor, src in masked.items()},
        [r for name, r in results.items() if name not in donors],
    )


# Claim 7. Single models, one seed each at most widths: a difference in # mono / # features smaller than this is noise
# (the range over three seeds of LR3 at lr 0.007, which is K1 at k = 2N, is 0.13 per feature at `cpu`).
NOISE = 0.1


# "Peaks near k = N": the grid steps by factors of 2, so near N is N or a neighbouring grid point.
PEAK_NEAR = 2


# "Peaks": the fraction of monosemantic neurons at its largest k near N exceeds its value at both ends of the grid by
# more than this, so that it rises and then falls (a monotone decline, or a plateau, does not peak). A tenth of the
# neurons: above the range over three seeds of K1 at k = 2N at `cpu` (0.13 per feature, 0.065 of the neurons), and
# the part is tested only where the seed spread this module measures (`seed_spread`) is below it.
PEAK_MARGIN = 0.1


# "Loses a little": worse by at most this fraction of the loss. The paper's Fig. 15 (middle) shows loss
# differences within 0.1 at losses of order 1.
LITTLE = 0.1


# "Significantly greater loss": above the range of the final loss over three seeds of the same model (LR3 at lr
# 0.007, K1 at k = 2N: 3.3 % at `cpu`).
SIGNIFICANT = 0.05


# The families whose recipe is the bias decay: their parts rest on it (`monosem.paper.DECAY_DONE`).
DECAYED = tuple(row for row, fields in ROWS.items() if fields.get("bias_decay", 0.0) > 0)


def seeds_of(model: Instance) -> list[Instance]:
    """`model` and every other instance of its result that is the same model at another seed."""
    cfg = model.config
    return [Instance(model.result, i) for i, c in enumerate(model.result.configs) if c.replace(seed=cfg.seed) == cfg]


def seed_spread(models: dict[int, Instance]) -> dict[str, Any]:
    """The spread over seeds of a family, at the widths where it has several (chapter 2's sweeps at k = 2N, or any
    width trained with `--seeds S`): the largest relative range of the final loss, (max - min) / median, and of the
    fraction of monosemantic neurons, max - min, over those widths; n_seeds: the most seeds at any width (1: the
    spread is unknown, both NaN); models: every seed read."""
    out: dict[str, Any] = {"n_seeds": 1, "loss": float("nan"), "fraction": float("nan"), "models": []}
    for m in models.values():
        seeds = seeds_of(m)
        if len(seeds) < 2:
            continue
        loss = torch.tensor([s.loss for s in seeds])
        fraction = torch.tensor([s.fraction for s in seeds])
        rel = float((loss.max() - loss.min()) / loss.median())
        out["n_seeds"] = max(out["n_seeds"], len(seeds))
        out["loss"] = rel if math.isnan(out["loss"]) else max(out["loss"], rel)
        wide = float(fraction.max() - fraction.min())
        out["fraction"] = wide if math.isnan(out["fraction"]) else max(out["fraction"], wide)
        out["models"] += seeds
    return out


def models_gate(models: Iterable[tuple[Instance, bool]]) -> Gate:
    """The gate of the models a part reads, each with whether it rests on the bias decay (each model once)."""
    gate, seen = Gate(), set()
    for m, decay in models:
        if (id(m.result), m.index) not in seen:
            seen.add((id(m.result), m.index))
            gate = gate & settled_gate(m.result, [m.index], decay=decay)
    return gate


def _read(res: Width, rows: Iterable[str], ks: Iterable[int] | None = None, seeds: bool = False) -> Gate:
    """The gate of the models of `rows` (at the widths `ks`, every width if None), with their seeds if `seeds`."""
    wanted = None if ks is None else set(ks)
    pairs = []
    for row in rows:
        models = res.rows[row]
        pairs += [(m, row in DECAYED) for k, m in models.items() if wanted is None or k in wanted]
        if seeds:
            pairs += [(m, row in DECAYED) for m in seed_spread(models)["models"]]
    return models_gate(pairs)


def _listing(models: dict[int, Instance], value: str, fmt: str = ".2f") -> str:
    return ", ".join(
        f"{format(getattr(m, value), fmt)} (k {k}{'' if m.converged else ', not settled'})"
        for k, m in sorted(models.items())
    )


def rises(models: dict[int, Instance]) -> bool | None:
    """# mono / # features rises with k: no step to the next larger k loses more than NOISE, and the widest has more
    than the narrowest by more than NOISE. None with fewer than 2 widths."""
    ks = sorted(models)
    if len(ks) < 2:
        return None
    mono = [models[k].mono for k in ks]
    steps_ok = all(b >= a - NOISE for a, b in zip(mono, mono[1:], strict=False))
    return steps_ok and mono[-1] > mono[0] + NOISE


def peak_k(models: dict[int, Instance]) -> int | None:
    """The k at which the fraction of monosemantic neurons is largest (None without models)."""
    return max(sorted(models), key=lambda k: models[k].fraction) if models else None


def _ratio(k: int, n: int) -> str:
    """k in units of N: N/2, N, 4N."""
    return "N" if k == n else (f"{k // n}N" if k > n else f"N/{n // k}")


def peak_range(ks: Iterable[int], n: int) -> str:
    """Why a grid of widths cannot show a peak near N ("" when it can): a peak within PEAK_NEAR of N is seen to rise
    and fall only with a width below N / PEAK_NEAR and one above N x PEAK_NEAR."""
    ks = sorted(ks)
    if ks[0] * PEAK_NEAR >= n:
        return f"the grid starts at {_ratio(ks[0], n)}: it cannot show a rise"
    if ks[-1] <= n * PEAK_NEAR:
        return f"the grid ends at {_ratio(ks[-1], n)}: it cannot show a fall"
    return ""


def peaks(models: dict[int, Instance], n: int) -> bool:
    """The fraction of monosemantic neurons rises and then falls, with its peak near N: the largest fraction is at a
    k within a factor PEAK_NEAR of N and exceeds the fraction at both ends of the grid by more than PEAK_MARGIN."""
    ks = sorted(models)
    peak = peak_k(models)
    top = models[peak].fraction
    near = n / PEAK_NEAR <= peak <= n * PEAK_NEAR
    return near and top - models[ks[0]].fraction > PEAK_MARGIN and top - models[ks[-1]].fraction > PEAK_MARGIN


def loss_gap(res: Width) -> dict[int, float]:
    """(K1 loss - K0 loss) / K0 loss per k: > 0 where the negative bias loses."""
    k0, k1 = res.rows["K0"], res.rows["K1"]
    return {k: (k1[k].loss - k0[k].loss) / k0[k].loss for k in sorted(k0) if k in k1}


def masked_gap(res: Width) -> dict[int, dict[str, float]]:
    """Each sparse model, by width factor, against the dense model of the same compute: the relative loss gap (> 0:
    the sparse one is worse), both models' final values, and whether both have settled."""
    dense = res.masked_base
    out = {}
    for factor, m in sorted(res.masked.items()):
        out[factor] = {
            "k": m.config.d_hidden,
            "density": m.config.weight_density,
            "loss_gap": (m.loss - dense.loss) / dense.loss,
            "loss": m.loss,
            "mono": m.mono,
            "fraction": m.fraction,
            "dense_loss": dense.loss,
            "dense_mono": dense.mono,
            "both_settled": m.converged and dense.converged,
        }
    return out


def loss_noise(res: Width) -> tuple[float, str]:
    """The noise of a loss difference between K1 and K0 at one width: the larger relative range of the final loss
    over the seeds of either family (NaN when either has one seed), and why it is unknown ("" when it is known)."""
    spreads = {row: seed_spread(res.rows[row]) for row in ("K0", "K1")}
    single = [row for row, s in spreads.items() if s["n_seeds"] < 2]
    if single:
        return float("nan"), f"one seed of {' and '.join(single)} at every width: the seed spread is unknown"
    return max(s["loss"] for s in spreads.values()), ""


def fraction_noise(res: Width) -> tuple[float, str]:
    """The noise of the fraction of monosemantic neurons in K1 and K2: the largest range over the seeds of either
    (K1's alone where K2 has one seed; NaN when K1 has one), and why it is unknown or too large ("" when usable)."""
    spreads = [seed_spread(res.rows[row]) for row in DECAYED]
    measured = [s["fraction"] for s in spreads if s["n_seeds"] >= 2]
    if seed_spread(res.rows["K1"])["n_seeds"] < 2:
        return float("nan"), "one seed of K1 at every width: the seed spread is unknown"
    noise = max(measured)
    if noise >= PEAK_MARGIN:
        return noise, f"the fraction spreads by {noise:.2f} over seeds, not less than PEAK_MARGIN = {PEAK_MARGIN}"
    return noise, ""


def claim7(res: Width) -> Finding:
    n = res.n_features
    neg = DECAYED
    tops = {row: peak_k(models) for row, models in res.rows.items()}

    def peak_text(row: str) -> str:
        models = res.rows[row]
        k = tops[row]
        ends = sorted(models)
        return (
            f"{row}: {models[k].fraction:.0%} at k {k} (ends: {models[ends[0]].fraction:.0%} at k {ends[0]}, "
            f"{models[ends[-1]].fraction:.0%} at k {ends[-1]})"
        )

    gaps = loss_gap(res)
    below = {k: g for k, g in gaps.items() if n // 2 <= k <= n}
    above = {k: g for k, g in gaps.items() if k > n}
    noise, unknown = loss_noise(res)
    if not unknown and noise >= LITTLE:
        unknown = f"the loss spreads by {noise:.1%} over seeds, not less than LITTLE = {LITTLE:.0%}"
    spread_text = f"; seed spread of the loss {noise:.1%}" if not math.isnan(noise) else ""
    frac_noise, frac_unknown = fraction_noise(res)
    grid_unknown = "; ".join(sorted({peak_range(res.rows[row], n) for row in neg} - {""}))
    masked = masked_gap(res)
    rise = {row: rises(models) for row, models in res.rows.items()}

    def all_of(rows: Iterable[str]) -> bool | None:
        decided = [rise[row] for row in rows if rise[row] is not None]
        return all(decided) if decided else None

    def gap_text(values: dict[int, float]) -> str:
        return ", ".join(f"{g:+.1%} (k {k})" for k, g in values.items()) or "no width in the grid"

    peak_why = grid_unknown or frac_unknown
    peak_holds = all(peaks(res.rows[row], n) for row in neg) if not grid_unknown else False
    below_why = unknown or ("" if below else "no width in [N/2, N]")
    below_holds = bool(below) and all(noise < g <= LITTLE for g in below.values())
    above_why = unknown or ("" if above else "no width above N")
    above_holds = bool(above) and all(g < -noise for g in above.values())
    parts = (
        Part(
            "more neurons give more monosemantic neurons, with zero bias",
            "# mono / # features rises with k in K0 (Fig. 15, 17)",
            f"K0: {_listing(res.rows['K0'], 'mono')}",
            f"no step to a wider k loses more than {NOISE} and the widest gains more than {NOISE} (NOISE)",
            all_of(["K0"]),
            _read(res, ["K0"]),
        ),
        Part(
            "and with the negative bias",
            "# mono / # features rises with k in K1 and K2 (Fig. 15-17)",
            "; ".join(f"{row}: {_listing(res.rows[row], 'mono')}" for row in neg),
            "as for K0 (NOISE), in K1 and in K2",
            all_of(neg),
            _read(res, neg),
        ),
        Part(
            "the fraction of monosemantic neurons peaks near k = N",
            "peaks at k = N = 512 (Fig. 17, upper)",
            "; ".join(peak_text(row) for row in neg) + f" (N = {n})",
            f"in K1 and K2 the largest fraction is at a k within a factor {PEAK_NEAR} of N (PEAK_NEAR) and exceeds "
            f"both ends of the grid by more than {PEAK_MARGIN} (PEAK_MARGIN, above the seed spread)",
            peak_holds,
            _read(res, neg, seeds=True),
            untestable=peak_why,
        ),
        Part(
            "the negative bias loses a little at k = N/2..N",
            "slightly worse loss at 256-512 neurons (Fig. 15, middle)",
            f"K1 vs K0 loss: {gap_text(below)}{spread_text}",
            f"seed spread < (K1 - K0) / K0 <= {LITTLE:.0%} (LITTLE) at every k in [N/2, N]",
            below_holds,
            _read(res, ["K0", "K1"], below, seeds=True),
            untestable=below_why,
        ),
        Part(
            "and wins beyond k = N",
            "better loss above 512 neurons (Fig. 15, middle)",
            f"K1 vs K0 loss: {gap_text(above)}{spread_text}",
            "(K1 - K0) / K0 < -seed spread at every k > N",
            above_holds,
            _read(res, ["K0", "K1"], above, seeds=True),
            untestable=above_why,
        ),
        Part(
            "sparse (Erdos-Renyi) layers at fixed compute are worse than dense ones",
            "significantly greater loss even at modest sparsity (Section 4.1.4, no numbers given)",
            "; ".join(
                f"k {s['k']} at density {s['density']:g}: loss {s['loss']:.3f} vs {s['dense_loss']:.3f} dense "
                f"({s['loss_gap']:+.1%}{'' if s['both_settled'] else ', not settled'})"
                for s in masked.values()
            ),
            f"loss above the dense model's by more than {SIGNIFICANT:.0%} (SIGNIFICANT) at every density",
            all(s["loss_gap"] > SIGNIFICANT for s in masked.values()),
            models_gate([(res.masked_base, True), *((m, True) for m in res.masked.values())]),
            testable=bool(masked),
        ),
    )
    k1_peak = tops["K1"]
    return Finding(
        "7. More neurons, more monosemantic neurons; the fraction peaks near k = N; sparse layers do not pay",
        parts,
        "fig-width-final",
        headline=(
            "the fraction peaks at k = N (Fig. 17)",
            f"K1: largest fraction {res.rows['K1'][k1_peak].fraction:.0%}, at k = {_ratio(k1_peak, n)}",
        ),
    )


# How the table shows each column.
TABLE_FORMATS = {
    "batch": "{:,}",
    "weight density": "{:g}",
    "# mono / # features": "{:.3f}",
    "fraction monosemantic": "{:.1%}",
    "fraction silent": "{:.1%}",
    "final loss": "{:.4f}",
}


def show_table(res: Width):
    """`table(res)` for a chapter page: formatted, no index column."""
    return table(res).style.hide(axis="index").format(TABLE_FORMATS)


def table(res: Width) -> pd.DataFrame:
    """Every model of the chapter, one row each: family, k, batch, weight density and the final values."""
    models = [(row, m) for row, ms in res.rows.items() for m in ms.values()]
    models += [(f"{MASKED_ROW}, sparse", m) for m in res.masked.values()]
    return pd.DataFrame(
        [
            (row, m.config.d_hidden, m.config.batch_size, m.config.weight_density, m.mono, m.fraction, m.silent,
             m.loss, "yes" if m.converged else "no")
            for row, m in models
        ],
        columns=["model", "k", "batch", "weight density", "# mono / # features", "fraction monosemantic",
                 "fraction silent", "final loss", "settled"],
    )  # fmt: skip


def findings(res: Width) -> list[Finding]:
    """Claim 7 (Section 4.1.4)."""
    return [claim7(res)]


def glue_values(res: Width) -> dict[str, Any]:
    g = GRIDS.of(res.profile)
    n = res.n_features
    out = scale_numbers(res.profile, res.trained)
    out["k_lr"] = K_LR
    out["k1_init_bias"], out["k1_decay"] = ROWS["K1"]["init_bias"], ROWS["K1"]["bias_decay"]
    out["ks"] = ", ".join(str(k) for k in g.ks)
    out["k_min"], out["k_max"] = min(g.ks), max(g.ks)
    out["k_min_over_n"], out["k_max_over_n"] = min(g.ks) / n, max(g.ks) / n
    out["batch_total"] = res.profile.batch_size * res.profile.d_hidden
    out["batch_k_min"] = res.profile.batch_for(min(g.ks))
    out["batch_k_max"] = res.profile.batch_for(max(g.ks))
    for row, models in res.rows.items():
        widest, narrowest = models[max(models)], models[min(models)]
        out[f"{row}_mono_max_k"] = widest.mono
        out[f"{row}_mono_min_k"] = narrowest.mono
        peak = peak_k(models)
        out[f"{row}_peak_k"] = peak
        out[f"{row}_peak_fraction"] = models[peak].fraction
        out[f"{row}_n_settled"] = sum(m.converged for m in models.values())
        out[f"{row}_at_n_mono"] = models[n].mono if n in models else float("nan")
        out[f"{row}_at_n_fraction"] = models[n].fraction if n in models else float("nan")
        out[f"{row}_silent"] = ", ".join(f"{m.silent:.0%} (k {k})" for k, m in sorted(models.items()))
    out["n_ks"] = len(g.ks)
    k0, k1 = res.rows["K0"], res.rows["K1"]
    out["loss_gaps"] = ", ".join(
        f"{gap:+.1%} at k = {k}" + ("" if k0[k].converged and k1[k].converged else " (not settled)")
        for k, gap in loss_gap(res).items()
    )
    decay, lr = ROWS["K1"]["bias_decay"], K_LR
    out["decay_shrink"] = 1 - bias_left(decay, lr, res.profile.n_steps)
    out["decay_shrink_paper"] = 1 - bias_left(decay, lr, PROFILES["paper"].n_steps)
    # the rule of the verdicts: settled models (chapter 1), the bias decay done, the seed spread known
    out["settle_loss"], out["settle_mono"], out["learned"] = SETTLE_LOSS, SETTLE_MONO, LEARNED
    out["decay_done"] = DECAY_DONE
    out["decay_need"] = log2_steps(decay_steps(decay, lr))
    out["bias_left"] = bias_left(decay, lr, res.profile.n_steps)
    out["decay_ok"] = "has" if res.profile.n_steps >= decay_steps(decay, lr) else "has not"
    out["peak_near"], out["peak_margin"], out["little"] = PEAK_NEAR, PEAK_MARGIN, LITTLE
    out["peak_range"] = peak_range(g.ks, n) or "it can show a rise and a fall around N"
    for row in res.rows:
        spread = seed_spread(res.rows[row])
        out[f"{row}_n_seeds"] = spread["n_seeds"]
    noise, _ = loss_noise(res)
    out["loss_noise_text"] = (
        f"{noise:.1%}" if not math.isnan(noise) else "unknown (one seed of K0 or K1 at every width)"
    )
    frac, _ = fraction_noise(res)
    out["fraction_noise_text"] = f"{frac:.2f}" if not math.isnan(frac) else "unknown: one seed of K1 at every width"
    dense = res.masked_base
    out["masked_base"] = g.masked_base
    out["masked_batch"] = res.profile.batch_for(g.masked_base)
    out["dense_loss"], out["dense_mono"] = dense.loss, dense.mono
    out["dense_state"] = "settled" if dense.converged else "not settled"
    for factor, s in masked_gap(res).items():
        for key in ("k", "density", "loss_gap", "loss", "mono", "fraction"):
            out[f"masked{factor}_{key}"] = s[key]
    out["masked_factors"] = ", ".join(str(f) for f in g.masked_factors)
    out["dense_fraction"] = dense.fraction
    out["masked_list"] = "; ".join(
        f"k = {s['k']} at weight density 1/{factor}: loss {s['loss']:.3f} ({s['loss_gap']:+.1%}), "
        f"{s['mono']:.2f} monosemantic neurons per feature ({s['fraction']:.0%} of its neurons), "
        f"{'settled' if res.masked[factor].converged else 'not settled'}"
        for factor, s in masked_gap(res).items()
    )
    return out
