"""The benchmark runs and reports its ratios (what it measures is not asserted: timings are not tests)."""

import pytest

from monosem.bench import run_bench
from monosem.config import ModelConfig
from monosem.profiles import get_profile
from monosem.training import step_flops


def test_bench_reports_both_trainers_and_the_peak(capsys):
    rows = run_bench(get_profile("ci"), "cpu", steps=4)
    out = capsys.readouterr().out
    assert "(a) per-model loop" in out and "(b) batched trainer" in out and "speed-up" in out
    assert set(rows) >= {"speedup", "batched_gflops", "matmul_peak_gflops", "batched_fraction_of_peak"}
    assert all(v > 0 for v in rows.values())


def test_bench_rejects_bad_input():
    with pytest.raises(ValueError, match="steps"):
        run_bench(get_profile("ci"), "cpu", steps=0)


def test_step_flops_counts_the_five_matmuls():
    cfg = ModelConfig(n_features=4, d_embed=2, d_hidden=3, batch_size=5, n_steps=1)
    assert step_flops(cfg) == 2 * 5 * (4 * 2 + 2 * 2 * 3 + 3 * 3 * 4)
