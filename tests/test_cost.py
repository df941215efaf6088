"""The cost model: its parts add up to the trainer's FLOP count, a roofline picks the slower of compute and memory,
and its CPU constants predict every recorded `cpu` sweep within 30 %."""

import json
from pathlib import Path

import pytest

from monosem import cost
from monosem.config import ModelConfig, make_sweep
from monosem.profiles import get_profile
from monosem.training import step_flops

TIMINGS = json.loads((Path(__file__).parent / "data" / "cpu_timings.json").read_text())


def _configs(row):
    return tuple(ModelConfig(**row["shape"], **inst) for inst in row["instances"])


@pytest.mark.parametrize("row", [r for r in TIMINGS if not r["shared_cores"]], ids=lambda r: r["file"])
def test_every_recorded_cpu_sweep_is_predicted_within_30_percent(row):
    ratio = cost.run_seconds(_configs(row), cost.CPU_2CORE) / row["seconds"]
    assert 0.7 <= ratio <= 1.3, f"{row['name']}: predicted / recorded = {ratio:.2f}"


def test_the_timings_cover_the_profile_and_those_left_out_say_why():
    assert len([r for r in TIMINGS if not r["shared_cores"]]) >= 15
    assert {r["name"] for r in TIMINGS if r["shared_cores"]} == {"LR1", "LR2", "LR3", "RG1"}
    assert {r["shape"]["d_hidden"] for r in TIMINGS} >= {128, 256, 512, 1024}  # every width of chapter 4


def test_the_products_are_the_trainers_flops_with_one_embedding_per_stream():
    cpu = get_profile("cpu")
    seeds = make_sweep("S", cpu.base(), seed=(0, 1, 2))  # one stream per instance: the trainer's count exactly
    matmul = sum(op.flops for op in cost.step_ops(seeds.configs))
    assert matmul == seeds.n_inst * step_flops(seeds.configs[0])
    lrs = make_sweep("L", cpu.base(), lr=(0.001, 0.01, 0.03))  # one shared stream: the embedding once
    cfg = lrs.configs[0]
    shared = sum(op.flops for op in cost.step_ops(lrs.configs))
    assert shared == matmul - 2 * 2 * cfg.batch_size * cfg.n_features * cfg.d_embed


def test_an_op_costs_the_slower_of_compute_and_memory():
    machine = cost.Machine("m", flops=100.0, bandwidth=10.0, overhead=0.5)
    assert machine.op_seconds(cost.Op("compute", 1000.0, 10.0)) == 10.0
    assert machine.op_seconds(cost.Op("memory", 10.0, 1000.0)) == 100.0
    cfg = (get_profile("ci").base(),)
    total = sum(machine.op_seconds(op) for op in cost.step_ops(cfg))
    assert cost.step_seconds(cfg, machine) == pytest.approx(total + 0.5)


def test_small_k_at_paper_scale_is_memory_bound_on_an_h100():
    """The issue's finding: K at k = 16 moves tens of GB a step in the dense step, so bytes, not FLOPs, set its
    time; the sparse decoder step it trains with moves a fraction of that."""
    paper = get_profile("paper")
    k16 = make_sweep("K_k16", paper.base(d_hidden=16, batch_size=paper.batch_for(16)), lr=(0.003, 0.005, 0.01))
    ops = cost.step_ops(k16.configs, sparse=False)
    flops, moved = sum(op.flops for op in ops), sum(op.bytes for op in ops)
    h100 = cost.H100_SXM
    assert moved / h100.bandwidth > 3 * flops / h100.flops
    assert 20e9 < moved < 100e9
    # and the model says so: several times the FLOP-only estimate
    dense_seconds = paper.n_steps * cost.step_seconds(k16.configs, h100, sparse=False)
    assert dense_seconds > 3 * flops * paper.n_steps / h100.flops
    assert cost.step_bytes(k16.configs) < moved / 4 and cost.sweep_seconds(k16, h100) < dense_seconds / 2


def test_machine_for_a_device():
    assert cost.machine_for("cpu") is cost.CPU_2CORE
    assert cost.machine_for("NVIDIA H100 80GB HBM3") is cost.H100_SXM
    assert cost.machine_for("NVIDIA H200") is cost.H200
