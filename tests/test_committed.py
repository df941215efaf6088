"""Committed results never go stale silently: every file under results/<profile>/ is one that the current code reads.

A result is keyed by its sweep's configurations and `RESULTS_VERSION` (not the library version), so a release that
changes no training arithmetic leaves committed results fresh, and a changed configuration makes its file stale here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import make_result

from monosem import pipeline, runner
from monosem.cache import Cache
from monosem.chapters import basins
from monosem.profiles import get_profile
from monosem.version import RESULTS_VERSION, __version__

ROOT = Path(__file__).resolve().parents[1]
RETRAIN = {
    "long": "MONOSEM_RESULTS=/some/cache nice python scripts/train_long.py --profile long",
    "paper": "python -m monosem train --profile paper, then python -m monosem export --profile paper --to results",
}


# the profiles whose results are committed (.gitignore keeps the others' caches out of the repository)
COMMITTED = ("long", "paper")


@pytest.mark.parametrize("name", [p for p in COMMITTED if (ROOT / "results" / p).is_dir()])
def test_every_committed_result_is_read_by_the_current_code(name):
    stale = pipeline.stale_results(get_profile(name), ROOT / "results" / name)
    assert not stale, (
        f"{len(stale)} committed results of profile {name} are stale (trained under another configuration or "
        f"RESULTS_VERSION): {', '.join(stale)}; delete them and retrain: {RETRAIN.get(name, 'python -m monosem train')}"
    )


def test_a_result_of_another_configuration_or_results_version_is_stale(tmp_path):
    profile = get_profile("ci")
    sweep = basins.lr2(profile)  # no seed axis of its own
    Cache(tmp_path).save(make_result(sweep))
    assert pipeline.stale_results(profile, tmp_path) == []
    Cache(tmp_path, version="an older results version").save(make_result(sweep))
    changed = sweep.base.replace(eps=1 / 32)
    Cache(tmp_path).save(make_result(type(sweep)(sweep.name, changed, sweep.axes)))
    assert len(pipeline.stale_results(profile, tmp_path)) == 2
    # the sweep at three seeds (train --seeds 3) is read too
    wider = sweep.with_seeds(3)
    assert wider is not sweep
    Cache(tmp_path).save(make_result(wider))
    assert len(list(tmp_path.glob("*.pt"))) == 4 and len(pipeline.stale_results(profile, tmp_path)) == 2


def test_the_cache_key_follows_the_results_version_not_the_library_version():
    sweep = basins.lr1(get_profile("ci"))
    assert Cache("x").version == RESULTS_VERSION != __version__
    assert Cache("x").path(sweep) == Cache("x", version=RESULTS_VERSION).path(sweep)


def test_a_read_only_cache_never_trains(tmp_path, monkeypatch):
    from monosem import training
    from monosem.cache import CacheError

    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("a read-only cache trained"))
    with pytest.raises(CacheError, match="is not trained yet"):
        Cache(tmp_path, read_only=True).get_or_train(basins.lr2(get_profile("ci")))


def test_the_default_profile_is_long_once_its_results_are_all_committed(tmp_path, monkeypatch, ci_book):
    ci = get_profile("ci")
    # the ci book's export holds everything the ci book reads: nothing is missing there, everything in an empty folder
    assert pipeline.not_committed(ci, ci_book.export.parent) == []
    missing = pipeline.not_committed(ci, tmp_path)
    assert "LR1" in missing and len(missing) == len(runner.distinct(pipeline.chapter_sweeps(ci), Cache(tmp_path)))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pipeline.default_profile(tmp_path) == "cpu"  # nothing of long committed
    monkeypatch.setattr(pipeline, "not_committed", lambda profile, results: [])
    assert pipeline.default_profile(tmp_path) == "long" and pipeline.resolve_profile("auto").name == "long"
    assert pipeline.resolve_profile("ci").name == "ci"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pipeline.default_profile(tmp_path) == "paper"


def test_every_committed_scorecard_was_computed_from_the_current_results():
    stale = pipeline.stale_scorecards(ROOT)
    assert not stale, (
        f"committed scorecards read results the current code no longer reads: {', '.join(stale)}; retrain them and "
        "run python -m monosem scorecard --profile P"
    )


def test_the_tables_of_what_each_profile_tests_are_the_committed_scorecards():
    table = pipeline.profile_tables(ROOT)
    command = "python -m monosem scorecard --profile P (or pipeline.write_profile_tables())"
    assert (ROOT / pipeline.PROFILE_TABLE).read_text() == table, f"{pipeline.PROFILE_TABLE} is stale: {command}"
    assert table in (ROOT / "README.md").read_text(), (
        f"README.md's table of what each profile tests is stale: {command}"
    )


def test_train_long_commits_every_sweep_what_the_chapters_compute_and_the_scorecard(tmp_path, ci_trained):
    """scripts/train_long.py on a clone, at ci, from the session's trained ci cache (so that nothing trains): each
    sweep's compact export committed on its own, then what the chapters compute, then the scorecard; after it the
    committed results alone render the book, and the clone's tree is clean."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env = {**os.environ, **who, "MONOSEM_RESULTS": str(ci_trained.parent)}
    # the clone's working tree is the committed one: run this checkout's script and library against it
    proc = subprocess.run(
        [sys.executable, str(clone / "scripts" / "train_long.py"), "--profile", "ci"],
        cwd=clone,
        env={**env, "PYTHONPATH": str(clone)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = subprocess.run(["git", "log", "--format=%s"], cwd=clone, capture_output=True, text=True).stdout
    sweeps = runner.distinct(pipeline.chapter_sweeps(get_profile("ci")), Cache(ci_trained))
    assert all(f"results/ci: {s.name} (" in log for s in sweeps)
    assert "results/ci: its scorecard" in log.splitlines()[0]
    assert pipeline.not_committed(get_profile("ci"), clone / "results") == []
    assert (clone / "results" / "scorecards" / "ci.json").exists()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert status == ""
