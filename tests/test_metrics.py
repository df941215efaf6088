"""Monosemanticity r_i (eq. 7) on hand-built activations and weights."""

import torch

from monosem.metrics import monosemanticity, n_monosemantic, single_feature_activations
from monosem.model import ToyModel


def test_r_on_hand_built_activations():
    acts = torch.tensor(
        [
            [0.0, 0.7, 0.0, 0.0],  # one feature
            [0.4, 0.4, 0.0, 0.0],  # split evenly over two
            [0.0, 0.0, 0.0, 0.0],  # dead
            [-0.2, 0.5, -0.1, 0.0],  # negative responses do not count against it
            [0.25, 0.25, 0.25, 0.25],  # split over all four
        ]
    )
    r = monosemanticity(acts)
    torch.testing.assert_close(r, torch.tensor([1.0, 0.5, 0.0, 1.0, 0.25]))
    assert n_monosemantic(r).item() == 2


def test_threshold_is_strict_and_at_0999():
    r = torch.tensor([0.999, 0.9991, 1.0, 0.5])
    assert n_monosemantic(r).item() == 2


def test_single_feature_activations_of_a_hand_built_model():
    # identity projection (d = N = 3); neuron 0 reads feature 0, neuron 1 reads features 1 and 2 equally,
    # neuron 2 has a large negative bias (dead), neuron 3 reads feature 2 with weight -1 (fires for -F_2)
    proj = torch.eye(3)[None]
    w_in = torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, -1]])[None]  # (1, d, k)
    b_in = torch.tensor([[0.0, 0.0, -5.0, 0.0]])
    model = ToyModel(w_in, b_in, torch.zeros(1, 4, 3), "relu")
    acts = single_feature_activations(model, proj)
    assert acts.shape == (1, 4, 3)
    torch.testing.assert_close(monosemanticity(acts)[0], torch.tensor([1.0, 0.5, 0.0, 0.0]))
    # the abs task sums h(F_j) + h(-F_j): neuron 3 now responds to feature 2 only
    acts_abs = single_feature_activations(model, proj, task="abs")
    torch.testing.assert_close(acts_abs[0, 3], torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(monosemanticity(acts_abs)[0, 3], torch.tensor(1.0))
