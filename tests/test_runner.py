"""The runner: every sweep trains once, an interrupted run resumes from the cache, a bad file is set aside before
anything trains, and Ctrl-C ends with one line and exit status 130."""

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import monosem.training
from monosem import cli, pipeline, runner
from monosem.cache import Cache
from monosem.chapters import basins, negative_bias
from monosem.profiles import PROFILES, get_profile

ROOT = Path(__file__).resolve().parents[1]
CI = get_profile("ci")
LR1, LR2, LR3 = basins.lr1(CI), basins.lr2(CI), negative_bias.lr3(CI)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MONOSEM_RESULTS", str(tmp_path))
    return Cache.for_profile("ci")


def _train_all(cache, sweeps, **kw):
    return runner.train_all(cache, sweeps, label="ci", log=kw.pop("log", lambda *_: None), progress=False, **kw)


REAL_TRAIN = monosem.training.train


class Interrupted(BaseException):
    """Stands for an error a run does not expect: a BaseException, so that no `except Exception` swallows it."""


def _counting_train(monkeypatch, fail_on: str | None = None, error: type[BaseException] = Interrupted):
    calls = []

    def train(sweep, **kw):
        calls.append(sweep.name)
        if sweep.name == fail_on:
            raise error  # as if the run stopped in the middle of this sweep
        return REAL_TRAIN(sweep, **kw)

    monkeypatch.setattr(monosem.training, "train", train)
    return calls


def test_each_sweep_trains_once(cache, monkeypatch):
    calls = _counting_train(monkeypatch)
    assert _train_all(cache, [LR1, LR2, LR1]) == 2
    assert calls == ["LR1", "LR2"]
    assert _train_all(cache, [LR1, LR2]) == 0
    assert calls == ["LR1", "LR2"]


def test_resume_after_interrupt_keeps_finished_sweeps(cache, monkeypatch):
    calls = _counting_train(monkeypatch, fail_on="LR2")
    with pytest.raises(Interrupted):
        _train_all(cache, [LR1, LR2, LR3])
    assert calls == ["LR1", "LR2"]
    finished = sorted(p.name for p in cache.root.iterdir())
    assert len(finished) == 1 and finished[0].startswith("LR1-")
    mtime = next(cache.root.iterdir()).stat().st_mtime_ns

    calls = _counting_train(monkeypatch)
    log = []
    assert _train_all(cache, [LR1, LR2, LR3], log=log.append) == 2
    assert calls == ["LR2", "LR3"]  # LR1 came from the cache, untouched
    assert (cache.root / finished[0]).stat().st_mtime_ns == mtime
    assert any("left" in line for line in log[1:])  # an estimate of the time left once a sweep is done


def test_ctrl_c_says_what_is_cached_and_how_to_resume(cache, monkeypatch, capsys):
    _counting_train(monkeypatch, fail_on="LR2", error=KeyboardInterrupt)
    assert cli.main(["train", "--profile", "ci", "--chapter", "1"]) == 130
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "models)" not in line]
    assert err == [
        f"interrupted: 1 of 3 sweeps of profile ci are cached in {cache.root}; "  # LR1, LR2, FLAT
        "run the same command again to go on from there"
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_in_a_real_process_prints_one_line_and_exits_130(tmp_path):
    env = {**os.environ, "MONOSEM_RESULTS": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monosem", "train", "--profile", "ci"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as in a terminal: a suite started in the background of a non-interactive shell passes SIGINT on ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in proc.stdout:  # wait until the second sweep is training: the first one is cached by then
        if line.startswith("[2/"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("interrupted")][0].endswith(
        "run the same command again to go on from there"
    )


def test_a_corrupt_file_is_set_aside_by_the_runner_itself(cache, monkeypatch):
    _train_all(cache, [LR1, LR2])
    cache.path(LR2).write_bytes(b"garbage")
    calls = _counting_train(monkeypatch)
    with pytest.warns(UserWarning, match="cannot read"):
        assert runner.pending(cache, [LR1, LR2]) == [LR2]
    assert len(list(cache.root.glob(f"{cache.path(LR2).name}.bad-*"))) == 1  # kept, never deleted
    log = []
    assert _train_all(cache, [LR1, LR2], log=log.append) == 1
    assert calls == ["LR2"] and "1 sweeps to train" in log[0]
    assert cache.valid(LR2)


def test_every_chapter_has_a_train_part_and_an_analysis():
    from monosem import chapters

    for chapter in chapters.CHAPTERS:
        module = chapters.analysis(chapter)
        for name in ("load", "findings", "glue_values"):
            assert hasattr(module, name), (chapter.name, name)
        if chapter.summary:
            continue
        part = chapters.train_part(chapter)
        names = {s.name for p in PROFILES.values() for s in part.sweeps(p)}
        assert part.WEIGHTS <= names, chapter.name


def test_batch_table_reports_work_and_recorded_times(cache):
    _train_all(cache, [LR1])
    rows = {row["batch"]: row for row in runner.batch_table(cache, [LR1, LR2, LR1])}
    assert list(rows) == ["LR1", "LR2"]
    assert rows["LR1"]["TFLOP"] == runner.sweep_flops(LR1) / 1e12
    assert rows["LR1"]["minutes"] > 0 and rows["LR1"]["TFLOP/s"] > 0 and rows["LR1"]["device"] == "cpu"
    assert math.isnan(rows["LR2"]["minutes"]) and rows["LR2"]["device"] == "-"  # not trained yet


def test_train_also_computes_what_a_chapter_trains_besides_sweeps(monkeypatch, capsys, cache):
    import types

    calls = []
    fake = types.SimpleNamespace(compute=lambda profile, cache, progress=True: calls.append(profile.name) or 90.0)
    monkeypatch.setattr(pipeline, "train_parts", lambda names: {c: fake if c == "09_x" else object() for c in names})
    pipeline.compute_all(get_profile("ci"), ["01_basins", "09_x"], cache)
    assert calls == ["ci"] and "09_x: 1.5 min" in capsys.readouterr().out
    monkeypatch.setattr(pipeline.torch.cuda, "is_available", lambda: False)
    pipeline.compute_all(get_profile("paper"), ["09_x"], cache, gpu_sized=True)
    assert calls == ["ci"] and "no CUDA" in capsys.readouterr().out


def test_train_compile_reaches_the_trainer_and_a_machine_without_a_compiler_is_told(cache, monkeypatch, capsys):
    seen = []

    def train(sweep, **kw):
        seen.append((sweep.name, kw.get("compile")))
        return REAL_TRAIN(sweep, **{**kw, "compile": False})  # compiling itself is tested in test_bench

    monkeypatch.setattr(monosem.training, "train", train)
    assert cli.main(["train", "--profile", "ci", "--compile", "--chapter", "01_basins"]) == 0
    # every sweep compiled (what the chapter trains besides sweeps, continuations of a few models, does not)
    sweeps = {s.name for s in basins.sweeps(CI)}
    assert {name for name, _ in seen} >= sweeps and {c for name, c in seen if name in sweeps} == {True}
    with pytest.raises(SystemExit):
        cli.main(["train", "--profile", "ci", "--compile", "--ray", "--chapter", "01_basins"])
    assert "--compile cannot be used with --ray" in capsys.readouterr().err
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    assert cli.main(["train", "--profile", "ci", "--compile", "--chapter", "02_negative_bias"]) == 1
    assert "needs a C compiler" in capsys.readouterr().err


def test_merge_makes_one_sweep_of_every_distinct_configuration_and_says_where_each_sweeps_rows_are():
    from monosem.config import make_sweep, merge

    a = make_sweep("A", CI.base(n_steps=32), lr=(0.003, 0.01))
    b = make_sweep("B", CI.base(n_steps=32, init_bias=-1.0), lr=(0.01, 0.03), seed=(0, 1))
    c = make_sweep("C", CI.base(n_steps=32), lr=(0.01,))  # one of A's models
    merged, rows = merge([a, b, c])
    assert merged.n_inst == 2 + 4 and rows == [[0, 1], [2, 3, 4, 5], [1]]
    for sweep, r in zip([a, b, c], rows, strict=True):
        assert [merged.configs[i] for i in r] == list(sweep.configs)
    assert merge([a])[0].configs == a.configs
    with pytest.raises(ValueError, match="not of one shape"):
        merge([a, make_sweep("D", CI.base(n_steps=64), lr=(0.01,))])
    units = runner.merge_units([a, make_sweep("D", CI.base(n_steps=64), lr=(0.01,)), b], merge=True)
    assert [[s.name for s in u] for u in units] == [["A", "B"], ["D"]]
    assert runner.merge_units([a, b], merge=False) == [[a], [b]]


def test_sweeps_trained_together_are_the_sweeps_trained_alone_bit_for_bit(tmp_path):
    from monosem.config import make_sweep

    sweeps = [
        make_sweep("A", CI.base(n_steps=64), lr=(0.003, 0.01)),
        make_sweep("B", CI.base(n_steps=64, init_bias=-1.0, bias_decay=0.03), lr=(0.01,), seed=(0, 1)),
        make_sweep("C", CI.base(n_steps=64, d_hidden=32), lr=(0.01,)),  # another shape: alone
    ]
    apart, together = Cache(tmp_path / "apart"), Cache(tmp_path / "together")
    lines = []
    assert _train_all(apart, sweeps, merge=False) == 3
    assert _train_all(together, sweeps, merge=True, log=lines.append) == 3
    assert any("A + B (4 models, as one batched model)" in line for line in lines)
    for sweep in sweeps:
        one, other = apart.load(sweep), together.load(sweep)
        assert one.arrays.keys() == other.arrays.keys()
        for name, value in one.arrays.items():
            assert torch.equal(value, other.arrays[name]), (sweep.name, name)
    a, b = together.load(sweeps[0]), together.load(sweeps[1])
    assert a.meta["merged_into"] == "A-and-1-more" and a.meta["merged_seconds"] == b.meta["merged_seconds"]
    assert a.seconds + b.seconds == pytest.approx(a.meta["merged_seconds"])
    assert "merged_into" not in together.load(sweeps[2]).meta
    assert _train_all(together, sweeps, merge=True) == 0  # all cached
