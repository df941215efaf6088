"""The sparse (masked) model of Section 4.1.4: its configuration leaves every existing cache key alone, its mask is
fixed per seed with exactly the target number of weights, its backward matches autograd, a missing weight stays
exactly zero through training, density 1 is the dense model bit for bit, and a sweep instance is the model alone."""

import dataclasses
import hashlib
import json

import pytest
import torch
from conftest import TRAIN_DEVICE, assert_same_run

from monosem.config import ModelConfig, make_sweep
from monosem.model import ToyModel, connectivity, erdos_renyi_mask
from monosem.profiles import get_profile
from monosem.training import train

CI = get_profile("ci")
# The fields of ModelConfig before weight_density was added: the dict (and so the cache key) of every configuration
# trained before it.
OLD_FIELDS = (
    "n_features", "d_embed", "d_hidden", "task", "activation", "freq", "eps", "lr", "bias_decay", "init_bias", "l1",
    "batch_size", "n_steps", "seed",
)  # fmt: skip


def test_a_default_config_dict_has_exactly_the_old_fields_and_the_old_key():
    cfg = CI.base(lr=0.007, init_bias=-1.0)
    assert tuple(cfg.to_dict()) == OLD_FIELDS
    old = {name: getattr(cfg, name) for name in OLD_FIELDS}
    payload = {"version": "v", "configs": [old]}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=repr)
    assert make_sweep("S", cfg, seed=(0,)).key("v") == hashlib.sha256(blob.encode()).hexdigest()


def test_a_sparse_config_has_its_density_in_the_dict_and_the_key():
    cfg = CI.base()
    sparse = cfg.replace(weight_density=0.5)
    assert sparse.to_dict()["weight_density"] == 0.5
    assert make_sweep("S", sparse, seed=(0,)).key("v") != make_sweep("S", cfg, seed=(0,)).key("v")
    later = {"weight_density", "weight_clamp", "out_bias", "bias_push"}  # out_bias, bias_push: chapter 10
    assert {f.name for f in dataclasses.fields(ModelConfig)} == {*OLD_FIELDS, *later}


@pytest.mark.parametrize("density", [0.0, -0.5, 1.5, float("nan")])
def test_invalid_density_raises_naming_the_field(density):
    with pytest.raises(ValueError, match="weight_density"):
        ModelConfig(weight_density=density)


@pytest.mark.parametrize("density", [0.5, 0.25, 0.1, 1 / 3])
def test_the_mask_has_exactly_the_target_number_of_weights(density):
    cfg = CI.base(weight_density=density)
    mask_in, mask_out = connectivity(cfg)
    d, k, n = cfg.d_embed, cfg.d_hidden, cfg.n_features
    assert mask_in.shape == (d, k) and mask_out.shape == (k, n)
    assert int(mask_in.sum()) == round(density * d * k) and int(mask_out.sum()) == round(density * k * n)
    assert set(mask_in.unique().tolist()) == {0.0, 1.0}


def test_the_mask_is_fixed_by_the_seed():
    a, b = connectivity(CI.base(weight_density=0.5, seed=3)), connectivity(CI.base(weight_density=0.5, seed=3))
    other = connectivity(CI.base(weight_density=0.5, seed=4))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not any(torch.equal(x, y) for x, y in zip(a, other, strict=True))
    # the two layers are drawn independently, and a mask does not depend on the other instances of a sweep
    gen = torch.Generator().manual_seed(0)
    assert not torch.equal(erdos_renyi_mask((8, 8), 0.5, gen), erdos_renyi_mask((8, 8), 0.5, gen))
    cfg = CI.base(weight_density=0.5, seed=3)
    together = ToyModel.init((cfg.replace(seed=0), cfg, cfg.replace(weight_density=1.0)))
    torch.testing.assert_close(together.masks[0][1], a[0], rtol=0, atol=0)
    assert bool((together.masks[0][2] == 1).all()) and bool((together.masks[1][2] == 1).all())


def test_a_dense_sweep_has_no_mask_and_a_sparse_one_starts_masked():
    assert ToyModel.init((CI.base(),)).masks is None
    model = ToyModel.init((CI.base(weight_density=0.25),))
    mask_in, mask_out = model.masks
    assert bool((model.W_in[mask_in == 0] == 0).all()) and bool((model.W_out[mask_out == 0] == 0).all())
    assert bool((model.W_in[mask_in == 1] != 0).all())


def test_masked_gradients_equal_autograd_through_the_masked_weights():
    gen = torch.Generator().manual_seed(0)
    n, batch, d, k, n_out = 2, 16, 5, 12, 20
    masks = tuple((torch.rand(n, *s, generator=gen) < 0.4).double() for s in ((d, k), (k, n_out)))
    w_in = torch.randn(n, d, k, generator=gen, dtype=torch.float64) * masks[0]
    w_out = torch.randn(n, k, n_out, generator=gen, dtype=torch.float64) * masks[1]
    b_in = torch.randn(n, k, generator=gen, dtype=torch.float64) / 3
    x = torch.randn(1, batch, d, generator=gen, dtype=torch.float64)
    target = torch.rand(n, batch, n_out, generator=gen, dtype=torch.float64)
    loss, grads = ToyModel(w_in, b_in, w_out, "relu", masks).loss_and_grads(x, target)

    params = [p.clone().requires_grad_(True) for p in (w_in, b_in, w_out)]
    h = torch.relu(torch.baddbmm(params[1][:, None, :], x.expand(n, -1, -1), params[0] * masks[0]))
    ref_loss = (torch.bmm(h, params[2] * masks[1]) - target).pow(2).sum(-1).mean(-1)
    ref_loss.sum().backward()
    torch.testing.assert_close(loss, ref_loss.detach())
    for g, p in zip(grads, params, strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-9, atol=1e-12)
    assert bool((grads[0][masks[0] == 0] == 0).all()) and bool((grads[2][masks[1] == 0] == 0).all())


def _base(**changes):
    return CI.base(n_steps=64, d_hidden=64, lr=0.01, init_bias=-1.0, bias_decay=0.03, **changes)


def test_missing_weights_are_exactly_zero_after_training():
    result = train(make_sweep("M", _base(), weight_density=(0.5, 0.25)), progress=False)
    for i, cfg in enumerate(result.configs):
        mask_in, mask_out = connectivity(cfg)
        assert bool((result["W_in"][i][mask_in == 0] == 0).all()), cfg.weight_density
        assert bool((result["W_out"][i][mask_out == 0] == 0).all()), cfg.weight_density
        # the existing weights did train
        assert int((result["W_in"][i] != 0).sum()) == int(mask_in.sum())
    assert torch.isfinite(result["loss"]).all()


@pytest.mark.cpu_exact
def test_density_one_beside_a_sparse_instance_is_the_dense_model_bit_for_bit():
    together = train(make_sweep("M", _base(), weight_density=(1.0, 0.5)), progress=False)
    dense = train(make_sweep("D", _base(), seed=(0,)), progress=False)
    for name in ("W_in", "b_in", "W_out", "loss", "r", "snap_mono"):
        if TRAIN_DEVICE.type == "cpu":
            assert torch.equal(together[name][0], dense[name][0]), name
        else:  # a product of two instances and one of one: cuBLAS may sum in another order (conftest)
            assert_same_run(together[name][0], dense[name][0], name, _base().n_features)


@pytest.mark.cpu_exact
def test_a_sparse_instance_of_a_sweep_equals_the_model_trained_alone():
    together = train(make_sweep("S", _base(weight_density=0.5), seed=(0, 1)), progress=False)
    for i, cfg in enumerate(together.configs):
        alone = train(make_sweep("A", cfg, seed=(cfg.seed,)), progress=False)
        for name in ("W_in", "b_in", "W_out", "loss"):
            assert_same_run(together[name][i], alone[name][0], name, cfg.n_features)
