"""The training loop: a sweep instance is the model trained alone, and the recipe's details hold."""

import pytest
import torch
from conftest import assert_same_run

from monosem import training
from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.training import mono_periods, mono_steps, rest_steps, snapshot_steps, train

CI = get_profile("ci")


def _alone(result, i, **kw):
    cfg = result.configs[i]
    return train(make_sweep("alone", cfg, seed=(cfg.seed,)), progress=False, **kw)


@pytest.mark.parametrize(
    "axes",
    [
        {"lr": (0.003, 0.01, 0.03)},
        {"init_bias": (0.0, -1.0), "bias_decay": (0.0, 0.03)},
        {"eps": (1 / 16, 1 / 64), "l1": (0.0, 0.01)},
        {"seed": (0, 1, 2)},
        {"weight_clamp": (10.0, 2.0)},
    ],
)
@pytest.mark.cpu_exact
def test_instance_of_a_sweep_equals_the_model_trained_alone(axes):
    sweep = make_sweep("S", CI.base(n_steps=300, lr=0.01), **axes)
    together = train(sweep, progress=False)
    for i in range(sweep.n_inst):
        alone = _alone(together, i)
        for name in ("W_in", "b_in", "W_out", "loss", "snap_mono"):
            assert_same_run(together[name][i], alone[name][0], name, sweep.configs[0].n_features)


@pytest.mark.cpu_exact
def test_the_weight_clamp_reaches_the_optimizer():
    # ci's W_in has norm ~6.5 at initialisation: a clamp of 2 binds, one of 10 does not (the default's model)
    result = train(make_sweep("C", CI.base(n_steps=32), weight_clamp=(10.0, 2.0)), progress=False)
    default = train(make_sweep("C", CI.base(n_steps=32), seed=(0,)), progress=False)
    assert_same_run(result["W_in"][0], default["W_in"][0], "W_in", CI.n_features)
    # far beyond either device's tolerance: a clamp that binds changes the model
    assert (result["W_in"][1] - default["W_in"][0]).norm() > 0.1 * default["W_in"][0].norm()


def test_bias_decay_acts_in_the_first_half_only():
    n_steps = 256
    sweep = make_sweep("D", CI.base(n_steps=n_steps, init_bias=-1.0), bias_decay=(0.0, 0.5))
    result = train(sweep, progress=False)
    snaps = result["snap_steps"].tolist()
    gap = (result["snap_bias"][1] - result["snap_bias"][0]).tolist()
    half = snaps.index(n_steps // 2)
    # decay pulls the bias towards zero, so the gap grows while it is on ...
    assert gap[half] > gap[half // 2] > 0.0
    # ... and stops growing by decay once it is off: what remains is the optimizer's doing, far smaller
    growth_on = gap[half] - gap[half - 1]
    growth_off = gap[-1] - gap[half]
    assert growth_on > 0.1 and abs(growth_off) < 0.25 * growth_on


def test_snapshot_steps():
    assert snapshot_steps(16) == [1, 2, 4, 8, 16]
    assert snapshot_steps(20) == [1, 2, 4, 8, 16, 20]


def test_rest_and_mono_steps():
    snaps = snapshot_steps(2**13)
    # the held-out loss half a period (2^9 steps) before every snapshot from 2^10 on: the bottom of the schedule
    assert rest_steps(snaps, 2**13) == [*snaps[:10], 2**9, 2**11 - 2**9, 2**12 - 2**9, 2**13 - 2**9]
    assert rest_steps(snaps[:12], 2**11) == [*snaps[:10], 2**9, 2**11 - 2**9]
    assert rest_steps(snaps[:11], 2**10) == snaps[:11]
    points = mono_steps(snaps, 2**13)
    assert points[:11] == [(s,) for s in snaps[:11]]
    for s, p, periods in zip(snaps[11:], points[11:], (1, 2, 4), strict=True):
        # eight evenly spaced points over each of the periods that end at the snapshot, the snapshot the last; up to
        # four periods, never reaching into the first half of the run up to the snapshot
        assert p == tuple(range(s - periods * 2**10 + 2**7, s + 1, 2**7))
        assert mono_periods(s, 2**13) == periods
    assert mono_steps([2**16], 2**16) == [tuple(range(2**16 - 4 * 2**10 + 2**7, 2**16 + 1, 2**7))]
    assert mono_steps(snaps[:11], 2**10) == [(s,) for s in snaps[:11]]


def test_snap_mono_is_the_mean_over_its_points(monkeypatch):
    # a stand-in r that makes the c-th evaluation count c monosemantic neurons, so every mean is known exactly
    calls = []

    def fake_r(model, proj, task):
        calls.append(len(calls))
        r = torch.zeros(model.n_inst, model.W_in.shape[-1])
        r[:, : len(calls) % (r.shape[1] + 1)] = 1.0
        return r

    monkeypatch.setattr(training, "model_monosemanticity", fake_r)
    n_steps = 2**12
    result = train(make_sweep("M", CI.base(n_steps=n_steps), seed=(0,)), progress=False)
    snaps = snapshot_steps(n_steps)
    evaluated = sorted({s for points in mono_steps(snaps, n_steps) for s in points} | set(snaps))
    count = {step: (c + 1) % (result.configs[0].d_hidden + 1) for c, step in enumerate(evaluated)}
    n_features = result.configs[0].n_features
    for j, points in enumerate(mono_steps(snaps, n_steps)):
        expected = sum(count[p] for p in points) / len(points) / n_features
        assert float(result["snap_mono"][0, j]) == pytest.approx(expected, rel=1e-6)
        # r and the bias stay the snapshot's own
        assert int(result["snap_r"][0, j].sum()) == count[snaps[j]]


def test_result_shapes_and_traces():
    result = train(make_sweep("LR1", CI.base(), lr=CI.lrs), progress=False)
    n, cfg = result.sweep.n_inst, result.configs[0]
    assert result["loss"].shape == (n, cfg.n_steps // 16)
    assert result["r"].shape == (n, cfg.d_hidden)
    assert result["W_in"].shape == (n, cfg.d_embed, cfg.d_hidden)
    assert torch.isfinite(result["loss"]).all()
    # the model learns: the loss falls from its start to below that of predicting zero (E|f|^2 = N eps / 3)
    assert (result["final_loss"] < 0.5 * result["loss"][:, 0]).all()
    assert float(result["final_loss"].min()) < cfg.n_features * cfg.eps / 3
    assert result.mono_per_feature().shape == (n,)


def _stop_at(monkeypatch, stop_step):
    """Make training stop (as a Ctrl-C would) when it reaches `stop_step`, once."""
    real = training.lr_factor
    stopped = []

    def lr_factor(step, *args):
        if step == stop_step and not stopped:
            stopped.append(step)
            raise KeyboardInterrupt
        return real(step, *args)

    monkeypatch.setattr(training, "lr_factor", lr_factor)


@pytest.mark.parametrize("axes", [{"lr": (0.003, 0.03)}, {"seed": (0, 1), "eps": (1 / 16, 1 / 64)}])
def test_a_stopped_sweep_resumes_from_its_checkpoint_bit_for_bit(tmp_path, monkeypatch, axes):
    sweep = make_sweep("R", CI.base(n_steps=2**11, lr=0.01), **axes)
    whole = train(sweep, progress=False)
    ckpt = tmp_path / "R.ckpt"
    _stop_at(monkeypatch, 1500)  # after the checkpoint at 2^10 and a snapshot-mean point, before the next
    with pytest.raises(KeyboardInterrupt):
        train(sweep, progress=False, checkpoint=ckpt, checkpoint_every=2**10)
    assert ckpt.exists()
    resumed = train(sweep, progress=False, checkpoint=ckpt, checkpoint_every=2**10)
    assert resumed.meta["resumed_at"] == 2**10 and not ckpt.exists()
    for name, value in whole.arrays.items():
        assert torch.equal(value, resumed[name]), name


def test_a_checkpoint_of_another_sweep_is_not_resumed(tmp_path, monkeypatch):
    ckpt = tmp_path / "S.ckpt"
    _stop_at(monkeypatch, 300)
    with pytest.raises(KeyboardInterrupt):
        train(make_sweep("S", CI.base(n_steps=512), lr=(0.01,)), progress=False, checkpoint=ckpt, checkpoint_every=256)
    other = make_sweep("S", CI.base(n_steps=512), lr=(0.02,))
    with pytest.warns(UserWarning, match="another sweep"):
        result = train(other, progress=False, checkpoint=ckpt, checkpoint_every=256)
    assert "resumed_at" not in result.meta
    assert torch.equal(result["W_in"], train(other, progress=False)["W_in"])
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="cannot read"):
        train(other, progress=False, checkpoint=ckpt)


def test_the_cache_trains_through_a_checkpoint_beside_the_result(tmp_path, monkeypatch):
    from monosem.cache import Cache

    cache = Cache(tmp_path)
    sweep = make_sweep("C", CI.base(n_steps=2 * training.CHECKPOINT_EVERY), lr=(0.01,))
    _stop_at(monkeypatch, training.CHECKPOINT_EVERY + 1)
    with pytest.raises(KeyboardInterrupt):
        cache.get_or_train(sweep, progress=False)
    assert cache.checkpoint_path(sweep).exists() and not cache.exists(sweep)
    result = cache.get_or_train(sweep, progress=False)
    assert result.meta["resumed_at"] == training.CHECKPOINT_EVERY
    assert cache.exists(sweep) and not cache.checkpoint_path(sweep).exists()


def test_the_moment_warmup_moves_no_weight_and_fills_the_moments():
    sweep = make_sweep("W", CI.base(n_steps=1, lr=0.03), seed=(0,))
    start = train(make_sweep("W", CI.base(n_steps=64, lr=0.03), seed=(0,)), progress=False).model()
    seen = {}
    real_step = training.BatchedLamb.step

    def step(self, grads, factor=1.0):
        seen.setdefault("first", (factor, [m.abs().sum().item() for m in self.exp_avg_sq]))
        if factor == 0.0:  # a warm-up step: the weights stay where they are
            before = [p.clone() for p in self.params]
            real_step(self, grads, factor)
            assert all(torch.equal(a, b) for a, b in zip(before, self.params, strict=True))
        else:
            seen.setdefault("trained", [m.abs().sum().item() for m in self.exp_avg_sq])
            real_step(self, grads, factor)

    training.BatchedLamb.step = step
    try:
        train(sweep, init=start, progress=False, moment_warmup=32)
    finally:
        training.BatchedLamb.step = real_step
    assert seen["first"][0] == 0.0 and all(v == 0 for v in seen["first"][1])
    assert all(v > 0 for v in seen["trained"])  # the first real step finds moments built up
    with pytest.raises(ValueError, match="moment_warmup"):
        train(sweep, init=start, progress=False, moment_warmup=-1)


def test_measurements_are_taken_in_full_precision_whatever_the_steps_use(monkeypatch):
    # with TF32 asked for (it has no effect on a CPU, but the flag is set as on CUDA), the steps see it on and every
    # measurement (r_i, # mono / # features, held-out loss) sees it off, so that a snapshot counts as the final
    # weights' r (recomputed in float32) does; the flag is restored afterwards
    seen = {"step": set(), "r": set(), "heldout": set()}

    def spy(name, real):
        def wrapped(*args, **kwargs):
            seen[name].add(torch.backends.cuda.matmul.allow_tf32)
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(training, "model_monosemanticity", spy("r", training.model_monosemanticity))
    monkeypatch.setattr(training, "heldout_loss", spy("heldout", training.heldout_loss))
    monkeypatch.setattr(training.ToyModel, "loss_and_grads", spy("step", training.ToyModel.loss_and_grads))
    before = torch.backends.cuda.matmul.allow_tf32
    train(make_sweep("P", CI.base(n_steps=2**12), seed=(0,)), device="cpu", tf32=True, progress=False)
    assert seen == {"step": {True}, "r": {False}, "heldout": {False}}
    assert torch.backends.cuda.matmul.allow_tf32 == before


def test_recorded_periods_are_each_periods_mean_and_change_nothing_else():
    sweep = make_sweep("P", CI.base(n_steps=2**12), lr=(0.005, 0.03))
    plain = train(sweep, progress=False)
    with_periods = train(sweep, progress=False, record_periods=True)
    for name, value in plain.arrays.items():
        assert torch.equal(value, with_periods.arrays[name]), name  # the run itself is untouched
    assert plain.period_mono is None and with_periods["period_mono"].shape == (2, 4)
    # the held-out loss at rest of period q (ending at 1024 (q + 1)) is the snapshot's that ends with it
    snaps = with_periods.snap_steps.tolist()
    for end in (2048, 4096):
        j = snaps.index(end)
        assert torch.equal(with_periods["period_heldout"][:, end // 1024 - 1], with_periods["snap_heldout"][:, j])
    # a snapshot's # mono / # features over 1, 2, 4 periods (`mono_steps`) is the mean of those periods' means
    for end, periods in ((2048, 1), (4096, 2)):
        j = snaps.index(end)
        mean = with_periods["period_mono"][:, end // 1024 - periods : end // 1024].mean(1)
        torch.testing.assert_close(with_periods["snap_mono"][:, j], mean)
