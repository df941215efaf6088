"""Configurations fail early, naming the field, and sweeps flatten grids in a fixed order."""

import math

import pytest

from monosem.config import SHAPE_FIELDS, ModelConfig, make_sweep
from monosem.profiles import get_profile


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lr": -0.01}, "lr"),
        ({"lr": 0.0}, "lr"),
        ({"lr": math.nan}, "lr"),
        ({"eps": 1.5}, "eps"),
        ({"eps": 0.0}, "eps"),
        ({"task": "classify"}, "task"),
        ({"activation": "tanh"}, "activation"),
        ({"freq": "zipf"}, "freq"),
        ({"d_embed": 1024}, "d_embed"),
        ({"n_features": 10.5}, "n_features"),
        ({"batch_size": True}, "batch_size"),
        ({"n_steps": 0}, "n_steps"),
        ({"bias_decay": -1.0}, "bias_decay"),
        ({"bias_decay": 300.0}, "bias_decay"),
        ({"l1": -0.1}, "l1"),
        ({"init_bias": math.inf}, "init_bias"),
        ({"seed": -1}, "seed"),
        ({"weight_clamp": 0.0}, "weight_clamp"),
        ({"weight_clamp": math.nan}, "weight_clamp"),
    ],
)
def test_invalid_values_raise_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**changes)


def test_replace_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown configuration field 'learning_rate'"):
        ModelConfig().replace(learning_rate=0.1)


def test_sweep_grid_is_row_major():
    sweep = make_sweep("G", ModelConfig(), lr=(0.1, 0.2), init_bias=(0.0, -1.0, -2.0))
    assert sweep.n_inst == 6
    assert [(c.lr, c.init_bias) for c in sweep.configs] == [
        (0.1, 0.0),
        (0.1, -1.0),
        (0.1, -2.0),
        (0.2, 0.0),
        (0.2, -1.0),
        (0.2, -2.0),
    ]


@pytest.mark.parametrize("field", SHAPE_FIELDS)
def test_shape_fields_cannot_be_swept(field):
    value = {"task": ("abs",), "activation": ("gelu",)}.get(field, (8,))
    with pytest.raises(ValueError, match="cannot sweep"):
        make_sweep("S", ModelConfig(), **{field: value})


def test_bad_axes_raise():
    with pytest.raises(ValueError, match="repeats"):
        make_sweep("S", ModelConfig(), lr=(0.1, 0.1))
    with pytest.raises(ValueError, match="no values"):
        make_sweep("S", ModelConfig(), lr=())
    with pytest.raises(ValueError, match="lr must be > 0"):
        make_sweep("S", ModelConfig(), lr=(0.1, -0.1))
    with pytest.raises(ValueError, match="sweep name"):
        make_sweep("a/b", ModelConfig(), lr=(0.1,))


def test_key_depends_on_every_config_field_and_the_version():
    base = make_sweep("K", ModelConfig(), lr=(0.1, 0.2))
    assert base.key("1") == make_sweep("K", ModelConfig(), lr=(0.1, 0.2)).key("1")
    assert base.key("1") != base.key("2")
    assert base.key("1") != make_sweep("K", ModelConfig(), lr=(0.2, 0.1)).key("1")
    for field, value in [("seed", 1), ("eps", 0.5), ("l1", 0.1), ("n_steps", 7), ("init_bias", -0.5)]:
        assert base.key("1") != make_sweep("K", ModelConfig().replace(**{field: value}), lr=(0.1, 0.2)).key("1")
    # a field added later changes the key only away from its default (the caches from before it stay valid)
    assert "weight_clamp" not in ModelConfig().to_dict()
    assert ModelConfig(weight_clamp=7.0).to_dict()["weight_clamp"] == 7
    assert base.key("1") != make_sweep("K", ModelConfig(weight_clamp=7.0), lr=(0.1, 0.2)).key("1")


def test_fields_that_change_together_are_one_axis():
    base = get_profile("ci").base()
    rows = ((0.0, 0.0, "uniform"), (-1.0, 0.03, "uniform"), (-1.0, 0.03, "power"))
    sweep = make_sweep("K", base, **{"init_bias,bias_decay,freq": rows}, lr=(0.003, 0.01))
    assert [(c.init_bias, c.bias_decay, c.freq, c.lr) for c in sweep.configs][:3] == [
        (0.0, 0.0, "uniform", 0.003),
        (0.0, 0.0, "uniform", 0.01),
        (-1.0, 0.03, "uniform", 0.003),
    ]
    assert sweep.n_inst == 6 and sweep.with_seeds(2).n_inst == 12
    with pytest.raises(ValueError, match="tuple of 2"):
        make_sweep("K", base, **{"init_bias,bias_decay": (0.0, -1.0)})
    with pytest.raises(ValueError, match="d_hidden"):
        make_sweep("K", base, **{"init_bias,d_hidden": ((0.0, 8),)})
    with pytest.raises(ValueError, match="unknown configuration field 'bias'"):
        make_sweep("K", base, **{"init_bias,bias": ((0.0, 8),)})
