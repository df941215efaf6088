"""Train a profile's sweeps one by one in the background, exporting each finished sweep's compact form into
`results/<profile>/` and committing it at once, so that a session that stops loses at most the sweep in training.

    MONOSEM_RESULTS=/some/cache nice -n 10 python scripts/train_long.py --profile long [--budget MINUTES]

The cache (MONOSEM_RESULTS) holds the full results; the checkout's `results/<profile>/` the committed compact ones.
Run it again to go on: what is cached or committed is not trained again. What a chapter computes besides sweeps
(chapter 1's continuations, chapters 8-9's models) trains, is exported and is committed as soon as the chapter's
sweeps are trained, by the process that trained the last of them; when all is committed, the profile's scorecard
(`python -m monosem scorecard`) is written and committed too. Only the `git` calls make this a script of the
repository rather than of the library.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from monosem import pipeline, runner
from monosem.cache import Cache
from monosem.config import Sweep
from monosem.profiles import Profile, get_profile
from monosem.results import SweepResult

ROOT = Path(__file__).resolve().parents[1]


def git(*args: str) -> None:
    for _ in range(20):  # another git command may hold the index lock for a moment
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode == 0 or "index.lock" not in proc.stderr:
            if proc.returncode:
                print(proc.stdout, proc.stderr, file=sys.stderr)
            return
        time.sleep(3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="long")
    parser.add_argument("--budget", type=float, default=None, metavar="MINUTES")
    parser.add_argument(
        "--reverse",
        action="store_true",
        help="take the sweeps last first: a second process beside one in order (each one thread, "
        "OMP_NUM_THREADS=1) uses both cores of a small machine without the two waiting on one sweep",
    )
    parser.add_argument(
        "--first",
        default="",
        metavar="NAMES",
        help="these sweeps (comma-separated names) before the others, e.g. the last one a chapter needs",
    )
    args = parser.parse_args()
    profile = get_profile(args.profile)
    cache = Cache.for_profile(profile.name)
    target = Cache(ROOT / "results" / profile.name, cache.version)
    if target.root.resolve() == cache.root.resolve():
        raise SystemExit("set MONOSEM_RESULTS to a cache outside the checkout: results/ holds the committed exports")
    weights = pipeline.weights_needed()
    start = time.perf_counter()
    sweeps = runner.distinct(pipeline.chapter_sweeps(profile), cache)
    first = [n for n in args.first.split(",") if n]
    unknown = set(first) - {s.name for s in sweeps}
    if unknown:
        raise SystemExit(f"--first names no sweep of profile {profile.name}: {', '.join(sorted(unknown))}")
    ordered = list(reversed(sweeps)) if args.reverse else sweeps
    queue = sorted(ordered, key=lambda s: s.name not in first)  # stable: the rest keep their order
    while queue:
        # a sweep the other process is training waits until last (then it is read from the cache, or waited for)
        sweep = next((s for s in queue if not cache.busy(s)), queue[0])
        queue.remove(sweep)
        committed = target.path(sweep)
        if committed.exists() and not cache.exists(sweep):
            continue  # trained and committed before; the book reads it from results/
        if not cache.valid(sweep):
            elapsed = (time.perf_counter() - start) / 60
            if args.budget is not None and elapsed > args.budget:
                print(f"budget of {args.budget:g} min spent after {elapsed:.1f} min; run again to go on", flush=True)
                return 3
            print(f"training {sweep.name} ({sweep.n_inst} models, {sweep.configs[0].n_steps} steps)", flush=True)
        result = cache.get_or_train(sweep, progress=True)
        if committed.exists():
            continue
        runner.export_compact(cache, [sweep], weights, target)
        commit_sweep(profile, sweep, result, committed)
        compute_ready(profile, sweep, cache, target)
    pipeline.compute_all(profile, None, cache)
    commit_computations(profile, None, cache, target, "what the chapters compute besides sweeps")
    # the scorecard of what was committed, for the introduction's and the README's table of what each profile tests
    written = [pipeline.save_scorecard(profile, target), ROOT / pipeline.PROFILE_TABLE, ROOT / "README.md"]
    paths = [str(p.relative_to(ROOT)) for p in written]
    git("add", "-f", *paths)
    git(
        "commit", "-m", f"results/{profile.name}: its scorecard, and the table of what each profile tests", "--", *paths
    )
    print("every sweep is trained and committed", flush=True)
    return 0


def commit_sweep(profile: Profile, sweep: Sweep, result: SweepResult, committed: Path) -> None:
    settled = int(result.converged().sum())
    git("add", "-f", str(committed.relative_to(ROOT)))
    git(
        "commit",
        "-m",
        f"results/{profile.name}: {sweep.name} ({sweep.n_inst} models, {result.seconds / 60:.0f} min of training, "
        f"{settled} settled)",
        "--",
        str(committed.relative_to(ROOT)),
    )


def compute_ready(profile: Profile, finished: Sweep, cache: Cache, target: Cache) -> None:
    """Train, export and commit what each chapter that trains `finished` computes besides sweeps, once every sweep
    of that chapter is cached (the process that trains a chapter's last sweep computes it; the other goes on)."""
    for page, part in pipeline.train_parts().items():
        sweeps = part.sweeps(profile)
        if not hasattr(part, "compute") or finished.key(cache.version) not in {s.key(cache.version) for s in sweeps}:
            continue
        if all(cache.valid(cache.seeded(s)) for s in sweeps):
            pipeline.compute_all(profile, [page], cache)
            commit_computations(profile, [page], cache, target, f"what {page} computes besides sweeps")


def commit_computations(profile: Profile, pages: list[str] | None, cache: Cache, target: Cache, what: str) -> None:
    paths = [str(p.relative_to(ROOT)) for p in pipeline.export_computations(profile, pages, cache, target)]
    if paths:
        git("add", "-f", *paths)
        git("commit", "-m", f"results/{profile.name}: {what}", "--", *paths)


if __name__ == "__main__":
    sys.exit(main())
