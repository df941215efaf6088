"""Beyond the paper: recovering the features of a polysemantic toy model with sparse autoencoders
(dictionary learning, Bricken et al. 2023, *Towards Monosemanticity*).

Chapter 1's zero-bias model at the lowest learning rate (LR1, polysemantic) is decomposed after training by
sparse autoencoders (`monosem.sae`) trained on its hidden activations, one batched autoencoder per dictionary
size with the L1 coefficient as its instance axis. Because the true features are known, each unit (an
autoencoder's latent, or a neuron) is scored against them. Chapter 2's negative-bias model (LR3 at the focus
learning rate) is the other route: monosemanticity engineered during training. Both toy sweeps come from the
cache of chapters 1 and 2.

Two autoencoders are singled out of each grid: the best by the ground truth (`SparseAutoencoders.best`, the highest
MMCS with the true features) and the one a practitioner would choose without it (`SparseAutoencoders.blind`, by
`sparsest_within`: the sparsest whose toy loss through the reconstruction is near the best). The claims are tested
on the second, as Bricken et al. had to choose; the first shows what the grid holds at best.

A latent is *dead* when it fires (code > 0) on none of the `Grid.eval_inputs` held-out inputs, fresh samples of the
toy model's own input distribution (`monosem.sae.evaluate`); during training, when it has not fired on any input of
the last `dead_window` batches (what resampling acts on). A latent may be alive by this rule and still silent on
every single-feature input F_j (`silent_single`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from monosem.cache import Cache
from monosem.chapters import reader
from monosem.chapters.sparse_autoencoders.train import GRIDS, Grid, poly_index, sae_configs, sweeps, train_saes
from monosem.claims import Finding, Part, rule_values, spearman
from monosem.metrics import (
    MONO_THRESHOLD,
    is_monosemantic,
    mono_per_feature,
    monosemanticity,
    single_feature_activations,
)
from monosem.profiles import Profile
from monosem.results import SweepResult
from monosem.sae import (
    EVAL,
    RECOVERED,
    Activations,
    SparseAutoencoder,
    evaluate,
    feature_directions,
    features_covered,
    latent_activations,
    max_cosine,
    mean_pairwise_cosine,
    sae_generator,
)

__all__ = [
    "engineered_index",
    "Units",
    "SparseAutoencoders",
    "neuron_units",
    "resampling_record",
    "load",
    "settling",
    "POLYSEMANTIC",
    "MOST",
    "SPLICE_MARGIN",
    "RANK",
    "REVIVED",
    "BLIND_MARGIN",
    "sparsest_within",
    "BLIND_TEST",
    "claim_recovery",
    "l1_trends",
    "claim_tradeoff",
    "resampling_totals",
    "claim_resampling",
    "findings",
    "routes",
    "glue_values",
    "baseline_share",
    "SWEEP_COLUMNS",
    "sweep_table",
    "RECOVERED",
]


def engineered_index(result: SweepResult, profile: Profile) -> int:
    """The engineered model: LR3's first seed at the focus learning rate."""
    return result.index(lr=profile.lr_focus, seed=0)


@dataclass(frozen=True)
class Units:
    """One set of units scored against the true features: a model's neurons, or an autoencoder's latents.

    cosines (N,): each feature's largest cosine with a unit's direction; acts (m, N): the units' responses to
    single-feature inputs; r (m,): the paper's monosemanticity of each unit; loss: the toy task's loss on the
    held-out inputs (through the reconstruction, for an autoencoder)."""

    label: str
    cosines: Tensor
    acts: Tensor
    r: Tensor
    loss: float

    @property
    def n_features(self) -> int:
        return self.cosines.shape[0]

    def summary(self) -> dict[str, float]:
        mono = is_monosemantic(self.r)
        return {
            "mmcs": float(self.cosines.mean()),
            "recovered": float((self.cosines > RECOVERED).float().mean()),
            "mono_per_feature": float(mono_per_feature(self.r, self.n_features)),
            "covered": float(features_covered(self.acts[None], mono[None])[0]),
            "loss": self.loss,
        }


@dataclass(frozen=True)
class SparseAutoencoders:
    """profile, grid; poly, engineered: the LR1 and LR3 sweeps, and the instances used; saes: the cached arrays of
    each batched autoencoder (`monosem.sae.train_sae`) by dictionary size; table: one row per autoencoder (its
    size, L1 coefficient and every measurement); units: the neurons of both toy models and the latents of every
    autoencoder, by label."""

    profile: Profile
    grid: Grid
    poly: SweepResult
    poly_index: int
    engineered: SweepResult
    engineered_index: int
    saes: dict[int, dict[str, Tensor]]
    table: pd.DataFrame
    neurons: dict[str, Units]
    latents: dict[tuple[int, float], Units]

    @property
    def best(self) -> pd.Series:
        """The autoencoder whose dictionary matches the true features best (highest MMCS)."""
        return self.table.loc[self.table["mmcs"].idxmax()]

    @property
    def best_units(self) -> Units:
        return self.latents[(int(self.best["d_dict"]), float(self.best["l1"]))]

    @property
    def blind(self) -> pd.Series:
        """The autoencoder chosen without the ground truth (`sparsest_within`)."""
        return sparsest_within(self.table)

    @property
    def blind_units(self) -> Units:
        return self.latents[(int(self.blind["d_dict"]), float(self.blind["l1"]))]

    @property
    def most_mono_units(self) -> Units:
        return self.latents[(int(self.most_mono["d_dict"]), float(self.most_mono["l1"]))]

    @property
    def true_l0(self) -> float:
        """The mean number of features present in an input, N eps."""
        return self.poly.n_features * self.poly.configs[self.poly_index].eps

    def references(self) -> dict[str, dict[str, float]]:
        """The measurements of both models' neurons, labelled, for figures."""
        return {u.label: u.summary() for u in self.neurons.values()}

    @property
    def most_mono(self) -> pd.Series:
        """The autoencoder with the most monosemantic latents by the paper's metric (highest MMCS on a tie)."""
        top = self.table[self.table["mono_per_feature"] == self.table["mono_per_feature"].max()]
        return top.loc[top["mmcs"].idxmax()]


@torch.no_grad()
def neuron_units(label: str, result: SweepResult, index: int, g: Grid) -> Units:
    act = Activations.of(result, index, sae_generator(g.seed, EVAL))
    h, target = act.sample(g.eval_inputs)
    loss = float((torch.bmm(h, act.model.W_out) - target).pow(2).sum(-1).mean())
    proj = result["proj"][index : index + 1].float()
    acts = result.activations()[index]
    return Units(label, max_cosine(feature_directions(act.model, proj))[0], acts, monosemanticity(acts), loss)


def resampling_record(arrays: dict[str, Tensor], dead_at_end: Tensor) -> dict[str, Tensor]:
    """Per instance: latents resampled (counting repeats), how many of those fired again within the window after
    their resampling, distinct latents ever resampled, and how many of those fire on the held-out inputs at the
    end."""
    ever = arrays["resampled"]
    return {
        "n_resampled": arrays["n_resampled"].sum(-1),
        "n_fired_again": arrays["n_fired_again"].sum(-1),
        "n_ever_resampled": ever.sum(-1),
        "n_revived": (ever & ~dead_at_end).sum(-1),
    }


def load(profile: Profile, cache: Cache | None = None) -> SparseAutoencoders:
    """The chapter's trained results, read from the cache (NotTrained names the command that trains them)."""
    cache = reader(profile, cache, "sparse_autoencoders")
    lr1, lr3 = (cache.get_or_train(s) for s in sweeps(profile))
    g = GRIDS.of(profile)
    i_poly, i_eng = poly_index(lr1, profile), engineered_index(lr3, profile)
    configs = sae_configs(profile, lr1)
    saes = train_saes(cache, lr1, i_poly, configs, progress=False)

    neurons = {
        "poly": neuron_units("LR1 neurons (zero bias)", lr1, i_poly, g),
        "engineered": neuron_units("LR3 neurons (negative bias)", lr3, i_eng, g),
    }
    act = Activations.of(lr1, i_poly, sae_generator(g.seed, EVAL))
    h, target = act.sample(g.eval_inputs)
    proj = lr1["proj"][i_poly : i_poly + 1].float()
    directions = feature_directions(act.model, proj)
    raw = single_feature_activations(act.model, proj).transpose(1, 2)  # h(F_j) itself, h(0) left in
    rows, latents = [], {}
    for cfg in configs:
        arrays = saes[cfg.d_dict]
        sae = SparseAutoencoder.from_arrays(arrays)
        ev = evaluate(sae, h, target, act.model.W_out)
        cos, cos_raw = max_cosine(directions, sae.W_dec), max_cosine(raw, sae.W_dec)
        acts = latent_activations(sae, act.model, proj)
        dead_at_end = ~(sae.encode(h) > 0).any(1)
        record = resampling_record(arrays, dead_at_end)
        settle = settling(arrays)
        for j, l1 in enumerate(cfg.l1s):
            units = Units(
                f"SAE, m = {cfg.d_dict}, λ = {l1:g}",
                cos[j],
                acts[j],
                monosemanticity(acts[j]),
                float(ev["spliced_loss"][j]),
            )
            latents[(cfg.d_dict, float(l1))] = units
            rows.append(
                {
                    "d_dict": cfg.d_dict,
                    "ratio": cfg.d_dict / lr1.n_features,
                    "l1": l1,
                    **units.summary(),
                    "mmcs_raw": float(cos_raw[j].mean()),
                    "fvu": float(ev["fvu"][j]),
                    "l0": float(ev["l0"][j]),
                    "dead": int(ev["dead"][j]),
                    "dead_frac": float(ev["dead"][j]) / cfg.d_dict,
                    "silent_single": int((acts[j] <= 0).all(-1).sum()),
                    **{k: int(v[j]) for k, v in record.items()},
                    "settle": float(settle[j]),
                    "seconds": float(arrays["seconds"]),
                }
            )
    return SparseAutoencoders(profile, g, lr1, i_poly, lr3, i_eng, saes, pd.DataFrame(rows), neurons, latents)


def settling(arrays: dict[str, Tensor]) -> Tensor:
    """Relative fall of an autoencoder's loss (reconstruction + l1 * |f|_1) from the third to the last quarter of
    training (both after the last resampling), per instance (n,): near 0 once it has settled."""
    total = arrays["recon"] + arrays["l1s"][:, None] * arrays["penalty"]
    quarter = max(1, total.shape[1] // 4)
    third, last = total[:, -2 * quarter : -quarter].mean(-1), total[:, -quarter:].mean(-1)
    return (third - last) / last


# The toy layer counts as polysemantic below this many monosemantic neurons per feature (Jermyn et al., Fig. 1:
# about 0 at the lowest learning rate with zero initial bias).
POLYSEMANTIC = 0.1


# "Most features recovered": more than this fraction of them have a dictionary vector at cosine > RECOVERED.
MOST = 0.5


# The reconstruction keeps the model's behaviour when the toy task's loss computed through it exceeds the model's
# own by at most this fraction (a tenth: small next to the gap between the two toy models' losses).
SPLICE_MARGIN = 0.1


# "Falls (rises) with the L1 coefficient": rank correlation at most -RANK (at least RANK) at every dictionary
# size; with four or five coefficients one swapped neighbour pair still passes (as `monosem.paper.RISES`).
RANK = 0.8


# Resampled latents count as revived (as kept) when at least this fraction of them fire again within the window
# after their resampling (still fire on the held-out inputs at the end): most of them.
REVIVED = 0.5


# Choosing an autoencoder without the ground truth, as Bricken et al. had to (no known features: no MMCS, no r): of
# the autoencoders whose toy loss through the reconstruction is within this fraction of the lowest such loss in the
# grid, the sparsest (`sparsest_within`). Sparse codes are the point of dictionary learning, so among dictionaries
# that cost the model about the same loss the sparsest is preferred; a twentieth is half of SPLICE_MARGIN, so the
# choice gives up at most half the loss that the "keeps the model's behaviour" part allows for sparsity.
BLIND_MARGIN = 0.05


def sparsest_within(table: pd.DataFrame, margin: float = BLIND_MARGIN) -> pd.Series:
    """The row of `table` chosen without the ground truth: the lowest L0 ("l0") among the rows whose toy loss
    through the reconstruction ("loss") is at most (1 + margin) x the lowest in the table (a tie in L0 goes to the
    lower loss). It reads only L0 and that loss, which need no known features; not even eps N, the mean number of
    features in an input (the data's density is ground truth too): the chosen L0 is compared with it afterwards."""
    if not 0 <= margin:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    near = table[table["loss"] <= table["loss"].min() * (1 + margin)]
    return near.sort_values(["l0", "loss"], kind="stable").iloc[0]


def _setting(row: pd.Series) -> str:
    return f"m = {int(row['d_dict'])}, λ = {row['l1']:g}"


BLIND_TEST = f"at the choice without the ground truth (BLIND_MARGIN {BLIND_MARGIN})"


def claim_recovery(res: SparseAutoencoders) -> Finding:
    """Bricken et al.'s claim, tested on the autoencoder chosen without the ground truth (`sparsest_within`: they
    had no known features to choose by), with the best by MMCS (chosen with the ground truth) beside it."""
    best, blind, poly = res.best, res.blind, res.neurons["poly"].summary()
    settled = bool(res.poly.converged()[res.poly_index])

    def both(key: str, fmt: str) -> str:
        return (
            f"{blind[key]:{fmt}} chosen without the ground truth ({_setting(blind)}); "
            f"{best[key]:{fmt}} best by MMCS ({_setting(best)})"
        )

    parts = (
        Part(
            "the toy layer is polysemantic",
            "Jermyn et al.: about 0 monosemantic neurons per feature at the lowest lr, zero bias (Fig. 1)",
            f"{poly['mono_per_feature']:.3f} per feature (LR1, lr {res.poly.configs[res.poly_index].lr:g}, "
            f"{'settled' if settled else 'not settled'})",
            f"<= {POLYSEMANTIC} per feature (POLYSEMANTIC)",
            bool(poly["mono_per_feature"] <= POLYSEMANTIC),
        ),
        Part(
            "the dictionary matches the true features better than the neurons do",
            "qualitative (no known features in a language model)",
            f"MMCS {both('mmcs', '.3f')}; the neurons {poly['mmcs']:.3f}",
            f"MMCS > the neurons' {BLIND_TEST}",
            bool(blind["mmcs"] > poly["mmcs"]),
        ),
        Part(
            f"most features are recovered (cosine > {RECOVERED})",
            "qualitative",
            f"features recovered: {both('recovered', '.0%')}; the neurons {poly['recovered']:.0%}",
            f"fraction > {MOST} (MOST) {BLIND_TEST}",
            bool(blind["recovered"] > MOST),
        ),
        Part(
            "the reconstruction keeps the model's behaviour",
            "judged by the model's loss with the reconstruction spliced in",
            f"toy loss through the reconstruction {both('loss', '.3f')}; the model's own {poly['loss']:.3f}",
            f"<= the model's own x (1 + {SPLICE_MARGIN}) (SPLICE_MARGIN) {BLIND_TEST}",
            bool(blind["loss"] <= poly["loss"] * (1 + SPLICE_MARGIN)),
        ),
        Part(
            f"the latents are more monosemantic than the neurons (the paper's r > {MONO_THRESHOLD})",
            "qualitative (latents far more interpretable than neurons)",
            f"monosemantic latents per feature {both('mono_per_feature', '.3f')} (at most "
            f"{res.most_mono['mono_per_feature']:.3f}, {_setting(res.most_mono)}); the neurons "
            f"{poly['mono_per_feature']:.3f}",
            f"# mono / # features > the neurons' {BLIND_TEST}",
            bool(blind["mono_per_feature"] > poly["mono_per_feature"]),
        ),
    )
    return Finding(
        "Bricken et al.: a sparse autoencoder on a polysemantic layer's activations recovers its features",
        parts,
        "fig-sae-sweep",
        headline=(
            "qualitative",
            f"{blind['recovered']:.0%} of features recovered (best by MMCS: {best['recovered']:.0%})",
        ),
    )


def l1_trends(res: SparseAutoencoders) -> dict[int, dict[str, float]]:
    """Per dictionary size: the rank correlation of L0 and of the FVU with the L1 coefficient."""
    out = {}
    for m, rows in res.table.groupby("d_dict"):
        l1s = rows["l1"].tolist()
        out[int(m)] = {"l0": spearman(l1s, rows["l0"].tolist()), "fvu": spearman(l1s, rows["fvu"].tolist())}
    return out


def claim_tradeoff(res: SparseAutoencoders) -> Finding:
    trends = l1_trends(res)

    def listing(key: str) -> str:
        return ", ".join(f"{v[key]:+.2f} (m = {m})" for m, v in trends.items())

    parts = (
        Part(
            "a larger L1 coefficient gives sparser codes (lower L0)",
            "qualitative",
            f"rank correlation of L0 with λ: {listing('l0')}",
            f"<= -{RANK} (RANK) at every dictionary size",
            all(v["l0"] <= -RANK for v in trends.values()),
        ),
        Part(
            "and a worse reconstruction (higher FVU)",
            "qualitative",
            f"rank correlation of the FVU with λ: {listing('fvu')}",
            f">= {RANK} (RANK) at every dictionary size",
            all(v["fvu"] >= RANK for v in trends.values()),
        ),
    )
    worst_l0 = max((v["l0"] for v in trends.values()), default=float("nan"))
    worst_fvu = min((v["fvu"] for v in trends.values()), default=float("nan"))
    return Finding(
        "Bricken et al.: the L1 coefficient trades sparsity against reconstruction",
        parts,
        "fig-sae-frontier",
        headline=("qualitative", f"rank correlation with λ, weakest size: L0 {worst_l0:+.2f}, FVU {worst_fvu:+.2f}"),
    )


def resampling_totals(res: SparseAutoencoders) -> dict[str, int]:
    """Over every autoencoder: resamplings, those that fired again within the window after, distinct latents
    ever resampled, and those that fire on the held-out inputs at the end."""
    t = res.table
    return {k: int(t[k].sum()) for k in ("n_resampled", "n_fired_again", "n_ever_resampled", "n_revived")}


def claim_resampling(res: SparseAutoencoders) -> Finding:
    c = resampling_totals(res)
    n, again, ever, kept = c["n_resampled"], c["n_fired_again"], c["n_ever_resampled"], c["n_revived"]
    parts = (
        Part(
            "some latents stop firing during training",
            "some neurons cease to activate, even across many data points",
            f"{n} resamplings of {ever} distinct latents over the {len(res.table)} autoencoders",
            "at least one latent resampled",
            n > 0,
        ),
        Part(
            "resampled, they fire again",
            "dead neurons are reset towards inputs the autoencoder represents badly",
            f"{again} of {n} fired within the window after their resampling",
            f"fraction >= {REVIVED} (REVIVED)",
            n > 0 and again / n >= REVIVED,
            testable=n > 0,
        ),
        Part(
            "so that more of the dictionary is used",
            "resampling lets the autoencoder represent more features for its size",
            f"{kept} of {ever} resampled latents still fire on the held-out inputs at the end",
            f"fraction >= {REVIVED} (REVIVED)",
            ever > 0 and kept / ever >= REVIVED,
            testable=ever > 0,
        ),
    )
    return Finding(
        "Bricken et al.: resampling brings dead latents back into use",
        parts,
        "fig-sae-traces",
        headline=("qualitative", f"{again} of {n} resampled latents fired again"),
    )


def findings(res: SparseAutoencoders) -> list[Finding]:
    return [claim_recovery(res), claim_tradeoff(res), claim_resampling(res)]


def routes(res: SparseAutoencoders) -> pd.DataFrame:
    """The two routes to monosemantic units side by side: the polysemantic model's neurons, the autoencoders on that
    model chosen without the ground truth, with the best dictionary and with the most monosemantic latents (one row
    for each distinct autoencoder, naming every choice it is), and the engineered model's neurons; every loss is the
    toy task's on the same number of held-out inputs."""
    k = res.poly.configs[0].d_hidden
    chosen: dict[tuple[int, float], tuple[list[str], pd.Series]] = {}
    for name, row in (
        ("chosen without the ground truth", res.blind),
        ("best dictionary", res.best),
        ("most monosemantic", res.most_mono),
    ):
        chosen.setdefault((int(row["d_dict"]), float(row["l1"])), ([], row))[0].append(name)
    rows = [("LR1 neurons (zero bias, polysemantic)", res.neurons["poly"].summary(), k)]
    for names, row in chosen.values():
        rows.append((f"autoencoder on LR1: {', '.join(names)} ({_setting(row)})", row, row["d_dict"]))
    rows.append(("LR3 neurons (negative bias, engineered)", res.neurons["engineered"].summary(), k))
    return pd.DataFrame(
        [
            {
                "units": label,
                "# units": int(n_units),
                "toy task loss": s["loss"],
                "# mono / # features": s["mono_per_feature"],
                "features with a mono unit": s["covered"],
                "MMCS": s["mmcs"],
                f"features at cosine > {RECOVERED}": s["recovered"],
            }
            for label, s, n_units in rows
        ]
    )


def glue_values(res: SparseAutoencoders) -> dict[str, Any]:
    g, p = res.grid, res.profile
    cfg = res.poly.configs[res.poly_index]
    t = res.table
    poly, eng = res.neurons["poly"].summary(), res.neurons["engineered"].summary()
    best, most, blind = res.best, res.most_mono, res.blind
    l1s, sizes = sorted(t["l1"].unique()), sorted(t["d_dict"].unique())
    edge = []
    if best["l1"] in (l1s[0], l1s[-1]):
        edge.append("the L1 range")
    if best["d_dict"] in (sizes[0], sizes[-1]) and len(sizes) > 1:
        edge.append("the dictionary sizes")
    out: dict[str, Any] = {
        "profile": p.name,
        "N": res.poly.n_features,
        "d": cfg.d_embed,
        "k": cfg.d_hidden,
        "eps": cfg.eps,
        "true_l0": res.true_l0,
        "eps_inv": round(1 / cfg.eps),
        "poly_lr": cfg.lr,
        "poly_converged": "has settled" if bool(res.poly.converged()[res.poly_index]) else "has not settled",
        "eng_lr": res.engineered.configs[res.engineered_index].lr,
        "eng_converged": "has settled" if bool(res.engineered.converged()[res.engineered_index]) else "has not settled",
        **rule_values(),
        "blind_margin": BLIND_MARGIN,
        "splice_margin": SPLICE_MARGIN,
        "blind_same": "the same autoencoder as"
        if (blind["d_dict"], blind["l1"]) == (best["d_dict"], best["l1"])
        else "another autoencoder than",
        "n_l1s": len(l1s),
        "n_sizes": len(sizes),
        "n_saes": len(t),
        "l1s": ", ".join(f"{v:g}" for v in l1s),
        "sizes": ", ".join(str(int(m)) for m in sizes),
        "ratios": ", ".join(f"{r:g}" for r in g.dict_ratios),
        "sae_steps": g.n_steps,
        "sae_batch": g.batch_size,
        "sae_lr": g.lr,
        "n_resamples": g.n_resamples,
        "resample_every": g.n_steps // (2 * g.n_resamples),
        "dead_window": g.n_steps // (4 * g.n_resamples),
        "resample_inputs": g.resample_inputs,
        "eval_inputs": g.eval_inputs,
        "sae_minutes": sum(float(a["seconds"]) for a in res.saes.values()) / 60,
        "best_edge": "at the edge of " + " and of ".join(edge) if edge else "inside the grid",
        "recovered_cos": RECOVERED,
        "mono_threshold": MONO_THRESHOLD,
    }
    for prefix, s in (("poly", poly), ("eng", eng)):
        out.update({f"{prefix}_{k}": v for k, v in s.items()})
    for prefix, row in (("best", best), ("most", most), ("blind", blind)):
        out.update(
            {f"{prefix}_{k}": (int(v) if k in ("d_dict", "dead", "silent_single") else v) for k, v in row.items()}
        )
        out[f"{prefix}_ratio"] = float(row["ratio"])
    out.update({f"rs_{k}": v for k, v in resampling_totals(res).items()})
    out["rs_again_frac"] = out["rs_n_fired_again"] / max(1, out["rs_n_resampled"])
    out["rs_kept_frac"] = out["rs_n_revived"] / max(1, out["rs_n_ever_resampled"])
    out["mmcs_raw_best"] = float(best["mmcs_raw"])
    out.update(baseline_share(res))
    largest = t[t["d_dict"] == sizes[-1]]
    out["largest_m"] = int(sizes[-1])
    out["rs_largest_share"] = int(largest["n_resampled"].sum()) / max(1, out["rs_n_resampled"])
    sae_wins = most["mono_per_feature"] > eng["mono_per_feature"]
    out["winner"] = "the autoencoder's latents" if sae_wins else "the engineered model's neurons"
    out["loss_winner"] = "the engineered model" if eng["loss"] < most["loss"] else "the model through the autoencoder"
    return out


def baseline_share(res: SparseAutoencoders) -> dict[str, float]:
    """What the polysemantic model's inputs share: its neurons active at zero input (h(0) = ReLU(b) > 0), and the
    mean cosine between the single-feature activations h(F_j) with h(0) left in and taken out."""
    act = Activations.of(res.poly, res.poly_index, sae_generator(res.grid.seed, EVAL))
    proj = res.poly["proj"][res.poly_index : res.poly_index + 1].float()
    raw = single_feature_activations(act.model, proj).transpose(1, 2)[0]
    return {
        "poly_active_at_zero": int((res.poly.b_in[res.poly_index] > 0).sum()),
        "poly_raw_cos": mean_pairwise_cosine(raw),
        "poly_direction_cos": mean_pairwise_cosine(feature_directions(act.model, proj)[0]),
    }


SWEEP_COLUMNS = {
    "d_dict": "latents m",
    "l1": "λ",
    "mmcs": "MMCS",
    "recovered": "recovered (cos > 0.9)",
    "mono_per_feature": "# mono / # features",
    "covered": "features with a mono latent",
    "l0": "L0",
    "fvu": "FVU",
    "dead": "dead latents (held-out inputs)",
    "silent_single": "silent on every F_j",
    "loss": "toy loss through it",
    "n_resampled": "resampled",
}


def sweep_table(res: SparseAutoencoders) -> pd.DataFrame:
    """Every autoencoder's measurements, one row each, with readable column names."""
    return res.table[list(SWEEP_COLUMNS)].rename(columns=SWEEP_COLUMNS)
