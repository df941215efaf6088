"""The batched model: initialisation, and the hand-written backward against autograd."""

import math

import pytest
import torch

from monosem.config import ModelConfig
from monosem.model import ACTIVATION_FNS, ToyModel

N_INST, BATCH, D, K, N = 3, 16, 5, 12, 20


def _model(activation: str) -> ToyModel:
    gen = torch.Generator().manual_seed(0)
    w_in = torch.randn(N_INST, D, K, generator=gen, dtype=torch.float64) / 2
    b_in = torch.randn(N_INST, K, generator=gen, dtype=torch.float64) / 3
    w_out = torch.randn(N_INST, K, N, generator=gen, dtype=torch.float64) / 3
    return ToyModel(w_in, b_in, w_out, activation)


def _autograd(model: ToyModel, x, target, l1):
    params = [p.clone().requires_grad_(True) for p in model.params]
    ref = ToyModel(*params, model.activation)
    h, y = ref.forward(x)
    loss = (y - target).pow(2).sum(-1).mean(-1)
    total = loss if l1 is None else loss + l1 * h.abs().sum(-1).mean(-1)
    total.sum().backward()
    return loss.detach(), [p.grad for p in params]


@pytest.mark.parametrize("activation", sorted(ACTIVATION_FNS))
@pytest.mark.parametrize("with_l1", [False, True])
@pytest.mark.parametrize("shared_x", [False, True])
def test_hand_written_gradients_equal_autograd(activation, with_l1, shared_x):
    model = _model(activation)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1 if shared_x else N_INST, BATCH, D, generator=gen, dtype=torch.float64)
    target = torch.rand(N_INST, BATCH, N, generator=gen, dtype=torch.float64)
    l1 = torch.tensor([0.0, 0.01, 0.3], dtype=torch.float64) if with_l1 else None
    loss, grads = model.loss_and_grads(x, target, l1)
    ref_loss, ref_grads = _autograd(model, x, target, l1)
    torch.testing.assert_close(loss, ref_loss)
    for g, ref in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, ref, rtol=1e-9, atol=1e-12)


def test_loss_is_skipped_when_not_asked_for():
    model = _model("relu")
    x = torch.randn(1, BATCH, D, dtype=torch.float64)
    loss, grads = model.loss_and_grads(x, torch.zeros(N_INST, BATCH, N, dtype=torch.float64), with_loss=False)
    assert loss is None and len(grads) == 3


def test_init_follows_nn_linear_and_adds_the_bias_offset():
    cfg = ModelConfig(n_features=64, d_embed=16, d_hidden=4096, init_bias=-1.0, batch_size=8, n_steps=1)
    model = ToyModel.init((cfg,))
    bound_in, bound_out = 1 / math.sqrt(16), 1 / math.sqrt(4096)
    assert model.W_in.shape == (1, 16, 4096) and model.W_out.shape == (1, 4096, 64)
    assert model.W_in.abs().max() <= bound_in and model.W_in.abs().max() > 0.9 * bound_in
    assert model.W_out.abs().max() <= bound_out
    assert (model.b_in + 1.0).abs().max() <= bound_in
    assert abs(float(model.b_in.mean()) + 1.0) < 0.01


def test_init_of_an_instance_does_not_depend_on_its_neighbours():
    cfg = ModelConfig(n_features=32, d_embed=8, d_hidden=16, batch_size=8, n_steps=1, seed=3)
    alone = ToyModel.init((cfg,))
    together = ToyModel.init((cfg.replace(seed=0), cfg, cfg.replace(seed=7, init_bias=-1.0)))
    for a, t in zip(alone.params, together.params, strict=True):
        torch.testing.assert_close(a[0], t[1], rtol=0, atol=0)
    assert not torch.equal(together.W_in[0], together.W_in[1])
