"""Features, the fixed projection and the three tasks."""

import torch

from monosem import data
from monosem.config import ModelConfig
from monosem.data import DataStream, feature_probs, random_projection
from monosem.numerics import numerics

# k > N / 4: the dense stream (`data.sparse_step`; tests/test_sparse_step.py checks the sparse one against it)
SMALL = dict(n_features=64, d_embed=8, d_hidden=32, batch_size=4096, n_steps=1)


def test_projection_has_unit_norm_feature_directions():
    proj = random_projection(64, 8, torch.Generator().manual_seed(0))
    assert proj.shape == (8, 64)
    torch.testing.assert_close(proj.norm(dim=0), torch.ones(64))
    again = random_projection(64, 8, torch.Generator().manual_seed(0))
    assert torch.equal(proj, again)
    assert not torch.equal(proj, random_projection(64, 8, torch.Generator().manual_seed(1)))


def test_feature_probabilities():
    uniform = feature_probs(ModelConfig(**SMALL, eps=1 / 16))
    assert torch.all(uniform == 1 / 16)
    power = feature_probs(ModelConfig(**SMALL, eps=1 / 64, freq="power"))
    assert torch.all(power[1:] < power[:-1])
    assert abs(float(power.sum()) - 64 / 64) < 1e-9  # no clipping at this density: sum = N eps
    ratio = float(power[0] / power[1])
    assert abs(ratio - 2**1.1) < 1e-9
    dense = feature_probs(ModelConfig(**SMALL, eps=0.5, freq="power"))
    assert float(dense.max()) == 1.0 and float(dense.sum()) < 64 * 0.5  # clipped, not renormalised


def test_sampled_decoder_data_has_the_right_density_and_range():
    cfg = ModelConfig(**SMALL, eps=1 / 16)
    stream = DataStream.for_configs((cfg,), "cpu")
    x, target = stream.sample()
    assert x.shape == (1, 4096, 8) and target.shape == (1, 4096, 64)
    density = float((target > 0).float().mean())
    assert abs(density - 1 / 16) < 0.005  # 262144 draws: the standard error is 0.0005
    present = target[target > 0]
    assert float(present.max()) < 1 and abs(float(present.mean()) - 0.5) < 0.02
    torch.testing.assert_close(x, target @ stream.proj.transpose(1, 2))


def test_abs_task_samples_differences_at_half_density():
    cfg = ModelConfig(**SMALL, eps=1 / 16, task="abs")
    x, target = DataStream.for_configs((cfg,), "cpu").sample()
    assert float(target.min()) >= 0 and float(target.max()) <= 1
    assert abs(float((target > 0).float().mean()) - 1 / 16) < 0.005


def test_reprojector_targets_live_in_d_dimensions():
    cfg = ModelConfig(**SMALL, task="reprojector")
    stream = DataStream.for_configs((cfg,), "cpu")
    x, target = stream.sample()
    assert target.shape == (1, 4096, 8)
    assert not torch.allclose(stream.proj, stream.out_proj)


def test_instances_see_the_data_they_would_see_alone():
    a = ModelConfig(**SMALL, eps=1 / 16, seed=1)
    b = a.replace(eps=1 / 64)
    c = a.replace(seed=2, freq="power")
    together = DataStream.for_configs((a, b, c), "cpu")
    assert not together.shared
    x, t = together.sample()
    for i, cfg in enumerate((a, b, c)):
        alone = DataStream.for_configs((cfg,), "cpu")
        assert alone.shared
        xa, ta = alone.sample()
        torch.testing.assert_close(t[i], ta[0])
        torch.testing.assert_close(x[i], xa[0])


def test_the_draw_equals_thresholding_with_where_bit_for_bit():
    # The draw avoids torch.where for speed; it must give exactly where(u < p, u / p, 0), at every density the
    # profiles use (the power law's smallest and a clipped 1), under the training's flushed denormals.
    cfgs = (ModelConfig(**SMALL, eps=2**-10, freq="power"), ModelConfig(**SMALL, eps=0.5, freq="power"))
    stream = DataStream.for_configs(cfgs, "cpu")
    probs = stream.probs
    assert float(probs.max()) == 1.0 and float(probs.min()) < 1e-3
    with numerics(torch.device("cpu"), tf32=False):
        f = stream._draw(torch.Generator().manual_seed(3), probs)
        u = torch.rand(SMALL["batch_size"], 64, generator=torch.Generator().manual_seed(3))
        expected = torch.where(u < probs[:, None, :], u / probs[:, None, :], 0.0)
    assert torch.equal(f.view(torch.int32), expected.view(torch.int32))  # the bits, zeros' signs included
    assert 0 < float((f > 0).float().mean()) < 1


def test_both_forms_of_the_draw_are_where_bit_for_bit_at_the_threshold():
    # the CPU's form and the GPU's (fewer passes over the features) against where(u < p, u / p, 0), on uniform
    # draws and on u one float below, at and one float above p, where a rounded u / p could cross 1
    gen = torch.Generator().manual_seed(0)
    p = torch.rand(2**16, generator=gen).clamp_min(1e-7)
    p[:4] = torch.tensor([1.0, 0.5, 2**-10, 2**-20])  # powers of two: the float below them is closest
    for u in (torch.rand(2**16, generator=gen), p, torch.nextafter(p, torch.zeros_like(p)), torch.nextafter(p, 2 * p)):
        expected = torch.where(u < p, u / p, 0.0).view(torch.int32)
        for form in (data._float_only, data._fewer_passes):
            assert torch.equal(form(u.clone(), p).view(torch.int32), expected), form.__name__
    assert data.threshold_draw(u, p).device.type == "cpu"
