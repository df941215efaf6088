"""Chapter 6 (the re-projector and the absolute-value task, claim 9): the sweeps at each scale, the pooled
absolute-value models (each configuration once), the read-offs, each part of claim 9 on hand-built results where it
must hold and where it must fail, and the loss-against-monosemanticity figure."""

import math

import torch
from conftest import make_result
from matplotlib.figure import Figure

from monosem import plotting
from monosem.config import make_sweep
from monosem.data import DataStream
from monosem.experiments import negative_bias, other_tasks
from monosem.experiments.other_tasks import OtherTasks
from monosem.profiles import get_profile

CI = get_profile("ci")
LRS = (0.001, 0.003, 0.007, 0.01, 0.03)
DECAYS = (0.001, 0.003, 0.01, 0.03)


def _trace(final: torch.Tensor, falling: float = 0.0) -> dict[str, torch.Tensor]:
    """Losses every 16 steps of a 256-step run: flat at `final` (converged), or falling by `falling` per window."""
    steps = torch.arange(0, 256, 16)
    t = torch.arange(len(steps), dtype=torch.float32) / 2
    return {"loss_steps": steps, "loss": final[:, None] * (1 + falling * (t.max() - t))[None, :]}


def _result(name, base, mono, loss, bias=None, falling=0.0, **axes):
    """A hand-built result: # mono / # features = `mono` (the first round(mono N) neurons at r = 1), final losses
    `loss`, every bias of instance i at bias[i]."""
    sweep = make_sweep(name, base, **axes)
    n, k, n_features = sweep.n_inst, base.d_hidden, base.n_features
    r = torch.zeros(n, k)
    for i, m in enumerate(mono):
        r[i, : round(m * n_features)] = 1.0
    b = torch.zeros(n, k) if bias is None else torch.tensor(bias, dtype=torch.float32)[:, None].expand(n, k).clone()
    final = torch.tensor(loss, dtype=torch.float32)
    return make_result(sweep, final_loss=final, r=r, b_in=b, **_trace(final, falling))


def _res(
    rp_mono, lr5_mono, lr5_loss, lr5_bias, d1_mono, d1_loss, falling=0.0, lr3_mono=None, decays=DECAYS
) -> OtherTasks:
    short = {"n_steps": 256}
    rp1 = _result("RP1", CI.base(task="reprojector", **short), rp_mono, [0.1] * len(LRS), lr=LRS)
    lr3 = _result("LR3", CI.base(**short), rp_mono if lr3_mono is None else lr3_mono, [0.1] * len(LRS), lr=LRS)
    abs_base = other_tasks.abs_base(CI, bias_decay=0.03, **short)
    lr5 = _result("LR5", abs_base, lr5_mono, lr5_loss, lr5_bias, falling, lr=LRS)
    d1 = _result("D1", other_tasks.abs_base(CI, lr=0.007, **short), d1_mono, d1_loss, bias_decay=decays)
    return OtherTasks(CI, rp1, lr5, d1, lr3)


# The paper's picture: RP1 about one per feature; LR5 more monosemantic at higher lr, with lower loss and more
# negative bias; D1 more monosemantic at slower decay. D1's decay 0.03 is LR5's lr 0.007 (same configuration).
PAPER_LIKE = dict(
    rp_mono=[0.5, 0.8, 0.9, 1.0, 1.1],
    lr5_mono=[0.1, 0.2, 0.6, 0.8, 1.0],
    lr5_loss=[0.25, 0.23, 0.20, 0.18, 0.16],  # all well below the constant output's loss, 0.33 at ci
    lr5_bias=[-0.1, -0.2, -0.3, -0.4, -0.5],
    d1_mono=[1.4, 1.2, 0.9, 0.6],
    d1_loss=[0.14, 0.15, 0.17, 0.20],
)


def _holds(res: OtherTasks) -> dict[str, bool | None]:
    return {p.text: p.holds for p in other_tasks.claim9(res).parts}


def test_sweeps_follow_table_1_and_the_scaled_batch_rule():
    cpu = get_profile("cpu")
    rp1, both, lr3 = other_tasks.sweeps(cpu)
    lr5, d1 = other_tasks.lr5(cpu), other_tasks.d1(cpu)
    assert set(both.configs) == {*lr5.configs, *d1.configs} and both.n_inst == len(set(both.configs))  # one batch
    assert lr3 == negative_bias.lr3(cpu)  # chapter 2's, from the cache
    assert rp1.configs[0].task == "reprojector" and rp1.configs[0].d_out == cpu.d_embed
    assert {c.d_hidden for c in rp1.configs} == {2 * cpu.n_features}
    for sweep in (lr5, d1):
        cfg = sweep.configs[0]
        assert cfg.task == "abs" and cfg.d_hidden == 4 * cpu.n_features == 1024
        assert cfg.batch_size * cfg.d_hidden == cpu.batch_size * cpu.d_hidden  # 128 x 1024 = 256 x 512
        assert {c.init_bias for c in sweep.configs} == {-1.0}
        assert cfg.n_steps == other_tasks.grid(cpu).abs_steps * cpu.n_steps
    assert {c.lr for c in d1.configs} == {0.007} and {c.bias_decay for c in lr5.configs} == {0.03}
    paper = get_profile("paper")
    assert {c.batch_size for c in other_tasks.abs_sweep(paper).configs} == {4096}
    # at `paper` LR5's lr 0.007 model is D1's decay 0.03: trained once
    assert other_tasks.abs_sweep(paper).n_inst == len(other_tasks.grid(paper).lr5_lrs) + 4
    assert max(other_tasks.grid(cpu).d1_decays) > max(other_tasks.grid(paper).d1_decays)  # the shorter run's shift


def test_abs_models_count_the_shared_configuration_once():
    res = _res(**PAPER_LIKE)
    models = other_tasks.abs_models(res)
    assert len(models) == len(LRS) + len(DECAYS) - 1
    shared = [m for m in models if m.config.lr == 0.007 and m.config.bias_decay == 0.03]
    assert len(shared) == 1 and shared[0].sweep == "LR5"
    assert [m.config.bias_decay for m in other_tasks.d1_row(res)] == list(DECAYS)
    assert [m.config.lr for m in other_tasks.lr5_row(res)] == list(LRS)


def test_d1_row_takes_its_decay_003_model_from_lr5_when_d1_lacks_it():
    res = _res(**{**PAPER_LIKE, "d1_mono": [1.4, 1.2, 0.9], "d1_loss": [0.14, 0.15, 0.17]}, decays=DECAYS[:3])
    row = other_tasks.d1_row(res)
    assert [m.config.bias_decay for m in row] == list(DECAYS) and row[-1].sweep == "LR5"
    assert row[-1].mono == res.lr5.mono_per_feature()[LRS.index(0.007)].item()
    trend = other_tasks.trend(row, "bias_decay")
    assert trend["n"] == 4 and trend["rho"] < -0.99
    assert other_tasks.claim9(res).verdict == "agree"


def test_loss_vs_mono_reads_the_sign_and_the_gap():
    res = _res(**PAPER_LIKE)
    lvm = other_tasks.loss_vs_mono(other_tasks.abs_models(res))
    assert lvm["n"] == 8 and lvm["rho"] < -0.9
    assert lvm["most"] == round(1.4 * CI.n_features) / CI.n_features  # the most monosemantic: D1 at decay 0.001
    assert math.isclose(lvm["gap"], (0.25 - 0.14) / 0.14, rel_tol=1e-5)
    few = other_tasks.loss_vs_mono(other_tasks.abs_models(_res(**PAPER_LIKE, falling=0.05))[-3:-1])
    assert few["n"] < 3 and math.isnan(few["rho"])


def test_roughly_one_needs_a_decade_of_learning_rates():
    res = _res(**PAPER_LIKE)
    rp = other_tasks.roughly_one(res.rp1)
    assert rp["inside"] == [0.003, 0.007, 0.01, 0.03] and math.isclose(rp["decades"], 1.0)
    narrow = _res(**{**PAPER_LIKE, "rp_mono": [0.2, 0.3, 1.0, 1.0, 0.3]})
    assert other_tasks.roughly_one(narrow.rp1)["decades"] < other_tasks.RANGE_DECADES


def test_claim9_agrees_on_the_papers_picture():
    finding = other_tasks.claim9(_res(**PAPER_LIKE))
    assert finding.verdict == "agree", [(p.text, p.this_run) for p in finding.parts if not p.holds]
    assert finding.number == 9


def test_claim9_parts_fail_where_the_run_disagrees():
    flipped = dict(
        rp_mono=[0.1, 0.2, 0.3, 0.2, 0.1],  # re-projector not monosemantic
        lr5_mono=[1.0, 0.9, 0.8, 0.7, 0.6],  # falls with lr, and no model largely polysemantic
        lr5_loss=[0.20, 0.19, 0.18, 0.17, 0.16],  # the more monosemantic, the higher the loss
        lr5_bias=[-0.1, -0.2, -0.3, -0.4, -0.5],  # the more monosemantic, the less negative the bias
        d1_mono=[0.3, 0.4, 0.5, 0.8],  # faster decay, more monosemantic; slowest not highly monosemantic
        d1_loss=[0.13, 0.14, 0.15, 0.18],
    )
    holds = _holds(_res(**flipped))
    failing = [text for text, h in holds.items() if h is False]
    assert len(failing) == 7, holds  # all but the convergence parts, "as in the decoder" and "different losses"
    assert holds["absolute value: basins of different monosemanticity have different losses"] is True
    assert all(h for text, h in holds.items() if "reached their minima" in text)
    same = _holds(_res(**{**PAPER_LIKE, "lr5_loss": [0.2] * 5, "d1_loss": [0.2] * 4}))
    unlike = _holds(_res(**PAPER_LIKE, lr3_mono=[0.5, 0.8, 0.9, 1.0, 1.5]))  # 1.1 vs 1.5 at lr 0.03
    assert unlike["re-projector: as in the decoder models"] is False
    assert unlike["re-projector: roughly one monosemantic neuron per feature across a range of lrs"] is True
    assert same["absolute value: basins of different monosemanticity have different losses"] is False


def test_claim9_counts_only_converged_models():
    holds = _holds(_res(**PAPER_LIKE, falling=0.05))  # every LR5 model still falling
    assert holds["absolute value: the runs have reached their minima"] is False
    assert holds["absolute value: monosemanticity rises with lr"] is None
    assert holds["negative bias alone is not enough: several LR5 models are largely polysemantic"] is None
    assert holds["absolute value: lower loss for more monosemantic models"] is True  # D1's 3 unshared models


def test_bias_left_and_the_figure():
    table = other_tasks.bias_left(get_profile("cpu"))
    g = other_tasks.grid(get_profile("cpu"))
    assert len(table) == len(g.lr5_lrs) + len(g.d1_decays) and table.iloc[-1]["bias decay"] == 0.1
    assert table.columns[3] == "left at cpu (32,768 steps)"  # the absolute-value models' steps, not the profile's
    assert table.iloc[-1, 3] < 0.01 and table.iloc[-1, 4] < table.iloc[-1, 3]
    res = _res(**PAPER_LIKE, falling=0.05)
    fig = plotting.loss_against_mono({"LR5": res.lr5, "D1": res.d1})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == plotting.MONO_LABEL and len(ax.texts) == len(LRS) + len(DECAYS)
    fig = plotting.final_against_models({"D1": other_tasks.d1_instances(res)}, by="bias_decay")
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == list(DECAYS) and fig.axes[1].get_ylabel() == "final loss"


def test_constant_loss_is_the_targets_total_variance():
    for task in ("decoder", "reprojector", "abs"):
        cfg = CI.base(task=task, batch_size=2**16, eps=1 / 8)
        _, target = DataStream.for_configs((cfg,), "cpu").sample()
        sampled = float(target[0].double().var(0).sum())
        assert math.isclose(other_tasks.constant_loss(cfg), sampled, rel_tol=0.02), task


def test_a_model_on_the_initial_plateau_is_not_a_basin():
    plateau = other_tasks.constant_loss(other_tasks.abs_base(CI))
    # D1's two slowest decays learned nothing: no monosemantic neuron, loss 2 % below the constant output's
    # and, among the models that did learn, the more monosemantic have the higher loss
    stuck = {
        **PAPER_LIKE,
        "lr5_loss": [0.16, 0.18, 0.20, 0.23, 0.25],
        "d1_mono": [0.0, 0.0, 0.9, 0.6],
        "d1_loss": [0.98 * plateau] * 2 + [0.24, 0.20],
    }
    res = _res(**stuck)
    models = other_tasks.abs_models(res)
    assert [m.learned for m in models if m.sweep == "D1"] == [False, False, True]
    lvm = other_tasks.loss_vs_mono(models)
    assert lvm["n"] == 6 and lvm["n_all"] == 8
    assert lvm["rho"] > 0.99 and lvm["rho_all"] < 0.5  # the plateau models would hide the sign
    holds = _holds(res)
    assert holds["absolute value: lower loss for more monosemantic models"] is False
    assert holds["absolute value: the runs have reached their minima"] is False
    assert holds["slower bias decay gives more monosemantic models"] is False  # the plateau models still count
    assert holds["negative bias with slow decay makes highly monosemantic models"] is False
