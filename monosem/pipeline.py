"""The notebook-to-book pipeline: jupytext (.py chapters) -> papermill (one `profile` parameter) -> jupyter-book.

Chapters are executed here, never inside `jupyter-book build` (execution is off in `_config.yml`). Each
profile is staged in its own folder, `_build/stage/<profile>/`, so that building the `ci` book never
overwrites the executed notebooks of the `cpu` or `paper` book. The html lands in `_build/html`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

from monosem import chapters as registry
from monosem import runner
from monosem.cache import MAX_SEEDS, Cache, CacheError, process_alive
from monosem.chapters import scorecard
from monosem.config import Sweep
from monosem.profiles import PROFILES, Profile, get_profile

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STATIC = ("_config.yml", "_toc.yml")
SCORECARD = "00_scorecard"
# Every profile's scorecard in a few numbers (`save_scorecard`), committed, and the two texts made of them: the
# introduction includes the first whole; the README holds the second between the markers.
SCORECARDS = Path("results") / "scorecards"
PROFILE_TABLE = Path("book") / "testable.md"
README_MARKERS = ("<!-- what each profile tests: start -->", "<!-- what each profile tests: end -->")


def train_parts(names: list[str] | None = None) -> dict[str, ModuleType]:
    """What the chapters named (pages such as "01_basins"; all by default) train, by page, in book order: each
    chapter's `train` module, and for the scorecard those of every paper chapter (it trains nothing of its own)."""
    chosen = registry.CHAPTERS if names is None else [registry.get(n) for n in names]
    needed = {c.page: c for chapter in chosen for c in registry.trains(chapter)}
    return {c.page: registry.train_part(c) for c in registry.CHAPTERS if c.page in needed}


def chapter_sweeps(profile: Profile, names: list[str] | None = None) -> list[Sweep]:
    """Every sweep the chapters named (all chapters by default) train, in chapter order, repeats included
    (the runner trains each configuration once)."""
    return [s for part in train_parts(names).values() for s in part.sweeps(profile)]


def compute_all(
    profile: Profile, names: list[str] | None, cache: Cache, gpu_sized: bool = False, deadline: float | None = None
) -> None:
    """Train what the chapters (all, or those named) need besides sweeps (their optional `compute`). At the
    paper profile on a machine without CUDA (`gpu_sized`), nothing: say which chapters were left. deadline (a
    `time.monotonic()` value, from `train --budget`): start no chapter's training after it; `runner.BudgetSpent`
    names the chapters with training left (a computation already cached is not work left)."""
    hooks = {c: getattr(part, "compute", None) for c, part in train_parts(names).items()}
    hooks = {c: h for c, h in hooks.items() if h is not None}
    if hooks and gpu_sized and not torch.cuda.is_available():
        print(f"not trained here (no CUDA; --allow-cpu trains them anyway): the models of {', '.join(hooks)}")
        return
    if hooks:
        cache.check_writable()  # before training, not when its result is saved
    for i, (chapter, hook) in enumerate(hooks.items()):
        if deadline is not None and time.monotonic() > deadline:
            left = [c for c, h in list(hooks.items())[i:] if not _computed(h, profile, cache)]
            if left:
                raise runner.BudgetSpent(
                    f"the time budget is spent: what {', '.join(left)} train besides sweeps is not trained yet; "
                    "run again to go on"
                )
            return
        print(f"training (or reading from the cache) what {chapter} needs besides sweeps", flush=True)
        print(f"      {chapter}: {hook(profile, cache) / 60:.1f} min of training (as recorded)", flush=True)


def _computed(hook: Callable[..., float], profile: Profile, cache: Cache) -> bool:
    try:
        hook(profile, Cache(cache.root, cache.version, read_only=True), progress=False)
    except CacheError:
        return False
    return True


def export_computations(
    profile: Profile, names: list[str] | None, cache: Cache, target: Cache, log: Callable[[str], object] = print
) -> list[Path]:
    """Copy into `target` the cached results of what the chapters (all, or those named) compute besides sweeps
    (their `compute`), as they are; every one must be cached already (RunnerError names the first that is not)."""
    written = []
    for chapter, part in train_parts(names).items():
        hook = getattr(part, "compute", None)
        if hook is None:
            continue
        reader = Cache(cache.root, cache.version, read_only=True)
        try:
            hook(profile, reader, progress=False)
        except CacheError as err:
            raise runner.RunnerError(f"{chapter}: {err}; train it first (python -m monosem train)") from None
        target.root.mkdir(parents=True, exist_ok=True)
        for path in sorted(reader.used):
            shutil.copy2(path, target.root / path.name)
            log(f"{chapter}: {path.name} ({path.stat().st_size / 1e6:.1f} MB) -> {target.root}")
            written.append(target.root / path.name)
    return written


def _sweep_files(profile: Profile, cache: Cache) -> tuple[set[str], set[str]]:
    """The names of `profile`'s sweeps, and the file names the current code reads them from (at any seeds)."""
    sweeps = runner.distinct(chapter_sweeps(profile), cache)
    current = {cache.path(s.with_seeds(n)).name for s in sweeps for n in range(1, MAX_SEEDS + 1)}
    return {s.name for s in sweeps}, current


def stale_results(profile: Profile, root: Path) -> list[str]:
    """The result files in `root` (a folder of committed results of `profile`, e.g. results/long) that no sweep or
    computation of the current code would read: trained under another configuration or RESULTS_VERSION. A sweep's
    file may be the sweep at any number of seeds (`train --seeds S`); what chapters compute besides sweeps is
    checked once every one of them is there (before that, what is missing is not yet committed, not stale)."""
    cache = Cache(root, read_only=True)
    names, current = _sweep_files(profile, cache)
    files = sorted(p.name for p in root.glob("*.pt"))
    stale = [f for f in files if f.rpartition("-")[0] in names and f not in current]
    others = [f for f in files if f.rpartition("-")[0] not in names]
    if others:
        for part in train_parts().values():
            hook = getattr(part, "compute", None)
            if hook is not None:
                try:
                    hook(profile, cache, progress=False)
                except CacheError:
                    return stale  # not every computation is committed yet: none of them can be judged
        stale += [f for f in others if root / f not in cache.used]
    return stale


def not_committed(profile: Profile, results: Path = ROOT / "results") -> list[str]:
    """What the whole book at `profile` reads that `results/<profile>/` does not hold at this code's keys (sweeps
    by name, then the chapters whose computations besides sweeps are missing): empty when the committed results
    alone render the book, training nothing."""
    target = Cache(results / profile.name, read_only=True)
    missing = [s.name for s in runner.distinct(chapter_sweeps(profile), target) if not target.exists(s)]
    if missing:
        return missing  # the computations read the sweeps: without them they cannot even be looked up
    hooks = {c: getattr(part, "compute", None) for c, part in train_parts().items()}
    return [c for c, hook in hooks.items() if hook is not None and not _computed(hook, profile, target)]


def save_scorecard(profile: Profile, cache: Cache | None = None, root: Path = ROOT) -> Path:
    """Compute `profile`'s scorecard from its results (the profile's cache by default; NotTrained names what is
    missing), commit-ready: its summary (`scorecard.summary`) as root/SCORECARDS/<profile>.json, and the tables
    made of every summary there rewritten (`write_profile_tables`). Returns the summary's path."""
    view = registry.reader(profile, cache, "scorecard")
    card = scorecard.load(profile, view)
    # the files it read: every sweep of the profile (at the most seeds cached, as the chapters read them) and what
    # the chapters computed besides sweeps
    sweeps = [view.seeded(s) for s in runner.distinct(chapter_sweeps(profile), view)]
    files = [view.path(s).name for s in sweeps if view.exists(s)] + [p.name for p in view.used]
    path = root / SCORECARDS / f"{profile.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scorecard.summary(card, files), indent=1) + "\n")
    write_profile_tables(root)
    return path


def scorecard_summaries(root: Path = ROOT) -> list[dict]:
    """The committed summaries (`save_scorecard`), in the order of the profiles (`monosem.profiles.PROFILES`)."""
    folder = root / SCORECARDS
    unknown = sorted(p.stem for p in folder.glob("*.json") if p.stem not in PROFILES)
    if unknown:
        raise ValueError(
            f"{folder} holds scorecards of no profile: {', '.join(unknown)} (profiles: {', '.join(PROFILES)})"
        )
    paths = [folder / f"{name}.json" for name in PROFILES if (folder / f"{name}.json").exists()]
    return [json.loads(p.read_text()) for p in paths]


def profile_tables(root: Path = ROOT) -> str:
    """The table of what each profile tests (`scorecard.by_profile`) over the committed summaries, with where it
    comes from: the text of root/PROFILE_TABLE and of the README between README_MARKERS."""
    note = (
        f"<!-- generated from {SCORECARDS.as_posix()}/*.json by `python -m monosem scorecard --profile P`: "
        "do not edit -->\n"
    )
    return note + scorecard.by_profile(scorecard_summaries(root))


def write_profile_tables(root: Path = ROOT) -> None:
    """Rewrite root/PROFILE_TABLE and the README's block between README_MARKERS from the committed summaries."""
    text = profile_tables(root)
    (root / PROFILE_TABLE).write_text(text)
    readme = root / "README.md"
    if readme.exists():
        start, end = README_MARKERS
        head, found, rest = readme.read_text().partition(start)
        _, found_end, tail = rest.partition(end)
        if not (found and found_end):
            raise ValueError(f"{readme} lacks the markers {start} ... {end} between which the table goes")
        readme.write_text(f"{head}{start}\n{text}{end}{tail}")


def stale_scorecards(root: Path = ROOT) -> list[str]:
    """The committed summaries computed from a result the current code no longer reads: a sweep file whose sweep
    is the profile's but whose key is not the current one (another configuration or RESULTS_VERSION). As "profile:
    file". (What chapters compute besides sweeps is keyed by the sweeps it starts from, so a changed sweep shows
    here; a changed computation alone, or a sweep no longer trained, does not: its file cannot be told from theirs.)"""
    stale = []
    for data in scorecard_summaries(root):
        profile = get_profile(str(data["profile"]))
        names, current = _sweep_files(profile, Cache(root / "results" / profile.name, read_only=True))
        for f in data["files"]:
            sweep = f.rpartition("-")[0]
            if sweep in names and f not in current:
                stale.append(f"{profile.name}: {f}")
    return stale


def default_profile(results: Path = ROOT / "results") -> str:
    """The profile the command line means by "auto": `paper` where CUDA is available; else `long`, once every
    result it needs is committed (`not_committed`: the default book then renders the paper's run lengths from
    `results/long/` in minutes, training nothing); else `cpu`, the quick profile that trains on two cores."""
    if torch.cuda.is_available():
        return "paper"
    return "long" if not not_committed(get_profile("long"), results) else "cpu"


def resolve_profile(name: str) -> Profile:
    """The profile `name` names, "auto" as `default_profile` decides."""
    return get_profile(default_profile() if name == "auto" else name)


def weights_needed(names: list[str] | None = None) -> set[str]:
    """The sweeps whose final weights the chapters' figures need: the compact export keeps only these."""
    return set().union(*(part.WEIGHTS for part in train_parts(names).values()))


def chapters() -> list[str]:
    """The chapters' pages (such as "01_basins"), in book order (the registry's, `monosem.chapters.CHAPTERS`)."""
    return [c.page for c in registry.CHAPTERS]


def resolve_chapter(name: str) -> str:
    """A chapter's page by its page ("01_basins"), its number ("1", "01") or its name ("basins")."""
    return registry.get(name).page


def train(
    profile: Profile,
    names: list[str] | None = None,
    cache: Cache | None = None,
    seeds: int | None = None,
    gpu_sized: bool = False,
    deadline: float | None = None,
    budget_s: float | None = None,
    log: Callable[[str], object] = print,
    progress: bool = True,
    compile: bool = False,
) -> None:
    """Train into `cache` (by default the profile's) everything the chapters named (all by default) read: their
    sweeps (at `seeds` seeds, `train --seeds`), then what they train besides (`compute`). With `python -m monosem
    train --ray`, the only place anything trains: pages only read. `deadline` (a `time.monotonic()` value) and
    `budget_s` are `train --budget`'s (`runner.BudgetSpent` when work is left); `compile`, `train --compile`'s
    (`runner.train_all`)."""
    cache = Cache.for_profile(profile.name) if cache is None else cache
    sweeps = chapter_sweeps(profile, names)
    if seeds is not None:
        sweeps = runner.with_seeds(sweeps, seeds)
    runner.train_all(
        cache,
        sweeps,
        label=profile.name,
        budget_s=budget_s,
        gpu_sized=gpu_sized,
        log=log,
        progress=progress,
        compile=compile,
    )
    compute_all(profile, names, cache, gpu_sized=gpu_sized, deadline=deadline)


class ChapterError(Exception):
    """A chapter raised while executing."""


def _kernel_env() -> None:
    # The "python3" kernel is started through PATH: make it this interpreter (the virtualenv's).
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def prepare(chapter: str, profile: str, out_dir: Path, execute: bool = True, book_dir: Path = BOOK) -> Path:
    """Convert one chapter to a notebook with `profile` injected; execute it unless `execute` is False."""
    # Imported here so that `python -m monosem train` runs where only the training stack is installed.
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _kernel_env()
    out_dir.mkdir(parents=True, exist_ok=True)
    source = jupytext.read(book_dir / f"{chapter}.py")
    source.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = out_dir / f"{chapter}.ipynb"
    _remove_dead_running(out_dir)
    # One name per process: two runs staging the same profile never write one file.
    tmp = out_dir / f".{chapter}.running-{os.getpid()}.ipynb"
    failed = out_dir / f".{chapter}.failed.ipynb"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            source,
            str(tmp),
            parameters={"profile": profile},
            prepare_only=not execute,
            kernel_name="python3",
            cwd=str(book_dir),
            progress_bar=execute,
        )
        if execute:
            _hide_parameters(tmp)
            _stamp(tmp, chapter, profile, time.perf_counter() - start)
        # Replace the previous notebook only once this one has executed without error.
        os.replace(tmp, out)
    except PapermillExecutionError as err:
        if tmp.exists():
            os.replace(tmp, failed)
        raise ChapterError(
            f"chapter {chapter} failed at profile {profile}: {err.ename}: {err.evalue}\n"
            f"the partly executed notebook is {failed}; the last good one, if any, is still {out}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)  # Ctrl-C or any other error: nothing half-written stays behind
    return out


def _remove_dead_running(out_dir: Path) -> None:
    """Remove the running notebooks of runs that died (SIGKILL) before they could clean up."""
    for path in out_dir.glob(".*.running-*.ipynb"):
        pid = path.stem.rpartition("-")[2]
        if pid.isdigit() and not process_alive(int(pid)):
            path.unlink(missing_ok=True)


def _hide_parameters(path: Path) -> None:
    """Keep the parameter cells (the chapter's default and papermill's injected one) out of the rendered page;
    the chapter's prose states the profile it ran at."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)


def rerun_note(chapter: str, profile: str, seconds: float, train_minutes: float) -> str:
    """The line at the top of an executed chapter: how to re-run it, at which profile it ran and how long it took."""
    return (
        f"```{{admonition}} Re-run this page\n:class: tip\n"
        f"`python -m monosem run {chapter} --profile {profile}` re-executes it and rebuilds the book. This page was "
        f"executed at the **{profile}** profile in {seconds:.0f} s; training its models took {train_minutes:.1f} "
        "min (as recorded when they were trained; models already in the cache are not retrained).\n```"
    )


def _stamp(path: Path, chapter: str, profile: str, seconds: float) -> None:
    """Put `rerun_note` right after the chapter's title (its first markdown cell)."""
    import nbformat

    cache = Cache.for_profile(get_profile(profile).name)
    sweeps = {s.key(cache.version): s for s in chapter_sweeps(get_profile(profile), [chapter])}
    minutes = sum(cache.load(s).seconds for s in sweeps.values() if cache.exists(s)) / 60
    reader = Cache(cache.root, cache.version, read_only=True)  # trained by now: stamping a page trains nothing
    for part in train_parts([chapter]).values():
        compute = getattr(part, "compute", None)
        if compute is not None:
            minutes += compute(get_profile(profile), reader, progress=False) / 60
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell(rerun_note(chapter, profile, seconds, minutes))
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(first + 1, cell)
    nbformat.write(nb, path)


def stage_dir(profile: str, root: Path = ROOT) -> Path:
    return root / "_build" / "stage" / profile


def build(
    profile: str, only: list[str] | None = None, root: Path = ROOT, out: Path | None = None, allow_cpu: bool = False
) -> Path:
    """Execute the chapters (all, or only those named) at `profile` and build the html book into
    `out/_build/html` (by default the repository's `_build/html`).

    Chapters not named are reused from the stage folder when they were executed before, else executed.
    Returns the html folder.
    """
    out = root if out is None else Path(out)
    _check_writable(out / "_build")  # before any chapter runs, not after the last
    stage = stage_dir(profile, root)
    (stage / "book").mkdir(parents=True, exist_ok=True)
    for name in STATIC:
        shutil.copy2(root / name, stage / name)
    for page in [*(root / "book").glob("*.md"), *(root / "book").glob("*.bib")]:
        shutil.copy2(page, stage / "book" / page.name)
    every = [c for c in chapters() if (root / "book" / f"{c}.py").exists()]
    todo = [c for c in every if only is None or c in only or not (stage / "book" / f"{c}.ipynb").exists()]
    unstaged = [c for c in todo if only is not None and c not in only]
    if unstaged:
        print(f"never executed at profile {profile}, so executed too (with their sweeps): {', '.join(unstaged)}")
    # The scorecard is generated from every chapter's results: re-executed whenever any chapter is.
    if todo and SCORECARD in every and SCORECARD not in todo:
        todo.insert(0, SCORECARD)
    profile_obj = get_profile(profile)
    # everything the chapters read is trained here, before any page executes: a page never trains
    train(profile_obj, todo, gpu_sized=profile_obj.name == "paper" and not allow_cpu)
    failures = []
    for i, chapter in enumerate(todo, 1):
        start = time.perf_counter()
        print(f"[{i}/{len(todo)}] executing {chapter} at profile {profile}", flush=True)
        try:
            prepare(chapter, profile, stage / "book", book_dir=root / "book")
        except ChapterError as err:  # the other chapters still run, and the book is built with the rest
            print(f"[{i}/{len(todo)}] {err}", file=sys.stderr, flush=True)
            failures.append(chapter)
            continue
        print(f"[{i}/{len(todo)}] {chapter} done in {time.perf_counter() - start:.0f} s", flush=True)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book), "build", str(stage), "--path-output", str(out), "--all", "-W", "--keep-going"]
    built = subprocess.run(cmd, check=not failures).returncode == 0
    if failures:
        raise ChapterError(
            f"{len(failures)} of {len(todo)} chapters failed at profile {profile}: {', '.join(failures)} (see "
            f"above); the book was built {'' if built else 'with errors '}at {out / '_build' / 'html'}, their pages "
            "from their last good run, if any"
        )
    return out / "_build" / "html"


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ChapterError(f"cannot write the book to {folder}: {err.strerror or err} (nothing was executed)") from None
