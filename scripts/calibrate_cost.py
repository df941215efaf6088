"""Fit the CPU's constants of `monosem.cost` to the recorded training times of cached sweeps, and check them.

    python scripts/calibrate_cost.py [RESULTS_DIR] [--write tests/data/cpu_timings.json]

RESULTS_DIR (default: the `cpu` profile's cache) holds trained sweeps whose `meta` records `seconds`; each is
read for its shapes, its instances' seeds, densities and L1 strengths (what the cost model looks at) and its time.
Prints the fitted Machine and every sweep's predicted / recorded time under it and under `cost.CPU_2CORE`;
`--write` stores the timings (a few kB) for tests/test_cost.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from monosem import cost
from monosem.cache import Cache
from monosem.config import ModelConfig

SHAPE = ("n_features", "d_embed", "d_hidden", "batch_size", "n_steps", "task", "activation")
PER_INSTANCE = ("seed", "eps", "freq", "l1")


def read_timings(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.pt")):
        data = torch.load(path, map_location="cpu", weights_only=False)
        seconds = (data.get("meta") or {}).get("seconds") if isinstance(data, dict) else None
        if not seconds or "configs" not in data or (data["meta"].get("device") != "cpu"):
            continue
        configs = [ModelConfig(**c) for c in data["configs"]]
        rows.append(
            {
                "name": data["name"],
                "file": path.name,
                "seconds": round(float(seconds), 2),
                "shape": {f: getattr(configs[0], f) for f in SHAPE},
                "instances": [{f: getattr(c, f) for f in PER_INSTANCE} for c in configs],
            }
        )
    return rows


def configs_of(row: dict) -> tuple[ModelConfig, ...]:
    return tuple(ModelConfig(**row["shape"], **inst) for inst in row["instances"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=Cache.for_profile("cpu").root)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument(
        "--exclude",
        default="",
        help="comma-separated files (or sweep names) whose time was measured on shared cores: kept, marked, not fitted",
    )
    args = parser.parse_args(argv)
    rows = read_timings(args.folder)
    excluded = {e for e in args.exclude.split(",") if e}
    for row in rows:
        row["shared_cores"] = row["file"] in excluded or row["name"] in excluded
    if not rows:
        print(f"no trained sweep with a recorded CPU time in {args.folder}", file=sys.stderr)
        return 1
    timed = [(configs_of(r), r["seconds"]) for r in rows]
    fitted, _ = cost.fit([t for t, r in zip(timed, rows, strict=True) if not r["shared_cores"]], "2-core CPU")
    ratios = [cost.run_seconds(configs, fitted) / seconds for configs, seconds in timed]
    print(f"fitted: {fitted.flops:.3g} FLOP/s, {fitted.bandwidth:.3g} B/s, {fitted.overhead:.3g} s per step")
    print(f"{'sweep':14s} {'models':>6s} {'recorded s':>10s} {'fitted':>7s} {'CPU_2CORE':>9s}")
    for row, (configs, seconds), ratio in zip(rows, timed, ratios, strict=True):
        current = cost.run_seconds(configs, cost.CPU_2CORE) / seconds
        mark = "  (shared cores: not fitted)" if row["shared_cores"] else ""
        print(f"{row['name']:14s} {len(configs):6d} {seconds:10.1f} {ratio:7.2f} {current:9.2f}{mark}")
    if args.write:
        args.write.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"wrote {len(rows)} timings to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
