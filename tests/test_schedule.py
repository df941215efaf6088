"""Scheduling: every sweep trains once, and an interrupted run resumes from the cache."""

import math

import pytest

import monosem.training
from monosem import book, schedule
from monosem.profiles import get_profile


@pytest.fixture
def ci(tmp_path, monkeypatch):
    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path))
    return get_profile("ci")


REAL_TRAIN = monosem.training.train


class Interrupted(BaseException):
    """Stands for Ctrl-C: a BaseException, so that no `except Exception` on the way swallows it."""


def _counting_train(monkeypatch, fail_on: str | None = None):
    calls = []

    def train(sweep, **kw):
        calls.append(sweep.name)
        if sweep.name == fail_on:
            raise Interrupted  # as if the user pressed Ctrl-C in the middle of this sweep
        return REAL_TRAIN(sweep, **kw)

    monkeypatch.setattr(monosem.training, "train", train)
    return calls


def test_each_sweep_trains_once(ci, monkeypatch):
    calls = _counting_train(monkeypatch)
    assert schedule.train_all(ci, ["LR1", "LR2", "LR1"], log=lambda *_: None) == 2
    assert calls == ["LR1", "LR2"]
    assert schedule.train_all(ci, ["LR1", "LR2"], log=lambda *_: None) == 0
    assert calls == ["LR1", "LR2"]


def test_resume_after_interrupt_keeps_finished_sweeps(ci, monkeypatch):
    calls = _counting_train(monkeypatch, fail_on="LR2")
    with pytest.raises(Interrupted):
        schedule.train_all(ci, ["LR1", "LR2", "LR3"], log=lambda *_: None)
    assert calls == ["LR1", "LR2"]
    finished = sorted(p.name for p in ci.cache_dir.iterdir())
    assert len(finished) == 1 and finished[0].startswith("LR1-")
    mtime = next(ci.cache_dir.iterdir()).stat().st_mtime_ns

    calls = _counting_train(monkeypatch)
    log = []
    assert schedule.train_all(ci, ["LR1", "LR2", "LR3"], log=log.append) == 2
    assert calls == ["LR2", "LR3"]  # LR1 came from the cache, untouched
    assert (ci.cache_dir / finished[0]).stat().st_mtime_ns == mtime
    assert any("left" in line for line in log[1:])  # an estimate of the time left once a sweep is done


def test_every_chapter_declares_its_batches():
    for chapter in book.chapters():
        assert chapter in book.CHAPTER_BATCHES, chapter
        for batch in book.CHAPTER_BATCHES[chapter]:
            get_profile("ci").sweep(batch)  # raises for an unknown batch


def test_batch_table_reports_work_and_recorded_times(ci):
    schedule.train_all(ci, ["LR1"], log=lambda *_: None)
    rows = {row["batch"]: row for row in schedule.batch_table(ci, ["LR1", "LR2", "LR1"])}
    assert list(rows) == ["LR1", "LR2"]
    assert rows["LR1"]["TFLOP"] == schedule.sweep_flops(ci.sweep("LR1")) / 1e12
    assert rows["LR1"]["minutes"] > 0 and rows["LR1"]["TFLOP/s"] > 0 and rows["LR1"]["device"] == "cpu"
    assert math.isnan(rows["LR2"]["minutes"]) and rows["LR2"]["device"] == "-"  # not trained yet
