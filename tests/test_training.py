"""The training loop: a sweep instance is the model trained alone, and the recipe's details hold."""

import pytest
import torch

from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.training import snapshot_steps, train

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
def test_instance_of_a_sweep_equals_the_model_trained_alone(axes):
    sweep = make_sweep("S", CI.base(n_steps=300, lr=0.01), **axes)
    together = train(sweep, progress=False)
    for i in range(sweep.n_inst):
        alone = _alone(together, i)
        for name in ("W_in", "b_in", "W_out", "loss", "snap_mono"):
            torch.testing.assert_close(together[name][i], alone[name][0], rtol=1e-5, atol=1e-6, msg=name)


def test_the_weight_clamp_reaches_the_optimizer():
    # ci's W_in has norm ~6.5 at initialisation: a clamp of 2 binds, one of 10 does not (the default's model)
    result = train(make_sweep("C", CI.base(n_steps=32), weight_clamp=(10.0, 2.0)), progress=False)
    default = train(make_sweep("C", CI.base(n_steps=32), seed=(0,)), progress=False)
    torch.testing.assert_close(result["W_in"][0], default["W_in"][0], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(result["W_in"][1], default["W_in"][0], rtol=1e-3, atol=1e-4)


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
