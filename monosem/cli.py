"""Command line: `python -m monosem {book,run,train,export,scorecard,list,bench,test}`."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from monosem import chapters as registry
from monosem import cluster, pipeline, runner
from monosem.cache import Cache, CacheError
from monosem.profiles import PROFILES, get_profile


def _profile_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        default="auto",
        help="auto (paper with CUDA; else long once every result it needs is committed in results/long/; else cpu) "
        f"or one of: {', '.join(PROFILES)}",
    )


def _chapters_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chapter", action="append", default=None, help="only this chapter's batches (repeatable; default: all)"
    )


def _allow_cpu_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-cpu", action="store_true", help="train the paper profile even without CUDA (refused otherwise)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monosem", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("book", help="execute every chapter with papermill and build the html book")
    _profile_arg(p)
    p.add_argument("--out", type=Path, default=None, help="write the html to OUT/_build/html (default: ./_build/html)")
    _allow_cpu_arg(p)
    p = sub.add_parser("run", help="re-execute one chapter and rebuild the book")
    p.add_argument("chapter", help="chapter name or number, see `list`")
    _profile_arg(p)
    _allow_cpu_arg(p)
    p = sub.add_parser(
        "train",
        help="train (into the cache) what the chapters need, without building the book",
        epilog=f"exit status: 0 when everything asked for is trained; {runner.EXIT_WORK_LEFT} when --budget "
        "stopped the run with work left (run the same command again to go on); 1 on an error; 130 on Ctrl-C",
    )
    _profile_arg(p)
    _chapters_arg(p)
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="MINUTES",
        help="stop before a sweep that would end later, and start no chapter's own training (chapters 8-9) after "
        f"it; exit status {runner.EXIT_WORK_LEFT} if work is left",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="train every sweep as a Ray task (one GPU each, else CPUs): alone, on a local Ray instance started here; "
        "with auto or HOST:PORT, on a running Ray cluster",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="S",
        help="train every batch at S seeds, at most 32 (a batch that sweeps seed keeps its own)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="run every step's forward and backward through torch.compile (needs a C compiler; pays on a GPU, not "
        "on two CPU cores: `bench --compile`); results equal the eager ones to float32 rounding, not bit for bit, "
        "and record that they were compiled",
    )
    _allow_cpu_arg(p)
    p = sub.add_parser(
        "export", help="write the compact form of cached results (summaries, traces, the weights figures need)"
    )
    p.add_argument("--to", required=True, help="results root to write, as TO/<profile>/<sweep>.pt")
    _profile_arg(p)
    _chapters_arg(p)
    p = sub.add_parser(
        "scorecard",
        help="compute a profile's scorecard from its results and write its summary (results/scorecards/P.json) and "
        "the tables of what each profile tests (book/testable.md, README.md), to be committed",
    )
    p.add_argument("--profile", required=True, help=f"one of: {', '.join(p for p in PROFILES if p != 'ci')}")
    p = sub.add_parser("list", help="list chapters, profiles and Table 1 batches")
    p.add_argument(
        "--profile", default=None, help="also: each batch's size and work, and its training time if it is cached"
    )
    p = sub.add_parser("bench", help="per-model loop vs batched trainer, side by side")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--steps", type=int, default=200, help="timed steps per trainer (default 200)")
    p.add_argument("--compile", action="store_true", help="also time the batched trainer under torch.compile")
    p.add_argument(
        "--repeats", type=int, default=3, help="rounds in which the trainers take turns; medians are reported"
    )
    p.add_argument(
        "--profile-step", action="store_true", help="instead: where a step of the batched trainer spends its time"
    )
    p.add_argument("--draw", action="store_true", help="instead: the data draw's two forms (CPU's, GPU's) side by side")
    p.add_argument(
        "--sparse",
        action="store_true",
        help="instead: the decoder's step dense and sparse side by side, on the profile's sweeps that train sparse",
    )
    p.add_argument(
        "--batch", type=int, default=0, help="with --sparse: samples a step instead of each sweep's own (0: its own)"
    )
    p.add_argument(
        "--tf32",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let every trainer's CUDA matmuls use TF32 (default: on with CUDA, as `train` does)",
    )
    _profile_arg(p)
    sub.add_parser(
        "test",
        help="the test suite: unit tests and every chapter under nbmake at the ci profile; "
        "further arguments go to pytest",
        description="The test suite: unit tests and every chapter under nbmake at the ci profile. Every argument "
        "this command does not know is passed on to pytest (e.g. -x, -k NAME, -q).",
    )
    args, extra = parser.parse_known_args(argv)  # `test` passes what it does not know on to pytest
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    try:
        if args.command == "list":
            print(
                "chapters:",
                *(f"{c.page}{' (beyond the paper)' if c.beyond_paper else ''}" for c in registry.CHAPTERS),
                sep="\n  ",
            )
            print("profiles:", *(f"{p.name:6s} {p.description}" for p in PROFILES.values()), sep="\n  ")
            listed = get_profile(args.profile or "ci")
            names = [s.name for s in runner.distinct(pipeline.chapter_sweeps(listed), Cache.for_profile(listed.name))]
            print("batches:", ", ".join(names))
            if args.profile is not None:
                profile = pipeline.resolve_profile(args.profile)
                cache = Cache.for_profile(profile.name)
                table = runner.batch_table(cache, pipeline.chapter_sweeps(profile))
                print(f"\nprofile {profile.name}, cache {cache.root}:")
                print(pd.DataFrame(table).to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="-"))
            return 0
        if args.command == "scorecard":
            profile = pipeline.resolve_profile(args.profile)
            if profile.name == "ci":
                raise ValueError("the ci profile's verdicts mean nothing (toy models): no scorecard is kept for it")
            path = pipeline.save_scorecard(profile)
            print(pipeline.profile_tables())
            print(f"wrote {path}, {pipeline.PROFILE_TABLE} and README.md's table: commit them")
            return 0
        if args.command == "book":
            profile = pipeline.resolve_profile(args.profile)
            html = pipeline.build(profile.name, out=args.out, allow_cpu=args.allow_cpu)
            print(f"book built at profile {profile.name}: {html / 'index.html'}")
            return 0
        if args.command == "run":
            profile = pipeline.resolve_profile(args.profile)
            chapter = pipeline.resolve_chapter(args.chapter)
            html = pipeline.build(profile.name, only=[chapter], allow_cpu=args.allow_cpu)
            print(f"{chapter} re-executed at profile {profile.name}: {html / 'book' / (chapter + '.html')}")
            return 0
        if args.command in ("train", "export"):
            profile = pipeline.resolve_profile(args.profile)
            chosen = None if args.chapter is None else [pipeline.resolve_chapter(c) for c in args.chapter]
            sweeps = pipeline.chapter_sweeps(profile, chosen)
            cache = Cache.for_profile(profile.name)
            if args.command == "export":
                if not args.to.strip():
                    raise ValueError("--to must name a folder, got an empty path")
                target = Cache(Path(args.to) / profile.name, cache.version)
                runner.export_compact(cache, sweeps, pipeline.weights_needed(chosen), target)
                pipeline.export_computations(profile, chosen, cache, target)
                return 0
            if args.budget is not None and not args.budget > 0:
                raise ValueError(f"--budget must be a positive number of minutes, got {args.budget}")
            if args.seeds is not None:
                sweeps = runner.with_seeds(sweeps, args.seeds)
            gpu_sized = profile.name == "paper" and not args.allow_cpu
            deadline = None if args.budget is None else time.monotonic() + args.budget * 60
            try:
                if args.ray is not None:
                    if args.budget is not None:
                        raise ValueError("--budget cannot be used with --ray: every task starts at once")
                    if args.compile:
                        raise ValueError("--compile cannot be used with --ray: a Ray task trains eager")
                    cluster.train_on_ray(
                        cache, sweeps, label=profile.name, address=args.ray or None, gpu_sized=gpu_sized
                    )
                    # What chapters compute besides sweeps (chapters 8-9: small models with their own loops) trains
                    # here, on the driver.
                    pipeline.compute_all(profile, chosen, cache, gpu_sized=gpu_sized, deadline=deadline)
                else:
                    budget = None if args.budget is None else args.budget * 60
                    pipeline.train(
                        profile,
                        chosen,
                        cache,
                        args.seeds,
                        gpu_sized=gpu_sized,
                        deadline=deadline,
                        budget_s=budget,
                        compile=args.compile,
                    )
            except runner.BudgetSpent as err:
                print(err)
                return runner.EXIT_WORK_LEFT
            return 0
        if args.command == "bench":
            from monosem.bench import draw_forms, profile_step, run_bench, sparse_decoder

            if args.steps < 1:
                raise ValueError(f"--steps must be >= 1, got {args.steps}")
            bench_profile = get_profile(args.profile if args.profile != "auto" else "cpu")
            if args.draw:
                draw_forms(bench_profile, args.device, args.repeats)
            elif args.sparse:
                sweeps = runner.distinct(pipeline.chapter_sweeps(bench_profile), Cache.for_profile(bench_profile.name))
                sparse_decoder(bench_profile, sweeps, args.device, args.repeats, args.steps, args.batch)
            elif args.profile_step:
                profile_step(bench_profile, args.device, args.steps)
            else:
                run_bench(
                    bench_profile, args.device, args.steps, compile=args.compile, repeats=args.repeats, tf32=args.tf32
                )
            return 0
        if args.command == "test":
            return run_tests(extra)
    except ValueError as err:
        parser.error(str(err))
    except (pipeline.ChapterError, runner.RunnerError, CacheError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a place that cannot be written (read-only, a file in the way, a full disk)
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except runner.Interrupted as err:
        print(err, file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except subprocess.CalledProcessError as err:
        print(
            f"error: {' '.join(map(str, err.cmd[:2]))} failed with exit code {err.returncode}; see above",
            file=sys.stderr,
        )
        return err.returncode or 1
    return 2


def run_tests(extra: list[str]) -> int:
    """Unit tests plus every chapter, converted and parameterised at the ci profile, under nbmake. The ci profile is
    trained first (pages only read the cache); the tests' `ci_trained` fixture then finds it there."""
    pipeline.train(get_profile("ci"))
    # not under _build/: nbmake skips every path with a "_build" part
    notebooks = pipeline.ROOT / ".ci-notebooks"
    for old in notebooks.glob("*.ipynb"):
        old.unlink()
    for chapter in pipeline.chapters():
        pipeline.prepare(chapter, "ci", notebooks, execute=False)
    cmd = [sys.executable, "-m", "pytest", "tests", "--nbmake", *map(str, sorted(notebooks.glob("*.ipynb"))), *extra]
    return subprocess.run(cmd, cwd=Path(pipeline.ROOT)).returncode


if __name__ == "__main__":
    sys.exit(main())
