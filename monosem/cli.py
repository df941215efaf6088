"""Command line: `python -m monosem {book,run,list,bench,test}`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from monosem import book as book_pipeline
from monosem.profiles import BATCHES, PROFILES, get_profile


def _profile_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        default="auto",
        help=f"auto (paper with CUDA, else cpu) or one of: {', '.join(PROFILES)}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monosem", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("book", help="execute every chapter with papermill and build the html book")
    _profile_arg(p)
    p.add_argument("--out", type=Path, default=None, help="write the html to OUT/_build/html (default: ./_build/html)")
    p = sub.add_parser("run", help="re-execute one chapter and rebuild the book")
    p.add_argument("chapter", help="chapter name or number, see `list`")
    _profile_arg(p)
    sub.add_parser("list", help="list chapters, profiles and Table 1 batches")
    p = sub.add_parser("bench", help="per-model loop vs batched trainer, side by side")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--steps", type=int, default=200, help="timed steps per trainer (default 200)")
    _profile_arg(p)
    sub.add_parser(
        "test",
        help="the test suite: unit tests and every chapter under nbmake at the ci profile; "
        "further arguments go to pytest",
    )
    args, extra = parser.parse_known_args(argv)  # `test` passes what it does not know on to pytest
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    try:
        if args.command == "list":
            print("chapters:", *book_pipeline.chapters(), sep="\n  ")
            print("profiles:", *(f"{p.name:6s} {p.description}" for p in PROFILES.values()), sep="\n  ")
            print("batches:", ", ".join(BATCHES))
            return 0
        if args.command == "book":
            profile = get_profile(args.profile)
            html = book_pipeline.build(profile.name, out=args.out)
            print(f"book built at profile {profile.name}: {html / 'index.html'}")
            return 0
        if args.command == "run":
            profile = get_profile(args.profile)
            chapter = book_pipeline.resolve_chapter(args.chapter)
            html = book_pipeline.build(profile.name, only=[chapter])
            print(f"{chapter} re-executed at profile {profile.name}: {html / (chapter + '.html')}")
            return 0
        if args.command == "bench":
            from monosem.bench import run_bench

            run_bench(get_profile(args.profile if args.profile != "auto" else "cpu"), args.device, args.steps)
            return 0
        if args.command == "test":
            return run_tests(extra)
    except ValueError as err:
        parser.error(str(err))
    except book_pipeline.ChapterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as err:
        print(
            f"error: {' '.join(map(str, err.cmd[:2]))} failed with exit code {err.returncode}; see above",
            file=sys.stderr,
        )
        return err.returncode or 1
    return 2


def run_tests(extra: list[str]) -> int:
    """Unit tests plus every chapter, converted and parameterised at the ci profile, under nbmake."""
    # not under _build/: nbmake skips every path with a "_build" part
    notebooks = book_pipeline.ROOT / ".ci-notebooks"
    for old in notebooks.glob("*.ipynb"):
        old.unlink()
    for chapter in book_pipeline.chapters():
        book_pipeline.prepare(chapter, "ci", notebooks, execute=False)
    cmd = [sys.executable, "-m", "pytest", "tests", "--nbmake", *map(str, sorted(notebooks.glob("*.ipynb"))), *extra]
    return subprocess.run(cmd, cwd=Path(book_pipeline.ROOT)).returncode


if __name__ == "__main__":
    sys.exit(main())
