"""The benchmark runs and reports its ratios (what it measures is not asserted: timings are not tests)."""

import shutil
from types import SimpleNamespace

import pytest
import torch

from monosem.bench import is_matmul_kernel, matmul_time, profile_step, run_bench
from monosem.chapters import negative_bias
from monosem.cli import main
from monosem.config import ModelConfig, make_sweep
from monosem.profiles import get_profile
from monosem.training import step_flops, train


def test_bench_reports_every_trainer_and_the_peak(capsys):
    rows = run_bench(get_profile("ci"), "cpu", steps=4, compile=shutil.which("cc") is not None, repeats=2)
    out = capsys.readouterr().out
    assert "(a) per-model loop" in out and "(b) batched trainer" in out and "speed-up" in out
    assert "2 rounds" in out and out.count("x, ") == 1  # the ratio of each of the two rounds
    assert "float32 matmuls in every trainer" in out  # one numerical setting for (a) and (b), stated
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


# Kernel names as the profiler reports them on an A100 (cuBLAS, CUTLASS) and an H100 (cuBLAS's nvjet kernels), and
# elementwise and reduction kernels that must not count.
MATMUL_KERNELS = [
    "ampere_sgemm_128x64_nn",
    "sm80_xmma_gemm_f32f32_tf32f32_f32_nn_n_tilesize128x128x16_stage4_warpsize2x2x1_tensor16x8x8_kernel",
    "cutlass_80_tensorop_s1688gemm_128x128_16x4_nn_align4",
    "nvjet_tst_128x256_64x4_1x2_h_bz_coopA_NNN",
    "nvjet_tss_64x64_64x8_2x1_v_bz_TNT",
    "void cutlass::Kernel2<cutlass_80_wmma_tensorop_s161616gemm_f16_32x32_128x2_tn_align8>(Params)",
]
OTHER_KERNELS = [
    "void at::native::vectorized_elementwise_kernel<4, at::native::AbsFunctor<float>, at::detail::Array<char*, 2> >",
    "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::func_wrapper_t<float> > >",
    "void at::native::(anonymous namespace)::distribution_elementwise_grid_stride_kernel<float, 4>",
]


def test_matmul_kernels_are_found_by_name_hopper_included():
    assert all(is_matmul_kernel(k) for k in MATMUL_KERNELS)
    assert not any(is_matmul_kernel(k) for k in OTHER_KERNELS)


def test_matmul_share_on_cuda_counts_kernels_only_and_nvjet_among_the_products():
    cuda, cpu = torch.autograd.DeviceType.CUDA, torch.autograd.DeviceType.CPU
    events = [
        SimpleNamespace(key="nvjet_tst_128x256_64x4_1x2_h_bz_coopA_NNN", device_type=cuda, self_device_time_total=30.0),
        SimpleNamespace(key="ampere_sgemm_128x64_nn", device_type=cuda, self_device_time_total=10.0),
        SimpleNamespace(key=OTHER_KERNELS[0], device_type=cuda, self_device_time_total=60.0),
        # the aten op that launched a kernel reports its time again, on the host side: not counted
        SimpleNamespace(key="aten::bmm", device_type=cpu, self_device_time_total=40.0, self_cpu_time_total=5.0),
    ]
    assert matmul_time(events, "cuda") == (100.0, 40.0)
    host = [
        SimpleNamespace(key="aten::bmm", self_cpu_time_total=5.0),
        SimpleNamespace(key="aten::add_", self_cpu_time_total=15.0),
    ]
    assert matmul_time(host, "cpu") == (20.0, 5.0)


def test_draw_forms_prints_both_forms_side_by_side(capsys):
    code = main(["bench", "--draw", "--profile", "ci", "--repeats", "1"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("float only") == 2 and "fewer passes" in out and "x as fast" in out
