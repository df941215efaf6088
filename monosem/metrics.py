"""The paper's measurements of a trained model, each defined once: monosemanticity r_i (eq. 7), the
monosemantic count and the headline "# mono neurons / # features", the positive-bias proxy for polysemantic
neurons (Fig. 11), and the single-feature activation matrix they are computed from."""

from __future__ import annotations

import torch
from torch import Tensor

from monosem.data import single_feature_inputs
from monosem.model import ToyModel

# A neuron is monosemantic when r_i exceeds this (the paper's threshold).
MONO_THRESHOLD = 0.999
# eq. 7's delta, which keeps a dead neuron's r_i at 0 instead of 0/0.
DELTA = 1e-10
# The paper's proxy for a polysemantic neuron (Fig. 11): a final bias above this.
POSITIVE_BIAS = 0.05


@torch.no_grad()
def single_feature_activations(model: ToyModel, proj: Tensor, task: str = "decoder") -> Tensor:
    """h_i(F_j): activation of neuron i on the unit-strength input of feature j alone, shape (n, k, N).

    For the absolute-value task a feature can arrive with either sign, so the paper uses h_i(F_j) + h_i(-F_j).
    """
    inputs = single_feature_inputs(proj)
    acts = model.hidden(inputs)
    if task == "abs":
        acts = acts + model.hidden(-inputs)
    return acts.transpose(1, 2)


def monosemanticity(acts: Tensor) -> Tensor:
    """r_i = max_j h_i(F_j) / (delta + sum_j max(0, h_i(F_j))) for acts (..., k, N); returns (..., k).

    1 for a neuron that responds to one feature, 1/2 for one split evenly over two, 0 for a dead neuron.
    """
    return acts.max(dim=-1).values / (DELTA + acts.clamp(min=0).sum(dim=-1))


def model_monosemanticity(model: ToyModel, proj: Tensor, task: str = "decoder") -> Tensor:
    """r_i of every neuron of every instance of `model`, (n, k)."""
    return monosemanticity(single_feature_activations(model, proj, task))


def is_monosemantic(r: Tensor, threshold: float = MONO_THRESHOLD) -> Tensor:
    """Which neurons count as monosemantic: r (..., k) -> bool (..., k)."""
    return r > threshold


def n_monosemantic(r: Tensor, threshold: float = MONO_THRESHOLD) -> Tensor:
    """Number of monosemantic neurons, per instance: r (..., k) -> (...)."""
    return is_monosemantic(r, threshold).sum(dim=-1)


def mono_per_feature(r: Tensor, n_features: int) -> Tensor:
    """The paper's headline statistic, # monosemantic neurons / # features: r (..., k) -> (...)."""
    return n_monosemantic(r).float() / n_features


def mono_fraction(r: Tensor) -> Tensor:
    """The fraction of neurons that are monosemantic: r (..., k) -> (...)."""
    return is_monosemantic(r).float().mean(dim=-1)


def is_positive_bias(b: Tensor, threshold: float = POSITIVE_BIAS) -> Tensor:
    """The paper's proxy for a polysemantic neuron: a final bias above `threshold`, b (..., k) -> bool."""
    return b > threshold


def n_positive_bias(b: Tensor, threshold: float = POSITIVE_BIAS) -> Tensor:
    """Neurons with a final bias above `threshold`, per instance: b (..., k) -> (...)."""
    return is_positive_bias(b, threshold).sum(dim=-1)


def display_order(acts: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
    """Orders for a heat map of one model's acts (k, N): neurons by decreasing r_i, and features by the
    position (in that order) of the neuron they activate most, so monosemantic neurons form a diagonal."""
    neuron_order = torch.argsort(r, descending=True, stable=True)
    rank = torch.empty_like(neuron_order)
    rank[neuron_order] = torch.arange(len(neuron_order))
    top_neuron = acts.argmax(dim=0)
    feature_order = torch.argsort(rank[top_neuron], stable=True)
    return neuron_order, feature_order
