"""The settledness rule's error rates (`monosem.settling`): false alarms on hand-built flat continuations, detection
of a model still falling and of one stuck at the constant-output loss, and a continuation trained and cached."""

import pytest
import torch
from conftest import make_result

from monosem import settling
from monosem.cache import Cache
from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.results import LEARNED, SETTLE_LOSS, SETTLE_MONO

CI = get_profile("ci")
T = 256


def _result(heldout: list[list[float]], mono: list[list[float]] | None = None, steps=None, const: float = 10.0):
    """A result of len(heldout) models with the held-out losses (and # mono / # features) given at `steps`."""
    n = len(heldout)
    sweep = make_sweep("LR1", CI.base(n_steps=T), lr=tuple(0.001 * (i + 1) for i in range(n)))
    h = torch.tensor(heldout)
    steps = torch.tensor(steps if steps is not None else [T // 4, T // 2, T])
    m = torch.tensor(mono) if mono is not None else torch.zeros_like(h)
    return make_result(
        sweep,
        snap_steps=steps,
        snap_heldout=h,
        snap_mono=m,
        snap_loss=h,
        snap_bias=torch.zeros_like(h),
        heldout_const=torch.full((n,), const),
    )


def test_between_is_the_rules_columns():
    table = settling.between(*(torch.tensor([x]) for x in (1.0, 0.9, 0.1, 0.15, 3.0)))
    assert table["loss change"][0] == pytest.approx(-0.1 / 0.9)
    assert table["mono change"][0] == pytest.approx(0.05) and table["loss / constant"][0] == pytest.approx(0.3)


def test_no_false_alarm_on_flat_continuations_and_a_moving_one_is_flagged():
    steps = [1, 2, 4, 8, 16, 32, 64]
    noise = torch.Generator().manual_seed(0)
    flat = (1 + 0.3 * SETTLE_LOSS * (2 * torch.rand(5, len(steps), generator=noise) - 1)).tolist()  # +-0.3 %
    mono = [[0.5 + 0.2 * SETTLE_MONO * (j % 2) for j in range(len(steps))] for _ in range(5)]
    settled = _result([[1.0, 1.0, 1.0]] * 5)
    table = settling.false_alarms(_result(flat, mono, steps), settled)
    assert not table["flagged"].any() and table["instance"].tolist() == [0, 1, 2, 3, 4]
    one = _result([[1.0, 1.0, 1.0]])
    moving = _result([[1.0] * 6 + [1 - 3 * SETTLE_LOSS]], steps=steps)  # fell 3 % over the continuation
    assert settling.false_alarms(moving, one)["flagged"].all()
    shifted = _result([[1.0] * 7], [[0.5] * 6 + [0.5 + 2 * SETTLE_MONO]], steps)  # # mono moved
    assert settling.false_alarms(shifted, one)["flagged"].all()
    # only the flat models are continued: a model still falling at T has no row, and no continuation none at all
    assert settling.false_alarms(None, _result([[1.1, 1.05, 1.0]])).empty
    two = _result([[1.1, 1.05, 1.0], [1.0, 1.0, 1.0]])
    assert settling.false_alarms(_result([[1.0] * 7], steps=steps), two)["instance"].tolist() == [1]
    with pytest.raises(ValueError, match="continues another result"):
        settling.false_alarms(_result([[1.0] * 7] * 2, steps=steps), two)


def test_the_flat_pair_is_read_at_rest_where_the_continuation_has_rest_snapshots():
    long = _result([[1.0] * 6], steps=[1, 512, 1024, 2048, 4096, 8192])
    # 2048: the first snapshot whose held-out loss is read at rest (at 1536) and whose # mono / # features is a
    # period's mean (`training.mono_steps`); at 1024 the count is the top of the schedule's, as the last is not
    assert settling.flat_pair(long) == (2048, 8192)  # 2^11-2^13 average 1, 2, 4 periods: the first at rest
    # from 2^13 on every snapshot averages four periods, as the last does: the pair compares like with like
    longer = _result([[1.0] * 7], steps=[1, 1024, 2048, 4096, 8192, 16384, 32768])
    assert settling.flat_pair(longer) == (8192, 32768)
    assert settling.flat_pair(_result([[1.0] * 3], steps=[1, 64, 256])) == (1, 256)


def test_detection_catches_a_falling_model_and_a_dead_plateau_and_spares_a_settled_one():
    const = 10.0
    falling = [1.2, 1.1, 1.0]  # still falling at T/2 and after it
    dead = [const, const, 0.5]  # at the constant-output loss until T/2 (flat there), then learned
    settled = [1.0, 1.0, 1.0]
    table = settling.detection(_result([falling, dead, settled], const=const))
    assert table["still learning"].tolist() == [True, True, False]
    assert table["flagged"].tolist() == [True, True, False]
    assert table["loss / constant"][1] > LEARNED  # the dead plateau is flat: only LEARNED flags it
    assert abs(table["loss change"][1]) < SETTLE_LOSS


def test_still_learning_is_twice_the_rules_thresholds():
    just = 1 / (1 + 1.5 * SETTLE_LOSS)  # fell 1.5 x SETTLE_LOSS between T/2 and T: not counted as still learning
    clear = 1 / (1 + 2.5 * SETTLE_LOSS)
    mono = [[0.1, 0.1, 0.1], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1 + 2.5 * SETTLE_MONO]]
    got = settling.still_learning(_result([[1, 1, just], [1, 1, clear], [1, 1, 1]], mono))
    assert got.tolist() == [False, True, True]


def test_rates_count_false_alarms_over_settled_models_and_detection_over_models_still_learning():
    steps = [1, 2, 4, 8, 16, 32, 64]
    cont = _result([[1.0] * 7, [1.0] * 6 + [0.9]], steps=steps)  # the two flat models continued: flat, moving
    # settled, settled, still falling at T (caught at T/4 -> T/2), still falling but only then (missed)
    trained = _result([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.2, 1.1, 1.0], [1.0, 1.0, 0.9]])
    unsettled = _result([[1.2, 1.1, 1.0]])  # nothing continued
    rates = settling.rates([cont, None], [trained, unsettled])
    assert (rates.n_flat, rates.n_false, rates.n_learning, rates.n_caught) == (2, 1, 3, 2)
    assert rates.false_alarm_rate == 0.5 and rates.detection_rate == pytest.approx(2 / 3)


def test_a_snapshot_not_taken_is_an_error():
    with pytest.raises(ValueError, match="no snapshot at step 128"):
        settling.at_steps(_result([[1, 1]], [[0, 0]], steps=[64, 256]), 128, 256)


def test_the_continuation_is_the_sweep_at_its_own_lr_without_decay_for_a_quarter_of_the_run():
    sweep = make_sweep("LR1", CI.base(n_steps=2**17), lr=(0.003, 0.03), seed=(0, 1))
    cont = settling.continuation(sweep)
    assert cont.n_inst == sweep.n_inst and cont.name == "LR1_flat"
    for old, new in zip(sweep.configs, cont.configs, strict=True):
        assert new.lr == pytest.approx(old.lr * settling.CONTINUE_LR) and new.seed == old.seed
        assert new.bias_decay == 0 and new.n_steps == 2**17 // settling.CONTINUE_PART
        assert new.replace(lr=old.lr, bias_decay=old.bias_decay, n_steps=old.n_steps) == old
    some = settling.continuation(sweep, [1, 2])  # instance j of the continuation is instance [1, 2][j] of the sweep
    x = settling.CONTINUE_LR
    assert [(c.lr, c.seed) for c in some.configs] == [(0.003 * x, 1), (0.03 * x, 0)]
    with pytest.raises(ValueError, match="some of 0..3"):
        settling.continuation(sweep, [4])
    # at least CONTINUE_MIN steps (two snapshots measured as the rule measures), at most the run's own length
    assert settling.continue_steps(2**14) == settling.CONTINUE_MIN == 2**14 and settling.continue_steps(T) == T
    with pytest.raises(ValueError, match="lr alone"):
        settling.continuation(make_sweep("B", CI.base(), **{"lr,bias_decay": ((0.003, 0.03), (0.01, 0.0))}))


def test_continue_flat_trains_from_the_final_weights_once(tmp_path, monkeypatch):
    from monosem import training

    sweep = make_sweep("LR1", CI.base(n_steps=64), lr=(0.003, 0.005, 0.03))
    trained = training.train(sweep, device="cpu", progress=False)
    flat = [0, 2]  # a stand-in for the rule: at 64 steps no model has settled
    monkeypatch.setattr(settling, "flat_instances", lambda result: flat)
    calls = []
    real = training.train
    monkeypatch.setattr(training, "train", lambda s, **kw: calls.append(kw["init"]) or real(s, device="cpu", **kw))
    cache = Cache(tmp_path)
    cont = settling.continue_flat(trained, cache, progress=False)
    again = settling.continue_flat(trained, cache, progress=False)
    assert len(calls) == 1 and torch.equal(calls[0].W_in, trained.model().W_in[flat])
    assert torch.equal(cont.snap_heldout, again.snap_heldout) and cont.seconds == again.seconds > 0
    assert cont.W_in is None  # the weights are not cached
    assert cont["period_mono"].shape == (2, 0)  # every whole period is recorded: at 64 steps, none
    assert cont.values("lr") == pytest.approx([trained.configs[i].lr * settling.CONTINUE_LR for i in flat])
    # it starts from the trained weights: after one step its held-out loss is near the trained model's final one,
    # far from that of the untrained model (the trained run's first snapshot)
    start, end = trained.snap_heldout[flat, 0], trained.snap_heldout[flat, -1]
    assert ((cont.snap_heldout[:, 0] - end).abs() < 0.25 * (start - end).abs()).all()


def test_settle_steps_is_the_first_snapshot_from_which_the_rule_holds_to_the_end():
    steps = [1024, 2048, 4096, 8192, 16384]
    models = [
        [2.0, 1.5, 1.0, 1.0, 1.0],  # settled from 8192 on (4096 -> 8192 is the first still doubling)
        [2.0, 1.0, 1.0, 0.9, 0.9],  # moved between 4096 and 8192: settled from 16384
        [1.0, 1.0, 1.0, 1.0, 0.9],  # still falling at the end: not settled
        [1.0, 1.0, 1.0, 1.0, 1.0],  # still from 2048 on
    ]
    assert settling.settle_steps(_result(models, steps=steps)) == [8192, 16384, None, 2048]


def test_chapter_1s_settle_table_lists_every_model_with_its_step_or_the_run_it_did_not_settle_in():
    from monosem.chapters import basins

    steps = [1024, 2048, 4096]
    lr1 = _result([[1.0, 1.0, 1.0], [2.0, 1.5, 1.0]], steps=steps)
    table = basins.settle_table(basins.Basins(CI, lr1, lr1))
    assert len(table) == 4 and table["settled from step"].tolist()[:2] == ["2^11", f"not by 2^{T.bit_length() - 1}"]


def test_window_pairs_compare_every_two_disjoint_windows_after_the_restart():
    steps = [1, 1024, 2048, 4096, 8192, 16384]  # 16 periods: flat_pair compares 2^13 and 2^14 (four periods each)
    cont = _result([[1.0] * 6] * 2, steps=steps)
    mono = torch.full((2, 16), 0.5)
    mono[:, :4] = 0.1  # the restart: left out (the first window is the one the snapshot at 2^13 averages)
    mono[1, 12:] = 0.5 + 1.5 * SETTLE_MONO  # model 1 moved in its last window
    cont.period_mono, cont.period_heldout = mono, torch.ones(2, 16)
    table = settling.window_pairs(cont)
    assert len(table) == 2 * 3  # windows of periods 4-7, 8-11, 12-15: three pairs per model
    assert table.groupby("model")["flagged"].sum().tolist() == [0, 2]  # the two pairs with the last window
    assert settling.window_pairs(None).empty and settling.window_pairs(_result([[1.0] * 6], steps=steps)).empty
    rates = settling.rates([cont], [_result([[1.0, 1.0, 1.0]] * 2)])
    assert (rates.n_pairs, rates.n_pairs_false) == (6, 2) and rates.pair_false_alarm_rate == pytest.approx(1 / 3)


def test_the_extension_trains_the_unsettled_models_for_as_many_steps_again_at_their_own_lr():
    sweep = make_sweep("LR1", CI.base(n_steps=2**17), lr=(0.003, 0.03), seed=(0, 1))
    more = settling.extension(sweep, [0, 3])
    assert more.name == "LR1_more" and more.n_inst == 2
    for i, new in zip([0, 3], more.configs, strict=True):
        old = sweep.configs[i]
        assert new.n_steps == old.n_steps and new.bias_decay == 0 and new.seed == old.seed
        assert new.lr == pytest.approx(old.lr * settling.CONTINUE_LR)
    # its key differs from the continuation's of the same models (another length, another name)
    assert settling.continuation(sweep, [0, 3]).configs != more.configs
    # the unsettled models are the complement of the flat ones
    mixed = _result([[1.1, 1.05, 1.0], [1.0, 1.0, 1.0], [1.3, 1.2, 1.0]])
    assert settling.unsettled_instances(mixed) == [0, 2] and settling.flat_instances(mixed) == [1]


def test_unsettled_more_applies_the_rule_from_the_runs_end_to_the_extensions():
    trained = _result(
        [[1.3, 1.2, 1.0], [1.0, 1.0, 1.0], [1.2, 1.1, 1.0]], [[0.1, 0.2, 0.3], [0.3] * 3, [0.1, 0.2, 0.3]]
    )
    # model 0 goes on falling by 5 %; model 2 stays put, and is flat within the extension too
    ext = _result([[0.97, 0.96, 0.95], [1.0, 1.0, 1.0]], [[0.3, 0.3, 0.3], [0.3, 0.31, 0.3 + SETTLE_MONO / 2]])
    table = settling.unsettled_more(ext, trained)
    assert table["instance"].tolist() == [0, 2] and table["lr"].tolist() == pytest.approx([0.001, 0.003])
    assert table["loss change"].tolist() == pytest.approx([-0.05 / 0.95, 0.0])
    assert table["settled"].tolist() == [False, True] and table["settled within"].tolist() == [False, True]
    assert settling.unsettled_more(None, trained).empty
    assert settling.unsettled_more(ext, _result([[1.0, 1.0, 1.0]])).empty  # nothing unsettled to extend
    with pytest.raises(ValueError, match="extends another result"):
        settling.unsettled_more(_result([[1.0] * 3]), trained)
