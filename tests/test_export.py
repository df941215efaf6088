"""The compact form of results (what is committed for the paper profile), `train --budget` and the refusal
to train the paper profile on a CPU."""

import subprocess
import sys

import pytest
import torch

from monosem import pipeline, runner
from monosem.cache import Cache
from monosem.chapters import basins, negative_bias
from monosem.config import make_sweep
from monosem.profiles import get_profile
from monosem.results import MissingWeightsError, compact
from monosem.training import train

CI = get_profile("ci")
LR1, LR2, LR3 = basins.lr1(CI), basins.lr2(CI), negative_bias.lr3(CI)


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
    return Cache.for_profile("ci")


def _quiet(*_):
    return None


def test_export_refuses_missing_results_and_the_cache_itself(ci, tmp_path):
    with pytest.raises(runner.RunnerError, match="not trained yet in .*: LR1"):
        runner.export_compact(ci, [LR1], set(), Cache(tmp_path / "out" / "ci"), log=_quiet)
    runner.train_all(ci, [LR1], label="ci", log=_quiet, progress=False)
    with pytest.raises(runner.RunnerError, match="is the cache itself"):
        runner.export_compact(ci, [LR1], set(), Cache(tmp_path / "cache" / "ci"), log=_quiet)


def test_chapters_render_from_compact_results_alone(ci_book):
    """What `results/<profile>/` must allow: the whole book (every chapter executed, then built) from the exported
    files, training nothing (the session's ci book is built so: `conftest.ci_book`)."""
    assert ci_book.proc.returncode == 0, ci_book.proc.stdout[-3000:] + ci_book.proc.stderr[-3000:]
    target = Cache(ci_book.export)
    sweeps = runner.distinct(pipeline.chapter_sweeps(CI), target)
    weights = pipeline.weights_needed()
    assert {p.name for p in ci_book.sweeps_written} == {target.path(s).name for s in sweeps}
    for sweep in sweeps:
        assert target.load(sweep).has_weights == (sweep.name in weights)
    assert ci_book.computed_written, "the chapters beyond the paper compute models besides sweeps: exported as is"
    assert ci_book.after == ci_book.before  # nothing retrained, nothing added, nothing moved aside


def test_budget_stops_before_the_next_sweep(ci):
    log = []
    with pytest.raises(runner.BudgetSpent, match=r"stopping within the budget.*LR2, LR3"):
        runner.train_all(ci, [LR1, LR2, LR3], label="ci", log=log.append, budget_s=1e-9, progress=False)
    assert ci.exists(LR1) and not ci.exists(LR2)
    assert runner.train_all(ci, [LR1, LR2, LR3], label="ci", log=log.append, progress=False) == 2  # goes on


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_paper_profile_is_not_trained_on_a_cpu_by_accident(ci):
    paper = Cache.for_profile("paper")
    with pytest.raises(runner.RunnerError, match=r"PFLOP.*days.*--allow-cpu"):
        runner.train_all(paper, [basins.lr1(get_profile("paper"))], label="paper", log=_quiet, gpu_sized=True)
    assert not paper.root.exists()


def test_cli_train_rejects_a_bad_budget():
    out = subprocess.run(
        [sys.executable, "-m", "monosem", "train", "--profile", "ci", "--budget", "0"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "--budget must be a positive number of minutes, got 0.0" in out.stderr


def test_export_refuses_computations_not_made_yet(tmp_path):
    empty, target = Cache(tmp_path / "empty" / "ci"), Cache(tmp_path / "export" / "ci")
    with pytest.raises(runner.RunnerError, match="09_incidental_polysemanticity: .* is not computed yet"):
        pipeline.export_computations(CI, ["09_incidental_polysemanticity"], empty, target, log=_quiet)
    assert not target.root.exists()
