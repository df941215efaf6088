"""The incidental-polysemanticity model (`monosem.incidental`): the collision counter on hand-built weights, the
birthday counts, the hand-written gradients against autograd, a batch instance against the same model alone, and
the chapter's claim checks on hand-built runs."""

import math

import pytest
import torch

from monosem import incidental as inc
from monosem.chapters import incidental_polysemanticity as X
from monosem.incidental import IncidentalConfig
from monosem.profiles import PROFILES


def permutation_like(m: int, n: int) -> torch.Tensor:
    """Feature j on neuron j with weight +-0.99 (signs alternating), every other weight small noise."""
    W = 0.01 * torch.randn(m, n, generator=torch.Generator().manual_seed(0))
    for j in range(n):
        W[j, j] = 0.99 if j % 2 == 0 else -0.99
    return W


def test_counter_on_hand_built_weights():
    W = permutation_like(8, 6)
    assert int(inc.n_polysemantic(W)) == 0
    assert int(inc.n_collided_pairs(W)) == 0
    assert int(inc.n_uncarried(W)) == 0
    # feature 1 moves onto neuron 0, next to feature 0, with the opposite sign: one polysemantic neuron, one pair
    W[1, 1], W[0, 1] = 0.0, -0.98
    assert int(inc.n_polysemantic(W)) == 1
    assert int(inc.n_collided_pairs(W)) == 1
    assert int(inc.mixed_sign_neurons(W)) == 1
    # below-threshold weights are ignored, however many
    W[5, :] += 0.9 * inc.CARRY_THRESHOLD
    assert int(inc.n_polysemantic(W)) == 1
    # a third feature on neuron 0: still one polysemantic neuron, but three pairs
    W[2, 2], W[0, 2] = 0.0, 0.97
    assert int(inc.n_polysemantic(W)) == 1
    assert int(inc.n_collided_pairs(W)) == 3
    # a feature no neuron carries
    W[3, 3] = 0.2
    assert int(inc.n_uncarried(W)) == 1


def test_lecomte_band_count():
    """Their code's count: two weights with |w| in [0.8, 1.2]; ours: two with |w| > CARRY_THRESHOLD. They agree on
    carried weights near 1 and differ on a weight between the threshold and 0.8, or above 1.2."""
    W = permutation_like(8, 6)
    W[1, 1], W[0, 1] = 0.0, -0.98
    assert int(inc.n_polysemantic_band(W)) == int(inc.n_polysemantic(W)) == 1
    W[0, 1] = -0.7  # carried by our threshold, outside their band
    assert (int(inc.n_polysemantic(W)), int(inc.n_polysemantic_band(W))) == (1, 0)
    W[0, 1] = -1.3  # above their band
    assert (int(inc.n_polysemantic(W)), int(inc.n_polysemantic_band(W))) == (1, 0)
    assert inc.n_polysemantic_band(torch.stack([W, permutation_like(8, 6)])).tolist() == [0, 0]


def test_counter_batches_and_same_sign_neurons():
    clean, two = permutation_like(8, 6), permutation_like(8, 6)
    two[1, 1], two[0, 1] = 0.0, 0.98  # same sign as feature 0: polysemantic, but not mixed-sign
    W = torch.stack([clean, two])
    assert inc.n_polysemantic(W).tolist() == [0, 1]
    assert inc.n_collided_pairs(W).tolist() == [0, 1]
    assert inc.mixed_sign_neurons(W).tolist() == [0, 0]


def test_winners_and_initial_rank():
    W0 = torch.tensor([[0.3, -0.1], [-0.2, 0.5], [0.1, -0.4]])
    k, s = inc.winners(W0)
    assert k.tolist() == [0, 1] and s.tolist() == [1.0, 1.0]
    assert int(inc.opposite_pairs(W0)) == 0
    W0b = torch.tensor([[0.3, -0.6], [-0.2, 0.5], [0.1, -0.4]])
    assert int(inc.opposite_pairs(W0b)) == 1
    final = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, -1.0]])  # feature 0 on its largest, feature 1 on its 2nd
    assert inc.initial_rank(W0, final).tolist() == [0, 1]


def test_birthday_counts():
    n, m = 64, 1024
    assert inc.predicted(64, 64) == 16 and inc.predicted(64, 1024) == 1
    assert inc.expected_opposite_pairs(n, m) == pytest.approx(inc.expected_colliding_pairs(n, m) / 2)
    # n^2 / 4m is the leading order of both counts when n << m (up to n (n - 1) against n^2)
    assert inc.expected_mixed_neurons(n, 2**20) == pytest.approx(inc.expected_opposite_pairs(n, 2**20), rel=1e-3)
    assert inc.expected_mixed_neurons(n, 2**20) == pytest.approx(inc.predicted(n, 2**20), rel=0.02)
    assert inc.expected_opposite_pairs(n, 2**20) == pytest.approx(inc.predicted(n, 2**20), rel=0.02)


def test_opposite_pairs_of_random_weights_average_the_birthday_count():
    n, m, samples = 8, 16, 4000
    W = torch.randn(samples, m, n, generator=torch.Generator().manual_seed(1))
    mean = float(inc.opposite_pairs(W).double().mean())
    sd = math.sqrt(inc.expected_opposite_pairs(n, m) / samples)  # about Poisson
    assert abs(mean - inc.expected_opposite_pairs(n, m)) < 4 * sd
    mixed = inc.winners(W)
    slots = mixed[0] * 2 + (mixed[1] > 0)  # each feature's (neuron, sign) slot
    has = torch.zeros(samples, 2 * m, dtype=torch.bool).scatter_(1, slots, True).view(samples, m, 2)
    assert float(has.all(-1).sum(-1).double().mean()) == pytest.approx(inc.expected_mixed_neurons(n, m), rel=0.1)


def batch(**changes) -> list[IncidentalConfig]:
    base = IncidentalConfig(n_features=6, n_neurons=8, init_std=0.2, n_steps=64, **changes)
    return [
        base.replace(seed=0),
        base.replace(seed=1, hidden="relu"),
        base.replace(seed=2, hidden="relu", init_bias=-0.1, bias_decay=0.03, l1=0.05),
    ]


def test_gradients_match_autograd():
    cfgs = batch()
    W, b = inc.init_weights(cfgs)
    W, b = W.double(), b.double() + torch.tensor([0.0, 0.05, -0.1], dtype=torch.float64)[:, None]
    relu = torch.tensor([c.hidden == "relu" for c in cfgs])
    l1 = torch.tensor([c.l1 for c in cfgs], dtype=torch.float64)
    loss, dW, db = inc.loss_and_grads(W, b, relu, l1)
    Wa, ba = W.clone().requires_grad_(), b.clone().requires_grad_()
    _, _, y = inc.forward(Wa, ba, relu)
    ref = ((y - torch.eye(6, dtype=torch.float64)) ** 2).sum((1, 2)) + l1 * Wa.abs().sum((1, 2))
    ref.sum().backward()
    assert torch.allclose(loss, ref.detach())
    assert torch.allclose(dW, Wa.grad, atol=1e-10)
    assert torch.allclose(db[1:], ba.grad[1:], atol=1e-10)
    assert torch.all(db[0] == 0)  # Lecomte et al.'s model has no bias


def test_instance_equals_model_trained_alone():
    cfgs = batch()
    together = inc.train(cfgs, progress=False, device="cpu")
    for i, cfg in enumerate(cfgs):
        alone = inc.train([cfg], progress=False, device="cpu")
        assert torch.allclose(together["W"][i], alone["W"][0], atol=1e-6)
        assert torch.allclose(together["b"][i], alone["b"][0], atol=1e-6)
    # the same seed starts every setting from the same weights
    assert torch.equal(inc.init_weights([cfgs[0]])[0], inc.init_weights([cfgs[1].replace(seed=0)])[0])


def test_bias_decays_in_the_first_half_only():
    cfg = IncidentalConfig(
        n_features=4,
        n_neurons=4,
        hidden="relu",
        init_std=1e-4,
        l1=0.0,
        lr=0.1,
        n_steps=8,
        init_bias=-1.0,
        bias_decay=0.5,
    )
    out = inc.train([cfg], progress=False, device="cpu")
    # every neuron stays silent (weights far below the bias), so only the decay moves b: 4 steps of (1 - 0.05)
    assert torch.allclose(out["b"], torch.full((1, 4), -(0.95**4)), atol=1e-6)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"n_neurons": 3}, "n_neurons"),
        ({"hidden": "gelu"}, "hidden"),
        ({"l1": -1.0}, "l1"),
        ({"lr": 0.0}, "lr"),
        ({"init_bias": -0.5}, "init_bias"),
        ({"seed": -1}, "seed"),
        ({"init_std": float("nan")}, "init_std"),
    ],
)
def test_config_validation(changes, field):
    with pytest.raises(ValueError, match=field):
        IncidentalConfig(**{"n_features": 4, "n_neurons": 4, **changes})


def test_settled():
    steps = torch.tensor(inc.snapshot_steps(64))
    flat = {"loss": torch.ones(2, 32), "snap_steps": steps, "snap_pairs": torch.zeros(2, len(steps))}
    flat["loss"][1] = torch.linspace(2, 1, 32)  # still falling
    assert inc.settled(flat).tolist() == [True, False]
    moved = {**flat, "loss": torch.ones(2, 32), "snap_pairs": torch.zeros(2, len(steps))}
    moved["snap_pairs"][0, -1] = 1  # a pair appeared in the second half
    assert inc.settled(moved).tolist() == [False, True]


def test_settled_uses_the_chapters_own_tolerance(monkeypatch):
    """A drift of 0.7 % between the last two eighths is unsettled by chapter 9's SETTLE_TOL (0.5 %), whatever the
    toy model's tolerance is; 0.3 % is settled."""
    import monosem.results

    assert inc.SETTLE_TOL == 0.005
    steps = torch.tensor(inc.snapshot_steps(64))
    loss = torch.ones(2, 32)
    loss[0, -4:] = 1 / 1.007  # the last eighth 0.7 % below the one before
    loss[1, -4:] = 1 / 1.003
    run = {"loss": loss, "snap_steps": steps, "snap_pairs": torch.zeros(2, len(steps))}
    assert inc.settled(run).tolist() == [False, True]
    monkeypatch.setattr(monosem.results, "SETTLE_LOSS", 0.5)
    assert inc.settled(run).tolist() == [False, True]


# --- the chapter's claim checks on hand-built runs --------------------------------------------------------------


def fake_result(n_pairs, mixed: bool = True, relu_pairs=None, falling: bool = False, dead=()) -> X.Incidental:
    """Every setting and seed of the `ci` grid with `n_pairs(m)` collided pairs (two features on one neuron,
    opposite signs when `mixed`) for Lecomte et al.'s model and `relu_pairs(setting, m)` for the others; the
    settings in `dead` carry no feature at all."""
    g = X.GRIDS["ci"]
    n, seeds = g.n_features, len(g.seeds)
    steps = torch.tensor(inc.snapshot_steps(g.n_steps))
    runs = {}
    for m in g.n_neurons:
        Ws = []
        for setting in X.SETTINGS:
            k = n_pairs(m) if setting == "linear" else (relu_pairs(setting, m) if relu_pairs else 0)
            W = torch.zeros(m, n)
            for j in range(n):  # features k..2k-1 join features 0..k-1 on their neurons
                W[j - k if k <= j < 2 * k else j, j] = -1.0 if mixed and k <= j < 2 * k else 1.0
            Ws += [W * (setting not in dead)] * seeds
        W = torch.stack(Ws)
        count = inc.n_collided_pairs(W).float()
        loss = torch.ones(len(Ws), 64)
        if falling:
            loss = loss * torch.linspace(2, 1, 64)
        runs[m] = {
            "W": W,
            "b": torch.zeros(len(Ws), m),
            "loss": loss,
            "loss_steps": torch.arange(64),
            "snap_steps": steps,
            "snap_pairs": count[:, None].expand(-1, len(steps)),
            "snap_poly": count[:, None].expand(-1, len(steps)),
            "seconds": torch.tensor([1.0]),
        }
    return X.Incidental(PROFILES["ci"], g, runs, {m: X.configs(PROFILES["ci"], m) for m in g.n_neurons})


def holds(finding) -> list:
    return [p.holds for p in finding.parts]


def test_lecomte_agrees_with_n_squared_over_4m_and_fails_without_collisions():
    n = X.GRIDS["ci"].n_features
    res = fake_result(lambda m: round(inc.predicted(n, m)))
    finding = X.lecomte(res)
    assert finding.verdict == "agree"
    assert "runs have settled" not in " ".join(p.text for p in finding.parts)  # a precondition, not a part
    assert "over the 10 of 10 runs that settled" in finding.parts[0].this_run
    assert finding.headline == ("n²/4m (16, 8, 4, 2, 1 at n = 64)", "0.90 x n²/4m")  # 7 of 7.75
    counts, settled = res.lecomte_counts()
    assert torch.equal(counts["collided pairs"][:, 0], torch.tensor([4.0, 2, 1, 0, 0], dtype=torch.float64))
    assert bool(settled["collided pairs"].all())
    assert set(res.by_setting("poly")) == set(X.SETTINGS.values())
    assert res.weights(16, ("linear",))["Lecomte et al.'s model"].shape == (16, 16)
    none = fake_result(lambda m: 0)
    assert holds(X.lecomte(none))[0] is False  # "they appear"
    all_kept = fake_result(lambda m: round(inc.expected_colliding_pairs(n, m)))
    assert holds(X.lecomte(all_kept))[2] is False  # twice the predicted count is not n^2 / 4m
    same_sign = fake_result(lambda m: round(inc.predicted(n, m)), mixed=False)
    assert holds(X.lecomte(same_sign))[3] is False
    # no run settled: nothing to test, and the claim is "not testable here", never "no"
    falling = X.lecomte(fake_result(lambda m: round(inc.predicted(n, m)), falling=True))
    assert holds(falling) == [None] * 4 and falling.verdict == "not testable here"
    numbers = X.glue_values(res)
    assert (numbers["band_same"], numbers["band_runs"]) == (10, 10)  # weights of +-1: their count is ours
    assert numbers["settle_tol"] == inc.SETTLE_TOL


def test_negative_bias_comparison_is_against_bias_0_with_the_decay():
    n = X.GRIDS["ci"].n_features
    pred = lambda m: round(inc.predicted(n, m))  # noqa: E731
    fewer = fake_result(pred, relu_pairs=lambda s, m: 2 if s == X.CONTROL else 0)
    finding = X.negative_bias(fewer)
    assert finding.verdict == "agree"
    assert finding.headline[1] == "-1σ vs 0: fewer at 5, more at 0 of 5 m"
    more = fake_result(pred, relu_pairs=lambda s, m: 0 if s == X.CONTROL else 2)
    assert X.negative_bias(more).verdict == "no"
    # fewer than bias 0 without the decay, but not than bias 0 with it: the decay did it, not the initial bias
    decay_did_it = fake_result(pred, relu_pairs=lambda s, m: 2 if s == "relu0" else 0)
    assert X.negative_bias(decay_did_it).verdict == "no"
    numbers = X.glue_values(decay_did_it)
    assert (numbers["neg1_nodecay_fewer"], numbers["decay_fewer"], numbers["neg1_fewer"]) == (5, 5, 0)
    # a model that carries no feature has no polysemantic neuron, for the wrong reason: not compared
    dead = fake_result(pred, relu_pairs=lambda s, m: 2 if s == X.CONTROL else 0, dead=("neg1", "neg4"))
    assert X.negative_bias(dead).verdict == "not testable here"
    numbers = X.glue_values(fewer)
    assert numbers["neg1_fewer"] == len(X.GRIDS["ci"].n_neurons) and numbers["neg1_more"] == 0


def test_settings_differ_as_named():
    """relu0d differs from the negative settings in the initial bias only, and from relu0 in the decay only."""
    batch, seeds = X.configs(PROFILES["ci"], 32), len(X.GRIDS["ci"].seeds)
    cfg = {s: batch[i * seeds] for i, s in enumerate(X.SETTINGS)}
    assert cfg["relu0d"].replace(init_bias=cfg["neg1"].init_bias) == cfg["neg1"]
    assert cfg["relu0d"].replace(bias_decay=0.0) == cfg["relu0"]


def test_figures_take_the_results_tensors():
    from matplotlib.figure import Figure

    from monosem.chapters.incidental_polysemanticity import figures as fig9

    n = X.GRIDS["ci"].n_features
    res = fake_result(lambda m: round(inc.predicted(n, m)))
    counts, settled = res.lecomte_counts()
    figures = [
        fig9.counts_against_m(res.n, res.ms, counts, settled),
        fig9.counts_against_m(res.n, res.ms, res.by_setting("poly"), res.by_setting("settled"), predictions=False),
        fig9.neuron_weights(res.weights(res.ms[0], ("linear", "relu0"))),
        fig9.count_traces(*res.traces(res.ms[0])),
    ]
    assert all(isinstance(f, Figure) and f.axes for f in figures)
    # the weights panel marks the 4 polysemantic neurons of the hand-built model at m = n
    assert "4 polysemantic" in figures[2].axes[0].get_title()
