"""The benchmark runs and reports its ratios (what it measures is not asserted: timings are not tests)."""

import shutil

import pytest
import torch

from monosem.bench import profile_step, run_bench
from monosem.chapters import negative_bias
from monosem.config import ModelConfig, make_sweep
from monosem.profiles import get_profile
from monosem.training import step_flops, train


def test_bench_reports_every_trainer_and_the_peak(capsys):
    rows = run_bench(get_profile("ci"), "cpu", steps=4, compile=shutil.which("cc") is not None, repeats=2)
    out = capsys.readouterr().out
    assert "(a) per-model loop" in out and "(b) batched trainer" in out and "speed-up" in out
    assert "2 rounds" in out and out.count("x, ") == 1  # the ratio of each of the two rounds
    assert set(rows) >= {"speedup", "batched_gflops", "matmul_peak_gflops", "batched_fraction_of_peak"}
    assert ("(c) batched trainer, torch.compile" in out) == (shutil.which("cc") is not None)
    assert all(v > 0 for v in rows.values())


def test_bench_rejects_bad_input():
    with pytest.raises(ValueError, match="steps"):
        run_bench(get_profile("ci"), "cpu", steps=0)
    with pytest.raises(ValueError, match="--repeats must be >= 1, got 0"):
        run_bench(get_profile("ci"), "cpu", steps=4, repeats=0)


def test_step_flops_counts_the_five_matmuls():
    cfg = ModelConfig(n_features=4, d_embed=2, d_hidden=3, batch_size=5, n_steps=1)
    assert step_flops(cfg) == 2 * 5 * (4 * 2 + 2 * 2 * 3 + 3 * 3 * 4)


def test_profile_step_prints_the_ops_and_the_matmul_share(capsys):
    out = profile_step(get_profile("ci"), "cpu", steps=3)
    text = capsys.readouterr().out
    assert "aten::bmm" in text and "% of it in matrix products" in text
    assert out["ms_per_step"] > 0 and 0 < out["matmul_share"] < 1


@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="torch.compile needs a C compiler"
)
def test_compiled_trainer_matches_the_eager_one():
    sweep = make_sweep("c", negative_bias.lr3(get_profile("ci")).configs[0].replace(n_steps=40), lr=(0.005, 0.03))
    eager = train(sweep, device="cpu", progress=False)
    compiled = train(sweep, device="cpu", progress=False, compile=True)
    assert compiled.meta["compile"] is True and eager.meta["compile"] is False
    torch.testing.assert_close(compiled["W_out"], eager["W_out"], rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(compiled["loss"], eager["loss"], rtol=1e-4, atol=1e-6)
