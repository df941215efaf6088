"""scripts/gpu_first_run.sh runs end to end on a CPU at the ci profile, so that a GPU lease does not find its bugs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("versions", "tests", "probe", "predict", "bench", "bench-sparse", "train-ci_1", "export-ci_1")


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash and timeout")
def test_the_first_gpu_run_script_runs_every_step_on_a_cpu_at_ci(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out)}
    args = ["--device", "cpu", "--profile", "ci", "--minutes", "1", "--limit", "400", "--cache", str(tmp_path / "c")]
    # a generous limit: the steps take about 40 s on an idle 2-core machine, several times that beside training
    # one quick test of the device selection: the script's own step, not the suite, is what is checked here
    args += ["--tests", "tests/test_device.py -k tf32_switch", "--train", "ci:1"]
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_first_run.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=450,
    )
    assert run.returncode == 0, run.stderr
    summary = (out / "summary.md").read_text()
    for step in STEPS:
        assert f"| {step} | ok |" in summary, step
        assert (out / "logs" / f"{step}.log").exists(), step
    assert "no CUDA: this is a CPU build" in (out / "logs" / "versions.log").read_text()
    assert "float32 matmuls in every trainer" in summary  # the bench's lines are in the summary
    assert "no sweep of profile ci trains with the sparse decoder step" in summary
    assert "## Probe" in summary and "predicted_s_per_step" in summary
    assert list((out / "export" / "ci").glob("*.pt"))  # chapter 1's compact results
    assert "exported ci chapter 1" in summary


def test_a_bad_argument_stops_before_anything_runs(tmp_path):
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_first_run.sh"), "--device", "tpu", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "--device must be cuda or cpu" in run.stderr
    assert not (tmp_path / "o").exists()
