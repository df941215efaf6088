"""The compact form of results (what is committed for the paper profile), `train --budget` and the refusal
to train the paper profile on a CPU."""

import subprocess
import sys

import pytest
import torch

from monosem import __version__, book, schedule
from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.results import MissingWeightsError, cache_path, compact, load
from monosem.training import train


@pytest.fixture(scope="module")
def trained():
    return train(make_sweep("T", get_profile("ci").base(n_steps=64), lr=(0.005, 0.03)), progress=False)


def test_compact_without_weights_keeps_summaries_and_names_the_problem(trained):
    small = compact(trained, keep_weights=False)
    assert not small.has_weights and "W_out" not in small.arrays and "proj" not in small.arrays
    assert small.summary().equals(trained.summary())
    assert torch.equal(small["r"], trained["r"]) and torch.equal(small["loss"], trained["loss"])
    with pytest.raises(MissingWeightsError, match="sweep 'T' was stored compact, without its final weights"):
        small.activations()


def test_compact_with_weights_stores_float16_and_gives_the_same_activations(trained):
    small = compact(trained, keep_weights=True)
    assert small["W_in"].dtype == torch.float16 and small["W_out"].dtype == torch.float16
    assert small["proj"].dtype == torch.float32
    full, half = trained.activations(), small.activations()
    assert half.dtype == torch.float32
    assert (half - full).abs().max() <= 2e-3 * full.abs().max()
    assert not torch.equal(half, full)  # the weights really were rounded


@pytest.fixture
def ci(tmp_path, monkeypatch):
    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path / "cache"))
    return get_profile("ci")


def test_export_refuses_missing_results_and_the_cache_itself(ci, tmp_path):
    with pytest.raises(schedule.ScheduleError, match="not trained yet at profile ci: LR1"):
        schedule.export_compact(ci, ["LR1"], set(), tmp_path / "out", log=lambda *_: None)
    schedule.train_all(ci, ["LR1"], log=lambda *_: None)
    with pytest.raises(schedule.ScheduleError, match="is the cache itself"):
        schedule.export_compact(ci, ["LR1"], set(), tmp_path / "cache", log=lambda *_: None)


def test_chapters_render_from_compact_results_alone(ci, tmp_path, monkeypatch):
    """What `results/paper/` must allow: every chapter executes from the exported files, training nothing."""
    batches = book.chapter_batches()
    schedule.train_all(ci, batches, log=lambda *_: None)
    written = schedule.export_compact(ci, batches, book.WEIGHTS_NEEDED, tmp_path / "export", log=lambda *_: None)
    assert {p.name for p in written} == {cache_path(ci.sweep(b), ci.cache_dir, __version__).name for b in batches}
    for path, batch in zip(written, batches, strict=True):
        assert load(path, ci.sweep(batch), __version__).has_weights == (batch in book.WEIGHTS_NEEDED)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "export" / "ci").iterdir()}

    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path / "export"))  # the full cache is out of reach now
    for chapter in book.chapters():
        book.prepare(chapter, "ci", tmp_path / "nb")
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "export" / "ci").iterdir()}
    assert after == before  # nothing retrained, nothing moved aside


def test_budget_stops_before_the_next_sweep(ci):
    log = []
    assert schedule.train_all(ci, ["LR1", "LR2", "LR3"], log=log.append, budget_s=1e-9) == 1
    assert "stopping within the budget" in log[-1] and "LR2, LR3" in log[-1]
    assert schedule.train_all(ci, ["LR1", "LR2", "LR3"], log=log.append) == 2  # goes on from there


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_paper_profile_is_not_trained_on_a_cpu_by_accident(ci):
    with pytest.raises(schedule.ScheduleError, match=r"PFLOP.*days.*--allow-cpu"):
        schedule.train_all(get_profile("paper"), ["LR1"], log=lambda *_: None)
    assert not get_profile("paper").cache_dir.exists()


def test_cli_train_rejects_a_bad_budget():
    out = subprocess.run(
        [sys.executable, "-m", "monosem", "train", "--profile", "ci", "--budget", "0"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "--budget must be a positive number of minutes, got 0.0" in out.stderr
