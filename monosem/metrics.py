"""Monosemanticity of neurons (paper eq. 7) and the single-feature activation matrix."""

from __future__ import annotations

import torch
from torch import Tensor

from monosem.data import single_feature_inputs
from monosem.model import ToyModel

MONO_THRESHOLD = 0.999
DELTA = 1e-10


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


def n_monosemantic(r: Tensor, threshold: float = MONO_THRESHOLD) -> Tensor:
    """Number of neurons with r_i > threshold, per instance: r (..., k) -> (...)."""
    return (r > threshold).sum(dim=-1)


def mono_per_feature(model: ToyModel, proj: Tensor, task: str, n_features: int) -> Tensor:
    """The paper's headline statistic, # monosemantic neurons / # features, per instance (n,)."""
    r = monosemanticity(single_feature_activations(model, proj, task))
    return n_monosemantic(r).float() / n_features


def display_order(acts: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
    """Orders for a heat map of one model's acts (k, N): neurons by decreasing r_i, and features by the
    position (in that order) of the neuron they activate most, so monosemantic neurons form a diagonal."""
    neuron_order = torch.argsort(r, descending=True, stable=True)
    rank = torch.empty_like(neuron_order)
    rank[neuron_order] = torch.arange(len(neuron_order))
    top_neuron = acts.argmax(dim=0)
    feature_order = torch.argsort(rank[top_neuron], stable=True)
    return neuron_order, feature_order
