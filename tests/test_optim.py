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


@pytest.mark.parametrize("eps", [1e-6, 1e-12])
def test_the_floor_under_the_second_moment_changes_no_bit(eps):
    # Exact zeros in the gradient (a neuron that never fires) leave exact zeros in v, which BatchedLamb floors
    # before the square root for speed; the steps must equal those without the floor bit for bit.
    gen = torch.Generator().manual_seed(5)
    p = torch.randn(2, 64, 32, generator=gen)
    p[:, 60:] *= 1e-6  # small weights, whose updates show a change of sqrt(v) ~ 1e-10 against eps
    floored = BatchedLamb([p.clone()], torch.tensor([0.01, 0.02]), eps=eps)
    plain = BatchedLamb([p.clone()], torch.tensor([0.01, 0.02]), eps=eps)
    assert (floored.floor > 0) == (eps >= 1e-10)
    plain.floor = 0.0
    for step in range(20):
        g = torch.randn(2, 64, 32, generator=gen)
        g[:, :40] = 0.0  # never fires
        g[1, 50] = 1e-20 if step < 10 else 0.0  # its square underflows
        g[:, 60:] *= 1e-8  # v ~ 1e-19: above the floor, and sqrt(v) ~ 3e-10 changes the update by ~3e-4
        for opt in (floored, plain):
            opt.step([g], lr_factor(step))
    assert torch.equal(floored.params[0], plain.params[0])
    assert not torch.equal(floored.params[0], p)


def test_a_per_instance_weight_clamp_equals_torch_optimizer_lamb_with_that_clamp():
    # the clamp binds: weights of norm ~20 (above both clamps) and ~2 (below both)
    clamps = (10.0, 4.0, 7.1)
    n = len(clamps)
    gen = torch.Generator().manual_seed(3)
    batched = [torch.randn(n, 20, 5, generator=gen), 0.1 * torch.randn(n, 20, 20, generator=gen)]
    singles = [[p[i].clone().requires_grad_(True) for p in batched] for i in range(n)]
    refs = [torch_optimizer.Lamb(params, lr=0.01, clamp_value=c) for params, c in zip(singles, clamps, strict=True)]
    opt = BatchedLamb(batched, torch.full((n,), 0.01), clamp_value=torch.tensor(clamps))
    for step in range(30):
        gen_g = torch.Generator().manual_seed(step)
        grads = [torch.randn(p.shape, generator=gen_g) for p in batched]
        opt.step(grads)
        for i, (params, ref) in enumerate(zip(singles, refs, strict=True)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g[i].clone()
            ref.step()
    for i, params in enumerate(singles):
        for p_batched, p_single in zip(batched, params, strict=True):
            torch.testing.assert_close(p_batched[i], p_single.detach(), rtol=1e-5, atol=1e-6)


def test_the_default_clamp_changes_no_bit_and_a_smaller_clamp_changes_the_step():
    gen = torch.Generator().manual_seed(4)
    p = 3 * torch.randn(3, 16, 8, generator=gen)  # norm ~34: the clamp at 10 binds
    grads = [[torch.randn(3, 16, 8, generator=gen)] for _ in range(5)]
    lr = torch.tensor([0.01, 0.02, 0.03])
    default, tensor_ten, smaller = (
        BatchedLamb([p.clone()], lr),
        BatchedLamb([p.clone()], lr, clamp_value=torch.full((3,), 10.0)),
        BatchedLamb([p.clone()], lr, clamp_value=torch.tensor([10.0, 7.0, 10.0])),
    )
    for g in grads:
        for opt in (default, tensor_ten, smaller):
            opt.step(g)
    assert torch.equal(default.params[0], tensor_ten.params[0])
    assert torch.equal(default.params[0][[0, 2]], smaller.params[0][[0, 2]])  # instances keep their own clamp
    moved_default = (default.params[0][1] - p[1]).norm()
    moved_smaller = (smaller.params[0][1] - p[1]).norm()
    assert abs(float(moved_smaller / moved_default) - 0.7) < 0.01  # a step of lr x clamp: 7 / 10 of the default's


@pytest.mark.parametrize("clamp", [0.0, -1.0, torch.tensor([1.0, 0.0])])
def test_invalid_weight_clamps_raise(clamp):
    with pytest.raises(ValueError, match="weight clamp"):
        BatchedLamb([torch.zeros(2, 3)], torch.tensor([0.1, 0.1]), clamp_value=clamp)
