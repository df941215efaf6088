"""Measurements for a first GPU lease, and the cost model's predictions to set beside them.

    python scripts/gpu_probe.py predict [--profile paper] [--machine h100]
        every chapter's predicted training time at a profile (`monosem.cost`), per chapter and in all
    python scripts/gpu_probe.py probe [--profile paper] [--device cuda] [--steps 8] [--json FILE]
        seconds per step and peak memory of the sweeps the cost model ranks slowest per step, LR1 and the narrowest,
        each over a few steps, with the model's prediction beside each

A sweep trained by two chapters is counted in the first. `probe` times `steps` and `2 steps` steps and reports the
difference per step, less one held-out evaluation (the longer run's one more snapshot), so that set-up and the first
step's warm-up cancel.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time

import torch

from monosem import cost, pipeline, runner
from monosem.cache import Cache
from monosem.config import Sweep
from monosem.data import DataStream
from monosem.model import ToyModel
from monosem.profiles import get_profile
from monosem.training import heldout_loss, train

MACHINES = {"h100": cost.H100_SXM, "h200": cost.H200, "cpu": cost.CPU_2CORE}


def predict(profile_name: str, machine: cost.Machine) -> list[dict]:
    profile = get_profile(profile_name)
    cache = Cache.for_profile(profile.name)
    seen: set[str] = set()
    rows = []
    # the scorecard reads every chapter's sweeps: last, so that each sweep counts in the chapter that trains it
    for chapter in sorted(pipeline.chapters(), key=lambda c: c.startswith("00_")):
        sweeps = [s for s in runner.distinct(pipeline.chapter_sweeps(profile, [chapter]), cache) if s.name not in seen]
        seen |= {s.name for s in sweeps}
        seconds = sum(cost.sweep_seconds(s, machine) for s in sweeps)
        slowest = max(sweeps, key=lambda s: cost.sweep_seconds(s, machine), default=None)
        rows.append(
            {
                "chapter": chapter,
                "sweeps": len(sweeps),
                "models": sum(s.n_inst for s in sweeps),
                "minutes": seconds / 60,
                "slowest": "-" if slowest is None else slowest.name,
            }
        )
    return rows


def worst_sweeps(profile_name: str, machine: cost.Machine, n_slowest: int = 2) -> list[Sweep]:
    """The `n_slowest` sweeps per step by the cost model, LR1, and the narrowest (fewest neurons), once each."""
    profile = get_profile(profile_name)
    sweeps = runner.distinct(pipeline.chapter_sweeps(profile), Cache.for_profile(profile.name))
    by_step = sorted(sweeps, key=lambda s: cost.step_seconds(s.configs, machine), reverse=True)
    chosen = by_step[:n_slowest]
    chosen += [s for s in sweeps if s.name == "LR1"][:1]
    chosen.append(min(sweeps, key=lambda s: (s.configs[0].d_hidden, -cost.step_seconds(s.configs, machine))))
    return list({s.name: s for s in chosen}.values())


def _timed(sweep: Sweep, steps: int, device: torch.device) -> float:
    short = dataclasses.replace(sweep, base=sweep.base.replace(n_steps=steps))
    return float(train(short, device=device, progress=False).meta["seconds"])


def _heldout_seconds(sweep: Sweep, device: torch.device) -> float:
    """One held-out evaluation (`training.heldout_loss`), which a run of 2 s steps makes once more than one of s."""
    model, data = ToyModel.init(sweep.configs, device), DataStream.for_configs(sweep.configs, device)
    heldout_loss(model, data)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    heldout_loss(model, data)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def probe(profile_name: str, device_name: str, steps: int) -> list[dict]:
    device = torch.device(device_name)
    cuda = device.type == "cuda"
    machine = cost.machine_for(torch.cuda.get_device_name(device) if cuda else "cpu")
    rows = []
    for sweep in worst_sweeps(profile_name, machine):
        cfg = sweep.configs[0]
        row = {
            "sweep": sweep.name,
            "models": sweep.n_inst,
            "k": cfg.d_hidden,
            "batch": cfg.batch_size,
            "GB_per_step": cost.step_bytes(sweep.configs) / 1e9,
            "predicted_s_per_step": cost.step_seconds(sweep.configs, machine),
        }
        try:
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            _timed(sweep, 2, device)  # warm-up: kernels chosen, memory pools filled
            short, long = _timed(sweep, steps, device), _timed(sweep, 2 * steps, device)
            row["s_per_step"] = (long - short - _heldout_seconds(sweep, device)) / steps  # noisy at toy sizes
            row["measured_over_predicted"] = row["s_per_step"] / row["predicted_s_per_step"]
            if cuda:
                row["peak_GiB"] = torch.cuda.max_memory_allocated(device) / 2**30
            else:  # the process's peak resident memory so far (kB on Linux), not this sweep's alone
                row["peak_GiB_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        except torch.cuda.OutOfMemoryError as err:
            row["error"] = f"out of memory: {str(err).splitlines()[0]}"
        rows.append(row)
        print(json.dumps(row), flush=True)
        if cuda:
            torch.cuda.empty_cache()
    return rows


def _table(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    lines = [" | ".join(keys), " | ".join("---" for _ in keys)]
    for row in rows:
        cells = (f"{row[k]:.4g}" if isinstance(row.get(k), float) else str(row.get(k, "")) for k in keys)
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict")
    p.add_argument("--profile", default="paper")
    p.add_argument("--machine", default="h100", choices=sorted(MACHINES))
    p = sub.add_parser("probe")
    p.add_argument("--profile", default="paper")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.command == "predict":
        machine = MACHINES[args.machine]
        rows = predict(args.profile, machine)
        print(f"profile {args.profile} on {machine.name} ({machine.source}):")
        print(_table(rows))
        print(f"in all: {sum(r['minutes'] for r in rows):.0f} min")
        return 0
    rows = probe(args.profile, args.device, args.steps)
    print(_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    print(f"probed {len(rows)} sweeps in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
