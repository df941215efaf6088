"""The batched LAMB against torch_optimizer.Lamb, and the learning-rate schedule against PyTorch's."""

import pytest
import torch
import torch_optimizer

from monosem.optim import T_MAX, BatchedLamb, lr_factor

LRS = (0.001, 0.01, 0.05)
SHAPES = [(4, 3), (4,), (5, 4)]


def _grads(step: int, n: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1000 + step)
    return [torch.randn(n, *shape, generator=gen) * (0.1 + step % 3) for shape in SHAPES]


def test_batched_lamb_equals_torch_optimizer_lamb_per_instance():
    n = len(LRS)
    gen = torch.Generator().manual_seed(0)
    batched = [torch.randn(n, *shape, generator=gen) for shape in SHAPES]
    batched[1][1] = 0.0  # a zero weight tensor: the trust ratio falls back to 1
    singles = [[p[i].clone().requires_grad_(True) for p in batched] for i in range(n)]
    refs = [torch_optimizer.Lamb(params, lr=lr) for params, lr in zip(singles, LRS, strict=True)]
    opt = BatchedLamb(batched, torch.tensor(LRS))
    for step in range(100):
        factor = lr_factor(step)
        grads = _grads(step, n)
        opt.step(grads, factor)
        for i, (params, ref) in enumerate(zip(singles, refs, strict=True)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g[i].clone()
            for group in ref.param_groups:
                group["lr"] = LRS[i] * factor
            ref.step()
    for i, params in enumerate(singles):
        for p_batched, p_single in zip(batched, params, strict=True):
            err = (p_batched[i] - p_single.detach()).norm() / p_single.detach().norm().clamp(min=1e-12)
            assert err <= 1e-5, (i, float(err))


def test_instances_do_not_share_a_trust_ratio():
    # one instance with huge weights must not change the update of another
    small = [torch.ones(2, 3)]
    alone = [torch.ones(1, 3)]
    small[0][1] *= 1000.0
    g = torch.full((2, 3), 0.5)
    BatchedLamb(small, torch.tensor([0.1, 0.1])).step([g])
    BatchedLamb(alone, torch.tensor([0.1])).step([g[:1]])
    torch.testing.assert_close(small[0][:1], alone[0])


@pytest.mark.parametrize("lr", [torch.tensor([0.1, -0.1]), torch.tensor([0.1, 0.0]), torch.tensor([0.1, 0.2, 0.3])])
def test_invalid_learning_rates_raise(lr):
    with pytest.raises(ValueError, match="lr|learning rate"):
        BatchedLamb([torch.zeros(2, 3)], lr)


def test_schedule_equals_cosine_annealing_stepped_every_step_and_never_reset():
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T_MAX, eta_min=0)
    for step in range(3 * 2 * T_MAX):
        assert abs(opt.param_groups[0]["lr"] - lr_factor(step)) < 1e-6, step
        opt.step()
        sched.step()


def test_schedule_is_periodic():
    assert lr_factor(0) == 1.0
    assert abs(lr_factor(T_MAX)) < 1e-12
    assert abs(lr_factor(2 * T_MAX) - 1.0) < 1e-12
    assert all(abs(lr_factor(s) - lr_factor(s + 2 * T_MAX)) < 1e-12 for s in range(0, 2 * T_MAX, 37))
