"""Chapter 4 (width): the grid and batch rule per profile, where each model comes from, and every part of claim 7
on hand-built results, where it must hold and where it must fail."""

import pytest
import torch
from conftest import make_result
from matplotlib.figure import Figure

from monosem import plotting
from monosem.config import make_sweep
from monosem.experiments import basins, negative_bias, width
from monosem.experiments.width import Trained, Width
from monosem.profiles import PROFILES, get_profile

CI = get_profile("ci")
N = CI.n_features  # 64; the ci grid is k = 32, 64, 128, 256


@pytest.mark.parametrize("name", sorted(width.GRIDS))
def test_grid_and_batch_rule(name):
    profile = PROFILES[name]
    g = width.grid(profile)
    assert g.sparse_base in g.ks and all(k & (k - 1) == 0 for k in g.ks)
    assert max(g.ks) == 4 * profile.n_features and min(g.ks) < profile.n_features
    for k in g.ks:
        cfg = width.row_config(profile, "K1", k)
        assert cfg.batch_size * k == profile.batch_size * profile.d_hidden and cfg.lr == width.K_LR
    with pytest.raises(ValueError, match="does not divide"):
        profile.batch_for(3)


def test_paper_grid_is_table_1s_and_cpu_keeps_its_scale_down():
    assert width.grid(get_profile("paper")).ks == (16, 32, 64, 128, 256, 512, 1024, 2048)
    assert all(get_profile("paper").batch_for(k) == 2**23 // k for k in (16, 1024, 2048))
    assert get_profile("cpu").batch_for(512) == 256 and get_profile("cpu").batch_for(64) == 2048


def test_sparse_models_have_the_dense_models_weight_count_and_batch():
    for profile in PROFILES.values():
        base = width.grid(profile).sparse_base
        dense = width.row_config(profile, width.SPARSE_ROW, base)
        for factor in width.grid(profile).sparse_factors:
            cfg = width.sparse_config(profile, factor)
            assert cfg.d_hidden == factor * base and cfg.batch_size == dense.batch_size
            assert cfg.weight_density * cfg.d_embed * cfg.d_hidden == dense.d_embed * dense.d_hidden
            assert cfg.replace(d_hidden=base, weight_density=1.0) == dense


def test_models_at_the_default_k_are_taken_from_chapter_2():
    cpu = get_profile("cpu")
    rows, sparse = width.plan(cpu)
    donors = {s.name: s for s in negative_bias.sweeps(cpu)}
    for row, donor in (("K0", "LR1"), ("K1", "LR3"), ("K2", "LR4")):
        sweep, i = rows[row][cpu.d_hidden]
        assert sweep == donors[donor] and sweep.configs[i] == width.row_config(cpu, row, cpu.d_hidden)
    for row, models in rows.items():
        for k, (sweep, i) in models.items():
            assert sweep.configs[i] == width.row_config(cpu, row, k)
            assert k == cpu.d_hidden or (sweep.name == f"K_k{k}" and i == list(width.ROWS).index(row))
    assert set().union(*width.ROWS.values()) <= set(width.ROW_FIELDS)  # the rows differ only in ROW_FIELDS
    names = [s.name for s in width.sweeps(cpu)]
    g = width.grid(cpu)
    sparse_names = {f"SPARSE_k{g.sparse_base * f}" for f in g.sparse_factors}
    assert len(names) == len(set(names)) and {"LR1", "LR3", "LR4", *sparse_names} <= set(names)
    assert not {s.name for s in basins.sweeps(cpu)} - {"LR1", "LR2"}  # the basins sweeps are chapter 2's too


def _model(k, mono, loss, falling=0.0, name="M", density=1.0):
    """A hand-built one-model result: `mono` monosemantic neurons per feature, a final loss, flat or falling."""
    cfg = width.row_config(CI, "K1", k).replace(n_steps=256, weight_density=density)
    sweep = make_sweep(name, cfg, seed=(0,))
    r = torch.zeros(1, k)
    r[0, : round(mono * N)] = 1.0
    steps = torch.arange(0, 256, 16)
    t = torch.arange(len(steps), dtype=torch.float32) / 2
    trace = loss * (1 + falling * (t.max() - t))[None, :]
    return Trained(make_result(sweep, r=r, final_loss=torch.tensor([loss]), loss_steps=steps, loss=trace), 0)


KS = (32, 64, 128, 256)
CLEAN = {
    "K0": ([0.0, 0.0, 0.2, 0.6], [1.0, 0.8, 0.6, 0.55]),
    "K1": ([0.2, 0.6, 1.0, 1.3], [1.03, 0.82, 0.58, 0.5]),  # +3 %, +2.5 % at N/2, N; lower above
    "K2": ([0.1, 0.4, 0.7, 1.0], [0.5, 0.4, 0.3, 0.28]),
}


def _width(rows=None, sparse=(0.9,), falling=None):
    rows = rows or CLEAN
    falling = falling or {}
    built = {
        row: {k: _model(k, m, l, falling.get((row, k), 0.0)) for k, m, l in zip(KS, mono, loss, strict=True)}
        for row, (mono, loss) in rows.items()
    }
    base = width.grid(CI).sparse_base
    factors = width.grid(CI).sparse_factors
    sparse_models = {f: _model(base * f, 0.5, loss, density=1 / f) for f, loss in zip(factors, sparse, strict=True)}
    return Width(CI, built, sparse_models, [])


def _parts(res):
    return [p.holds for p in width.findings(res)[0].parts]


def test_claim7_holds_on_a_clean_result():
    res = _width()
    assert _parts(res) == [True] * 5
    assert width.findings(res)[0].verdict == "agree"
    assert width.peak_k(res.rows["K1"]) == N
    assert res.rows["K1"][N].silent == (N - round(0.6 * N)) / N  # r_i = 0 but for the 0.6 N monosemantic neurons
    numbers = width.numbers(res)
    assert numbers["sparse2_loss_gap"] == pytest.approx(0.9 / 0.82 - 1)


def test_claim7_fails_part_by_part():
    falls = {**CLEAN, "K1": ([0.2, 0.6, 0.3, 1.3], CLEAN["K1"][1])}  # a drop by 0.3 > NOISE at k = 128
    assert _parts(_width(falls))[0] is False
    flat = {**CLEAN, "K2": ([0.5, 0.55, 0.5, 0.55], CLEAN["K2"][1])}  # no gain over NOISE
    assert _parts(_width(flat))[0] is False
    late = {**CLEAN, "K1": ([0.1, 0.2, 0.6, 2.0], CLEAN["K1"][1])}  # fraction peaks at 4N
    assert _parts(_width(late))[1] is False
    much_worse = {**CLEAN, "K1": (CLEAN["K1"][0], [1.03, 0.95, 0.58, 0.5])}  # +19 % at k = N
    assert _parts(_width(much_worse))[2] is False
    better = {**CLEAN, "K1": (CLEAN["K1"][0], [0.9, 0.82, 0.58, 0.5])}  # wins at N/2: not "loses"
    assert _parts(_width(better))[2] is False
    loses_above = {**CLEAN, "K1": (CLEAN["K1"][0], [1.03, 0.82, 0.58, 0.6])}  # worse at 4N
    assert _parts(_width(loses_above))[3] is False
    assert _parts(_width(sparse=(0.84,)))[4] is False  # only +2.4 %: not significant
    assert width.findings(_width(falls, sparse=(0.8,)))[0].verdict == "partly"


def test_models_still_falling_are_not_counted():
    # K0 at N / 2 and N still falling: the "loses a little" part has no k left to test
    falling = {("K0", 32): 0.05, ("K0", 64): 0.05}
    assert _parts(_width(falling=falling))[2] is None
    # a whole family still falling: the parts are decided by the others
    assert _parts(_width(falling={("K2", k): 0.05 for k in KS}))[:2] == [True, True]
    assert _parts(_width(falling={(row, k): 0.05 for row in ("K1", "K2") for k in KS}))[1] is None
    # a sparse model still falling: not counted for or against
    res = _width(sparse=(0.84,))
    res.sparse[2] = _model(128, 0.5, 0.84, falling=0.05, density=0.5)
    assert _parts(res)[4] is None


def test_table_lists_every_model():
    res = _width()
    frame = width.table(res)
    assert len(frame) == 3 * len(KS) + len(res.sparse) and set(width.TABLE_FORMATS) <= set(frame.columns)
    assert "K1, sparse" in set(frame["model"]) and width.show_table(res).to_html()


def test_no_monosemantic_neuron_has_no_peak_near_n():
    none = {row: ([0.0] * 4, loss) for row, (_, loss) in CLEAN.items()}
    assert _parts(_width(none))[1] is False


def test_figures():
    res = _width()
    fig = plotting.width_traces(res.labelled())
    assert isinstance(fig, Figure) and len(fig.axes) == 3 * 3 + 1  # three rows of three panels and a colour bar
    assert len(fig.axes[1].lines) == len(KS)
    fig = plotting.against_width(res.labelled(), N)
    assert len(fig.axes) == 3 and len(fig.axes[0].lines) == 3 + 1  # three rows and the k = N line
    series = res.sparse_labelled()
    fig = plotting.against_width(series, N, metrics=("loss", "mono"))
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sorted(labels) == sorted(series)  # one entry per family, also for a one-model family
