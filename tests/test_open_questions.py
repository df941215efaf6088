"""Chapter 10: the output bias and the bias push (the model options its questions need), neuron matching and the loss
along a path, the algebra of the positive-bias neurons, and each of the chapter's claims on hand-built results where
it holds, fails and cannot be tested."""

import itertools

import numpy as np
import pytest
import torch
from conftest import assert_same_run, make_result

from monosem.chapters import open_questions as oq
from monosem.config import ModelConfig, Sweep, make_sweep
from monosem.model import ACTIVATION_FNS, ToyModel
from monosem.optim import BatchedLamb
from monosem.profiles import get_profile
from monosem.training import train

CI = get_profile("ci")


# --- the model options ---------------------------------------------------------------------------------------------


def test_the_new_options_leave_every_existing_cache_key_alone():
    cfg = CI.base(lr=0.007, init_bias=-1.0)
    assert "out_bias" not in cfg.to_dict() and "bias_push" not in cfg.to_dict()
    explicit = cfg.replace(out_bias=False, bias_push=0.0)
    assert make_sweep("S", explicit, seed=(0,)).key("v") == make_sweep("S", cfg, seed=(0,)).key("v")
    assert cfg.replace(out_bias=True).to_dict()["out_bias"] is True
    assert cfg.replace(bias_push=0.01).to_dict()["bias_push"] == 0.01
    assert make_sweep("S", cfg.replace(out_bias=True), seed=(0,)).key("v") != make_sweep("S", cfg, seed=(0,)).key("v")


@pytest.mark.parametrize(("changes", "field"), [({"out_bias": 1}, "out_bias"), ({"bias_push": -0.1}, "bias_push")])
def test_invalid_options_raise_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**changes)


def test_a_sweep_cannot_mix_models_with_and_without_output_bias():
    with pytest.raises(ValueError, match="out_bias"):
        make_sweep("S", CI.base(), out_bias=(False, True))


def _old_loss_and_grads(model, x, target, l1=None, with_loss=True):
    """`ToyModel.loss_and_grads` as it was before the output bias and the bias push existed (verbatim)."""
    act, act_grad = ACTIVATION_FNS[model.activation]
    batch = x.shape[1]
    e = model.preact(x)
    h = act(e)
    err = torch.bmm(h, model.W_out).sub_(target)
    loss = torch.linalg.vecdot(err, err).mean(-1) if with_loss else None
    g_y = err.mul_(2 / batch)
    g_w_out = torch.bmm(h.transpose(1, 2), g_y)
    g_h = torch.bmm(g_y, model.W_out.transpose(1, 2))
    if l1 is not None:
        g_h.add_(torch.sign(h) * (l1 / batch)[:, None, None])
    if model.activation == "relu":
        g_e = g_h.mul_(torch.sign(h))
    else:
        g_e = g_h.mul_(act_grad(e, h))
    g_w_in = torch.bmm(x.expand(model.n_inst, -1, -1).transpose(1, 2), g_e)
    if model.masks is not None:
        g_w_in.mul_(model.masks[0])
        g_w_out.mul_(model.masks[1])
    return loss, [g_w_in, g_e.sum(1), g_w_out]


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_at_its_defaults_the_model_is_the_old_model_bit_for_bit(activation):
    configs = tuple(CI.base(seed=s, activation=activation, init_bias=-0.1) for s in (0, 1))
    model = ToyModel.init(configs)
    assert model.b_out is None and len(model.params) == 3
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 32, CI.d_embed, generator=gen)
    target = torch.rand(2, 32, CI.n_features, generator=gen)
    for l1 in (None, torch.tensor([0.0, 0.01])):
        loss, grads = model.loss_and_grads(x, target, l1)
        old_loss, old_grads = _old_loss_and_grads(model, x, target, l1)
        assert torch.equal(loss, old_loss)
        assert all(torch.equal(g, o) for g, o in zip(grads, old_grads, strict=True))


def test_the_output_bias_is_drawn_after_the_other_weights():
    cfg = CI.base(seed=3)
    plain, with_bias = ToyModel.init((cfg,)), ToyModel.init((cfg.replace(out_bias=True),))
    for a, b in zip(plain.params, with_bias.params[:3], strict=True):
        assert torch.equal(a, b)
    assert with_bias.b_out.shape == (1, cfg.n_features)
    assert float(with_bias.b_out.abs().max()) <= 1 / cfg.d_hidden**0.5


def test_output_bias_gradients_equal_autograd():
    gen = torch.Generator().manual_seed(1)
    n, batch, d, k, n_out = 2, 16, 5, 12, 20
    w_in = torch.randn(n, d, k, generator=gen, dtype=torch.float64)
    b_in = torch.randn(n, k, generator=gen, dtype=torch.float64) / 3
    w_out = torch.randn(n, k, n_out, generator=gen, dtype=torch.float64)
    b_out = torch.randn(n, n_out, generator=gen, dtype=torch.float64)
    x = torch.randn(1, batch, d, generator=gen, dtype=torch.float64)
    target = torch.rand(n, batch, n_out, generator=gen, dtype=torch.float64)
    model = ToyModel(w_in, b_in, w_out, "relu", b_out=b_out)
    loss, grads = model.loss_and_grads(x, target)

    params = [p.clone().requires_grad_(True) for p in (w_in, b_in, w_out, b_out)]
    h = torch.relu(torch.baddbmm(params[1][:, None, :], x.expand(n, -1, -1), params[0]))
    ref = (torch.baddbmm(params[3][:, None, :], h, params[2]) - target).pow(2).sum(-1).mean(-1)
    ref.sum().backward()
    torch.testing.assert_close(loss, ref.detach())
    assert len(grads) == 4
    for g, p in zip(grads, params, strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(model.forward(x)[1], torch.baddbmm(b_out[:, None, :], h.detach(), w_out))


def test_the_bias_push_adds_the_firing_fraction_to_the_bias_gradient():
    model = ToyModel.init((CI.base(seed=0), CI.base(seed=1)))
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 64, CI.d_embed, generator=gen)
    target = torch.rand(2, 64, CI.n_features, generator=gen)
    push = torch.tensor([0.0, 0.5])
    _, plain = model.loss_and_grads(x, target)
    _, pushed = model.loss_and_grads(x, target, bias_push=push)
    fires = (model.preact(x) > 0).float().mean(1)
    torch.testing.assert_close(pushed[1], plain[1] + push[:, None] * fires)
    for a, b in ((plain[0], pushed[0]), (plain[2], pushed[2])):
        assert torch.equal(a, b)


def test_lamb_trains_the_output_bias():
    cfg = CI.base(out_bias=True)
    model = ToyModel.init((cfg,))
    before = model.b_out.clone()
    opt = BatchedLamb(model.params, torch.tensor([0.01]))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 32, CI.d_embed, generator=gen)
    _, grads = model.loss_and_grads(x, torch.rand(1, 32, CI.n_features, generator=gen))
    opt.step(grads)
    assert len(opt.exp_avg) == 4 and not torch.equal(model.b_out, before)


@pytest.mark.cpu_exact
def test_an_output_bias_instance_of_a_sweep_equals_the_model_trained_alone():
    sweep = make_sweep("S", CI.base(n_steps=128, out_bias=True, bias_push=0.01), seed=(0, 1))
    together = train(sweep, progress=False)
    default = train(make_sweep("D", CI.base(n_steps=128), seed=(0, 1)), progress=False)
    for i, cfg in enumerate(together.configs):
        alone = train(Sweep("A", cfg), progress=False)
        for name in ("W_in", "b_in", "W_out", "loss"):
            assert_same_run(together[name][i], alone[name][0], name, cfg.n_features)
        # the options change the model
        assert (together["b_in"][i] - default["b_in"][i]).norm() > 1e-3


# --- matching and paths --------------------------------------------------------------------------------------------


def test_the_assignment_is_the_brute_force_optimum():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 6):
        cost = rng.normal(size=(n, n))
        col = oq.assignment(cost)
        assert sorted(col.tolist()) == list(range(n))
        best = min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n)))
        assert cost[np.arange(n), col].sum() == pytest.approx(best)


def test_matching_finds_a_known_shuffle_of_a_models_neurons():
    model = ToyModel.init((CI.base(seed=4),))
    shuffle = torch.randperm(CI.d_hidden, generator=torch.Generator().manual_seed(0))
    shuffled = oq.permute(model, shuffle)
    perm = oq.match_neurons(model, shuffled)
    assert torch.equal(shuffle[perm], torch.arange(CI.d_hidden))
    restored = oq.permute(shuffled, perm)
    assert all(torch.equal(a, b) for a, b in zip(restored.params, model.params, strict=True))
    # reordering neurons changes no output
    x = torch.randn(1, 16, CI.d_embed, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(shuffled.forward(x)[1], model.forward(x)[1])


def test_the_path_between_a_model_and_itself_is_flat():
    cfg = CI.base(seed=2)
    model = ToyModel.init((cfg,))
    ts = torch.linspace(0, 1, 5)
    losses = oq.path_losses(model, model, cfg, ts, n_samples=512)
    torch.testing.assert_close(losses, losses[:1].expand(5), rtol=1e-6, atol=0)
    assert abs(oq.barrier(losses, ts)) < 1e-6


def test_the_path_reaches_its_ends_and_the_barrier_is_relative_to_the_line():
    cfg = CI.base(seed=2)
    a, b = ToyModel.init((cfg,)), ToyModel.init((cfg.replace(seed=5),))
    ts = torch.linspace(0, 1, 3)
    path = oq.interpolate(a, b, ts)
    assert torch.equal(path.W_in[0], a.W_in[0]) and torch.equal(path.W_out[-1], b.W_out[0])
    assert oq.barrier(torch.tensor([1.0, 2.0, 1.0]), ts) == pytest.approx(1.0)
    assert oq.barrier(torch.tensor([1.0, 0.5, 0.0]), ts) == pytest.approx(0.0)
    assert oq.barrier(torch.tensor([2.0, 1.0, 1.0]), ts) < 0


# --- question 1's algebra ------------------------------------------------------------------------------------------


def _positive_weights(d: int, n_pos: int, n_out: int, k: int, removed: bool):
    """Weights of a model of k neurons whose first n_pos have bias 0.1 (the rest -0.5): W_in on them spans the
    first min(d, n_pos) coordinates; with `removed` (needs n_pos = d + 1), W_out's last positive row cancels the
    others on b."""
    gen = torch.Generator().manual_seed(0)
    W_in = torch.randn(d, k, generator=gen)
    W_in[:, :n_pos] = 0
    W_in[:, :n_pos][: min(d, n_pos), : min(d, n_pos)] = torch.eye(min(d, n_pos))
    b = torch.full((k,), -0.5)
    b[:n_pos] = 0.1
    W_out = torch.randn(k, n_out, generator=gen)
    if removed:
        W_out[n_pos - 1] = -W_out[: n_pos - 1].sum(0)
    proj = torch.randn(d, n_out, generator=gen)
    return W_in, b, W_out, proj


def test_positive_map_reads_the_hypothesis_off_the_weights():
    d, n_out, k = 4, 12, 16
    m = oq.positive_map(*_positive_weights(d, d + 1, n_out, k, removed=True))
    assert (m.count, m.rank) == (d + 1, d)
    assert m.outside == pytest.approx(1 / (d + 1) ** 0.5)  # b = 0.1 (1, ..., 1): one coordinate of d + 1 outside
    assert m.gain < 1e-6 and m.intercept < 1e-6
    kept = oq.positive_map(*_positive_weights(d, d, n_out, k, removed=False))
    assert kept.count == d and kept.outside < 1e-6 and kept.gain > 0.1


# --- the claims on hand-built results ------------------------------------------------------------------------------


def _loss(sweep: Sweep, settled: bool) -> dict:
    steps = torch.arange(0, sweep.base.n_steps, 16)
    trace = torch.full((len(steps),), 0.5) if settled else torch.linspace(1.0, 0.3, len(steps))
    return {
        "loss_steps": steps,
        "loss": trace.expand(sweep.n_inst, -1).clone(),
        "final_loss": trace[-1:].expand(sweep.n_inst).clone(),
    }


def _dims(count_without: int, count_with: int, settled: bool = True) -> dict:
    out = {}
    for d in oq.GRIDS.of(CI).dims:
        for ob, excess in ((False, count_without), (True, count_with)):
            sweep = oq.d_sweep(CI, d, ob)
            cfg = sweep.base
            W_in, b, W_out, proj = _positive_weights(d, d + excess, cfg.n_features, cfg.d_hidden, removed=excess == 1)
            out[(d, ob)] = make_result(
                sweep, W_in=W_in[None], b_in=b[None], W_out=W_out[None], proj=proj[None], **_loss(sweep, settled)
            )
    return out


def _mono(sweep: Sweep, values: list[float]) -> torch.Tensor:
    """r of every instance such that # mono / # features is each of `values`."""
    k, n = sweep.base.d_hidden, sweep.base.n_features
    r = torch.zeros(sweep.n_inst, k)
    for i, v in enumerate(values):
        r[i, : round(v * n)] = 1.0
    return r


def _questions(dims=None, push=(0.5, 0.5, 0.5, 0.5), recipe=(0.5, 0.0, 0.5, 0.0), push_loss_settled=True):
    dims = dims or _dims(1, 0)
    d = oq.GRIDS.of(CI).dims[0]
    recipe_first = dims[(d, False)]
    recipe_first.r.copy_(_mono(oq.d_sweep(CI, d, False), [recipe[0]]))
    sweeps = oq.robust_sweeps(CI)
    paths = make_result(oq.paths_sweep(CI), **_loss(oq.paths_sweep(CI), True))
    control = make_result(oq.control_sweep(CI), **_loss(oq.control_sweep(CI), True))
    return oq.OpenQuestions(
        CI,
        dims,
        paths,
        control,
        make_result(sweeps["PUSH"], r=_mono(sweeps["PUSH"], list(push)), **_loss(sweeps["PUSH"], push_loss_settled)),
        make_result(sweeps["RECIPE"], r=_mono(sweeps["RECIPE"], list(recipe[1:])), **_loss(sweeps["RECIPE"], True)),
    )


def test_claim_1_holds_fails_and_cannot_be_tested():
    assert oq.d_finding(_questions(_dims(1, 0))).verdict == "agree"
    assert oq.d_finding(_questions(_dims(1, 1))).verdict == "partly"  # the output bias leaves the + 1
    assert oq.d_finding(_questions(_dims(0, 1))).verdict == "no"
    assert oq.d_finding(_questions(_dims(1, 0, settled=False))).verdict == "not testable here"


def _paths(across: list[float], control: list[float]) -> dict:
    ts = torch.linspace(0, 1, len(across))
    return {
        "across": oq.Path("across", ts, torch.tensor(across), torch.tensor(across), 0.0),
        "control": oq.Path("control", ts, torch.tensor(control), torch.tensor(control), 1.0),
    }


def test_claim_2_holds_fails_and_cannot_be_tested():
    q = _questions()
    assert oq.paths_finding(q, _paths([1.0, 1.5, 1.0], [1.0, 1.0, 1.0])).verdict == "agree"
    assert oq.paths_finding(q, _paths([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])).verdict == "partly"  # a connected valley
    # a barrier on the control path too: the matching cannot tell basins apart, so the second part is untestable
    blocked = oq.paths_finding(q, _paths([1.0, 1.5, 1.0], [1.0, 1.5, 1.0]))
    assert blocked.verdict == "no" and blocked.parts[1].holds is None
    unsettled = oq.OpenQuestions(
        CI, q.dims, make_result(oq.paths_sweep(CI), **_loss(oq.paths_sweep(CI), False)), q.control, q.push, q.recipe
    )
    assert oq.paths_finding(unsettled, _paths([1.0, 1.5, 1.0], [1.0, 1.0, 1.0])).parts[1].holds is None


def test_claim_3_holds_fails_and_cannot_be_tested():
    assert oq.robust_finding(_questions(push=(0.5, 0.5, 0.5, 0.5))).verdict == "agree"
    assert oq.robust_finding(_questions(push=(0.5, 0.0, 0.5, 0.0))).verdict == "partly"  # no better than the recipe
    assert oq.robust_finding(_questions(push=(0.0, 0.0, 0.0, 0.0))).parts[0].holds is False
    assert oq.robust_finding(_questions(push_loss_settled=False)).verdict == "not testable here"
    assert oq.robust_finding(_questions(recipe=(0.0, 0.0, 0.0, 0.0))).parts[0].holds is None


def test_the_answers_follow_the_numbers():
    q = _questions()
    assert oq.answers(q, _paths([1.0, 1.5, 1.0], [1.0, 1.0, 1.0]))["answer_2"].startswith("a barrier")
    assert oq.answers(q, _paths([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]))["answer_2"].startswith("a connected valley")
    assert oq.answers(q, _paths([1.0, 1.5, 1.0], [1.0, 1.5, 1.0]))["answer_2"].startswith("undecided")
    assert oq.answers(q, _paths([1.0, 1.0], [1.0, 1.0]))["answer_1"].startswith("d:")
    assert oq.answers(_questions(_dims(1, 1)), _paths([1.0, 1.0], [1.0, 1.0]))["answer_1"].startswith("still d + 1")
