"""The sparse decoder step (`data.SparseFeatures`, `ToyModel._sparse_decoder`): the dense step's features bit for
bit, its loss and gradients to float32 rounding, chosen where it pays (`data.sparse_step`)."""

import dataclasses

import pytest
import torch

from monosem import cost, data, training
from monosem.config import make_sweep
from monosem.model import ACTIVATION_FNS, ToyModel
from monosem.profiles import get_profile

CI = get_profile("ci")
# k <= N / 4, one seed: the sparse step
SMALL = dict(n_features=64, d_embed=8, d_hidden=16, batch_size=128)


def _sweep(**axes):
    return make_sweep("K", CI.base(**SMALL), **axes)


def _twin_streams(sweep) -> tuple[data.DataStream, data.DataStream]:
    """The sweep's stream dense and sparse, from generators in the same state."""
    stream = data.DataStream.for_configs(sweep.configs, "cpu")
    fresh = [(torch.Generator().manual_seed(7), i, p) for _, i, p in stream.groups]
    again = [(torch.Generator().manual_seed(7), i, p) for _, i, p in stream.groups]
    return dataclasses.replace(stream, groups=fresh, sparse=False), dataclasses.replace(stream, groups=again)


@pytest.mark.parametrize("freq", [("uniform",), ("uniform", "power")])
def test_sparse_features_are_the_dense_draws_bit_for_bit(freq):
    sweep = _sweep(lr=(0.003, 0.01), freq=freq)
    dense, sparse = _twin_streams(sweep)
    assert sparse.sparse and not dense.sparse
    (x_d, f_d), (x_s, f_s) = dense.sample(), sparse.sample()
    assert isinstance(f_s, data.SparseFeatures) and f_s.n_streams == (1 if len(freq) == 1 else sweep.n_inst)
    assert torch.equal(f_s.dense(), f_d)  # (1, B, N) for one stream, (n, B, N) for one per instance
    assert torch.equal(f_s.f_t.to_dense(), f_s.f.to_dense().T)
    assert torch.allclose(f_s.sq_sum, f_d.square().sum((1, 2)), rtol=1e-6)
    assert torch.allclose(x_s, x_d, atol=1e-6)
    # the held-out set is drawn densely, whatever the step
    (_, h_d), (_, h_s) = next(dense.heldout(256, 128)), next(sparse.heldout(256, 128))
    assert torch.equal(h_d, h_s)


@pytest.mark.parametrize("activation", sorted(ACTIVATION_FNS))
@pytest.mark.parametrize("freq", [("uniform",), ("uniform", "power")])
def test_the_sparse_step_is_the_dense_step_to_rounding(activation, freq):
    sweep = make_sweep("K", CI.base(**SMALL, activation=activation, weight_density=0.5), lr=(0.003, 0.01), freq=freq)
    model = ToyModel.init(sweep.configs, "cpu")
    dense, sparse = _twin_streams(sweep)
    (x, f_d), (_, f_s) = dense.sample(), sparse.sample()
    l1, push = torch.full((sweep.n_inst,), 0.01), torch.full((sweep.n_inst,), 0.001)
    loss_d, grads_d = model.loss_and_grads(x, f_d, l1, bias_push=push)
    loss_s, grads_s = model.loss_and_grads(x, f_s, l1, bias_push=push)
    assert torch.allclose(loss_s, loss_d, rtol=1e-5)
    for g_s, g_d in zip(grads_s, grads_d, strict=True):
        assert torch.allclose(g_s, g_d, rtol=1e-4, atol=1e-5 * g_d.abs().max())
    assert model.loss_and_grads(x, f_s, with_loss=False)[0] is None


def test_the_sparse_step_refuses_an_output_bias():
    sweep = make_sweep("K", CI.base(**SMALL, out_bias=True), lr=(0.003,))
    assert not data.sparse_step(sweep.configs)
    _, sparse = _twin_streams(_sweep(lr=(0.003,)))
    with pytest.raises(ValueError, match="no output bias"):
        ToyModel.init(sweep.configs, "cpu").loss_and_grads(*sparse.sample())


def test_the_sparse_step_is_taken_by_decoders_of_one_seed_and_small_k():
    assert data.sparse_step(_sweep(lr=(0.003, 0.01), freq=("uniform", "power")).configs)
    assert not data.sparse_step(_sweep(lr=(0.003,), seed=(0, 1)).configs)  # two streams of draws
    assert not data.sparse_step(make_sweep("K", CI.base(**{**SMALL, "d_hidden": 17}), lr=(0.003,)).configs)
    assert not data.sparse_step(make_sweep("A", CI.base(**SMALL, task="abs"), lr=(0.003,)).configs)
    paper = get_profile("paper")
    from monosem.chapters.width import train as width

    taken = [s.name for s in width.sweeps(paper) if data.sparse_step(s.configs)]
    assert taken == ["K_k16", "K_k32", "K_k64", "K_k128"]


def test_a_run_with_the_sparse_step_follows_the_dense_run(monkeypatch):
    sweep = make_sweep("K", CI.base(**SMALL, n_steps=64), lr=(0.003, 0.03))
    sparse = training.train(sweep, device="cpu", progress=False)
    monkeypatch.setattr(data, "sparse_step", lambda configs: False)
    dense = training.train(sweep, device="cpu", progress=False)
    assert sparse.meta["sparse_step"] and not dense.meta["sparse_step"]
    assert torch.allclose(sparse.snap_heldout, dense.snap_heldout, rtol=1e-3)
    assert torch.allclose(sparse.W_out, dense.W_out, atol=1e-3)


def test_the_cost_model_counts_the_sparse_steps_bytes():
    from monosem.chapters.width import train as width

    k16 = next(s for s in width.sweeps(get_profile("paper")) if s.name == "K_k16")
    dense_bytes = sum(op.bytes for op in cost.step_ops(k16.configs, sparse=False))
    sparse_bytes = sum(op.bytes for op in cost.step_ops(k16.configs))
    assert sparse_bytes < dense_bytes / 4
    h100 = cost.H100_SXM
    assert cost.step_seconds(k16.configs, h100) < cost.step_seconds(k16.configs, h100, sparse=False)
    assert cost.step_ops(k16.configs, train=False) == cost.step_ops(k16.configs, train=False, sparse=False)


def test_bench_sparse_times_both_steps_side_by_side(capsys):
    from monosem.bench import sparse_decoder

    ratios = sparse_decoder(CI, [_sweep(lr=(0.003,)), make_sweep("LR1", CI.base(), lr=(0.003,))], "cpu", 1, 1)
    assert list(ratios) == ["K"] and ratios["K"] > 0
    assert "the cost model predicts" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--batch must be"):
        sparse_decoder(CI, [], "cpu", batch_size=-1)
