"""Configurations: one model (`ModelConfig`) and one sweep of them (`Sweep`).

Field names follow the paper's Table 1: N features (`n_features`), embedding dimension d (`d_embed`),
k hidden neurons (`d_hidden`), feature density eps (`eps`), learning rate, bias decay, initial mean bias
and L1 strength. Configurations are frozen and validated at construction, so a bad value fails with a
message naming the field before any training starts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

TASKS = ("decoder", "reprojector", "abs")
ACTIVATIONS = ("relu", "gelu", "solu")
FREQUENCIES = ("uniform", "power")

# Fields every instance of one batched model must share: they fix tensor shapes, the parameters or the step count.
SHAPE_FIELDS = ("n_features", "d_embed", "d_hidden", "task", "activation", "batch_size", "n_steps", "out_bias")
# Fields added to `ModelConfig` after results were cached, with their defaults: `to_dict` leaves them out at the
# default, so that adding a field never changes the cache key of a configuration that existed before it.
KEY_OMITS_AT_DEFAULT = {"weight_density": 1.0, "weight_clamp": 10.0, "out_bias": False, "bias_push": 0.0}


@dataclass(frozen=True)
class ModelConfig:
    """One toy model and its training recipe (paper Section 3 and Appendix A).

    n_features: N, the number of sparse features.
    d_embed: d, the dimension of the fixed random projection (the model's input).
    d_hidden: k, the number of hidden neurons.
    task: "decoder" (target f), "reprojector" (target Q f) or "abs" (target |f1 - f2|).
    activation: "relu", "gelu" or "solu" (x * exp(x)).
    freq: "uniform" (every eps_i = eps) or "power" (eps_i proportional to i^-1.1, mean eps, clipped at 1).
    eps: mean feature density.
    lr: base learning rate of LAMB before the periodic cosine schedule.
    bias_decay: b <- b (1 - bias_decay * lr) after each step of the first half of training.
    init_bias: constant added to PyTorch's default bias initialisation (the "initial mean bias").
    l1: strength of the L1 penalty on the hidden activations.
    batch_size, n_steps: samples per step and number of optimizer steps.
    seed: selects the projection, the data stream, the initialisation and the connectivity mask.
    weight_density: the fraction of the weights of each layer (L1 and L2) that exist: below 1, each layer is
        sparse with a fixed random (Erdos-Renyi) connectivity mask of exactly round(weight_density * size)
        nonzero weights, drawn from the seed (paper Section 4.1.4). 1 is the dense model.
    weight_clamp: LAMB's ceiling on the weight norm in its trust ratio (torch_optimizer.Lamb's `clamp_value`,
        10 in the paper's recipe): a layer whose norm is above it takes steps of lr x this clamp, not lr x its norm.
    out_bias: give the output layer a bias b_out (y = h W_out + b_out), initialised as `nn.Linear`'s and trained by
        LAMB with the other parameters (chapter 10). False is the paper's model, which has none.
    bias_push: a regularizer towards negative bias (the paper's Section 6 proposes one, untried): bias_push x the
        fraction of the batch on which neuron i fires is added to the gradient of b_i, at every step. It is the push
        that an L1 penalty of this strength on the activations exerts on the biases, without its pull on the weights
        (chapter 10). 0 is the paper's model.
    """

    n_features: int = 512
    d_embed: int = 64
    d_hidden: int = 1024
    task: str = "decoder"
    activation: str = "relu"
    freq: str = "uniform"
    eps: float = 1 / 64
    lr: float = 0.005
    bias_decay: float = 0.0
    init_bias: float = 0.0
    l1: float = 0.0
    batch_size: int = 8192
    n_steps: int = 2**17
    seed: int = 0
    weight_density: float = 1.0
    weight_clamp: float = 10.0
    out_bias: bool = False
    bias_push: float = 0.0

    def __post_init__(self) -> None:
        require_ints(self, "n_features", "d_embed", "d_hidden", "batch_size", "n_steps")
        require(
            self.d_embed <= self.n_features,
            "d_embed",
            f"at most n_features ({self.n_features}): the projection has orthonormal columns",
            self.d_embed,
        )
        require_choice(self, "task", TASKS)
        require_choice(self, "activation", ACTIVATIONS)
        require_choice(self, "freq", FREQUENCIES)
        for name in ("eps", "lr", "bias_decay", "init_bias", "l1", "weight_density", "weight_clamp", "bias_push"):
            require(is_number(getattr(self, name)), name, "a finite number", getattr(self, name))
        require(0 < self.eps <= 1, "eps", "in (0, 1]", self.eps)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(self.bias_decay >= 0, "bias_decay", ">= 0", self.bias_decay)
        require(
            self.bias_decay * self.lr < 1,
            "bias_decay",
            f"below 1 / lr = {1 / self.lr:g}: the decay factor 1 - bias_decay * lr would flip or zero the bias",
            self.bias_decay,
        )
        require(self.l1 >= 0, "l1", ">= 0", self.l1)
        require_ints(self, "seed", least=0)
        require(0 < self.weight_density <= 1, "weight_density", "in (0, 1]", self.weight_density)
        require(self.weight_clamp > 0, "weight_clamp", "> 0", self.weight_clamp)
        require(isinstance(self.out_bias, bool), "out_bias", "True or False", self.out_bias)
        require(self.bias_push >= 0, "bias_push", ">= 0", self.bias_push)

    @property
    def d_out(self) -> int:
        """Output width: d for the re-projector, N otherwise."""
        return self.d_embed if self.task == "reprojector" else self.n_features

    def replace(self, **changes: Any) -> ModelConfig:
        _check_fields(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field, except a field added after results were first cached when it has its default value: the
        dict, and so the cache key (`Sweep.key`), of every configuration that existed before it is unchanged."""
        out = dataclasses.asdict(self)
        for name, default in KEY_OMITS_AT_DEFAULT.items():
            if out[name] == default:
                del out[name]
        return out


@dataclass(frozen=True)
class Sweep:
    """A named grid of configurations trained as one batched model.

    `axes` maps field names to the values swept; several axes form a grid, flattened in row-major order
    (the last axis varies fastest) into the instance dimension. Fields that change together are one axis named
    by them joined with commas, whose values are tuples: ("init_bias,freq", ((0.0, "uniform"), (-1.0, "power")))
    is two models, not four. Every instance must share the fields in `SHAPE_FIELDS`. Build one with `make_sweep`.
    """

    name: str
    base: ModelConfig
    axes: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    configs: tuple[ModelConfig, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise ValueError(f"sweep name must be letters, digits, '-' or '_', got {self.name!r}")
        fields = [name.split(",") for name, _ in self.axes]
        _check_fields({f: None for group in fields for f in group})
        for (name, values), group in zip(self.axes, fields, strict=True):
            for f in group:
                if f in SHAPE_FIELDS:
                    raise ValueError(
                        f"cannot sweep {f!r} inside one batched model: it changes tensor shapes or the "
                        f"step count; make one sweep per value instead (shape fields: {', '.join(SHAPE_FIELDS)})"
                    )
            if len(values) == 0:
                raise ValueError(f"axis {name!r} has no values")
            if len(set(values)) != len(values):
                raise ValueError(f"axis {name!r} repeats a value: {values!r}")
            if len(group) > 1 and any(not isinstance(v, tuple) or len(v) != len(group) for v in values):
                raise ValueError(
                    f"axis {name!r} changes {len(group)} fields together: each value must be a tuple of {len(group)}"
                )

        def changes(point: tuple[Any, ...]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for group, value in zip(fields, point, strict=True):
                out.update(zip(group, value if len(group) > 1 else (value,), strict=True))
            return out

        grid = itertools.product(*(values for _, values in self.axes))
        object.__setattr__(self, "configs", tuple(self.base.replace(**changes(point)) for point in grid))

    @property
    def n_inst(self) -> int:
        return len(self.configs)

    def with_seeds(self, n_seeds: int) -> Sweep:
        """This sweep at `n_seeds` seeds: seed becomes its last (fastest) axis, over base.seed, base.seed + 1, ...
        A sweep that already sweeps seed, or one seed, leaves it as it is (the same configurations and cache key)."""
        if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
            raise ValueError(f"the number of seeds must be a positive integer, got {n_seeds!r}")
        if n_seeds == 1 or any("seed" in name.split(",") for name, _ in self.axes):
            return self
        return Sweep(self.name, self.base, (*self.axes, ("seed", tuple(self.base.seed + i for i in range(n_seeds)))))

    def key(self, version: str) -> str:
        """sha256 of the canonical configuration of every instance and the library version."""
        payload = {"version": version, "configs": [c.to_dict() for c in self.configs]}
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()


def shape_of(cfg: ModelConfig) -> tuple[Any, ...]:
    """The values of `SHAPE_FIELDS`: configurations of one shape can be instances of one batched model."""
    return tuple(getattr(cfg, f) for f in SHAPE_FIELDS)


def merge(sweeps: list[Sweep]) -> tuple[Sweep, list[list[int]]]:
    """Sweeps of one shape as one batched model: a sweep of every distinct configuration among them, in order of
    first appearance (one axis of the fields that differ), and for each sweep the indices of its instances there.
    Instances train independently and instances of one seed share one stream of draws, so each sweep's rows of the
    merged result are its own result (on a CPU bit for bit: tests/test_runner.py)."""
    if not sweeps:
        raise ValueError("nothing to merge: no sweeps")
    shapes = {shape_of(s.base) for s in sweeps}
    if len(shapes) > 1:
        raise ValueError(f"sweeps {', '.join(s.name for s in sweeps)} are not of one shape ({SHAPE_FIELDS})")
    configs = list(dict.fromkeys(c for s in sweeps for c in s.configs))
    base = configs[0]
    fields = [f.name for f in dataclasses.fields(ModelConfig) if len({getattr(c, f.name) for c in configs}) > 1]
    values = [tuple(getattr(c, f) for f in fields) for c in configs]
    axes = ((",".join(fields), tuple(v if len(fields) > 1 else v[0] for v in values)),) if fields else ()
    name = sweeps[0].name if len(sweeps) == 1 else f"{sweeps[0].name}-and-{len(sweeps) - 1}-more"
    merged = Sweep(name, base, axes)
    where = {c: i for i, c in enumerate(merged.configs)}
    return merged, [[where[c] for c in s.configs] for s in sweeps]


def make_sweep(name: str, base: ModelConfig, **axes: Any) -> Sweep:
    """`make_sweep("LR1", base, lr=(0.001, 0.003))`: a sweep over the given axes (in keyword order). Fields that
    change together: `make_sweep("K", base, **{"init_bias,bias_decay": ((0.0, 0.0), (-1.0, 0.03))})`."""
    return Sweep(name, base, tuple((k, tuple(v)) for k, v in axes.items()))


def _check_fields(names: dict[str, Any]) -> None:
    valid = [f.name for f in dataclasses.fields(ModelConfig)]
    for name in names:
        if name not in valid:
            raise ValueError(f"unknown configuration field {name!r}; valid fields: {', '.join(valid)}")


# --- validation: the one way every configuration (ModelConfig, Profile, SAEConfig, IncidentalConfig) rejects a
# value, at construction, with the field, what it allows and what it got.


def require(ok: bool, name: str, allowed: str, value: object) -> None:
    """Reject `value` of field `name` unless `ok`: ValueError "<name> must be <allowed>, got <value>"."""
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def is_integer(value: object, least: int = 1) -> bool:
    """An int (not a bool) of at least `least`."""
    return not isinstance(value, bool) and isinstance(value, int) and value >= least


def is_number(value: object) -> bool:
    """A finite int or float, not a bool (True would enter a cache key as `true`, not 1.0)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def require_ints(config: object, *names: str, least: int = 1) -> None:
    """Every field `names` of `config` an integer of at least `least` (1: positive, 0: non-negative)."""
    allowed = {1: "a positive integer", 0: "a non-negative integer"}.get(least, f"an integer >= {least}")
    for name in names:
        require(is_integer(getattr(config, name), least), name, allowed, getattr(config, name))


def require_choice(config: object, name: str, allowed: tuple[str, ...]) -> None:
    """Field `name` of `config` one of `allowed`."""
    require(getattr(config, name) in allowed, name, f"one of {', '.join(allowed)}", getattr(config, name))
