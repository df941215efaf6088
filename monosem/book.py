"""The notebook-to-book pipeline: jupytext (.py chapters) -> papermill (one `profile` parameter) -> jupyter-book.

Chapters are executed here, never inside `jupyter-book build` (execution is off in `_config.yml`). Each
profile is staged in its own folder, `_build/stage/<profile>/`, so that building the `ci` book never
overwrites the executed notebooks of the `cpu` or `paper` book. The html lands in `_build/html`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from monosem import schedule
from monosem.profiles import get_profile

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STATIC = ("_config.yml", "_toc.yml")
# The Table 1 batches each chapter trains: `build` trains them all first, each once, with an estimate of
# the time left, so that executing the chapters afterwards only reads the cache.
CHAPTER_BATCHES = {
    "01_basins": ("LR1", "LR2"),
    "02_negative_bias": ("LR1", "LR2", "LR3", "LR4", "B1", "B2", "B3", "B4", "B5", "GELU", "LR3x2"),
}
# The batches whose final weights a chapter's figures need (heat maps of single-feature activations): the
# compact results committed for the paper profile keep these weights and drop the others'.
WEIGHTS_NEEDED = {"LR1", "LR3"}


def chapter_batches(names: list[str] | None = None) -> list[str]:
    """The distinct batches of the chapters named (all chapters by default), in chapter order."""
    names = chapters() if names is None else names
    return list(dict.fromkeys(b for c in names for b in CHAPTER_BATCHES.get(c, ())))


def chapters(book_dir: Path = BOOK) -> list[str]:
    """Chapter names (file stems such as "01_basins"), in book order."""
    return sorted(p.stem for p in book_dir.glob("[0-9][0-9]_*.py"))


def resolve_chapter(name: str, book_dir: Path = BOOK) -> str:
    """A chapter by its full name ("01_basins"), its number ("1", "01") or its title part ("basins")."""
    names = chapters(book_dir)
    for chapter in names:
        number, _, title = chapter.partition("_")
        if name in (chapter, title) or (name.isdigit() and int(name) == int(number)):
            return chapter
    raise ValueError(f"unknown chapter {name!r}; valid chapters: {', '.join(names)}")


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
    tmp = out_dir / f".{chapter}.running.ipynb"
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
    except PapermillExecutionError as err:
        raise ChapterError(
            f"chapter {chapter} failed at profile {profile}: {err.ename}: {err.evalue}\n"
            f"the partly executed notebook is {tmp}; the last good one, if any, is still {out}"
        ) from None
    if execute:
        _hide_parameters(tmp)
    # Replace the previous notebook only once this one has executed without error.
    os.replace(tmp, out)
    return out


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
    stage = stage_dir(profile, root)
    (stage / "book").mkdir(parents=True, exist_ok=True)
    for name in STATIC:
        shutil.copy2(root / name, stage / name)
    for page in [*(root / "book").glob("*.md"), *(root / "book").glob("*.bib")]:
        shutil.copy2(page, stage / "book" / page.name)
    todo = [
        c for c in chapters(root / "book") if only is None or c in only or not (stage / "book" / f"{c}.ipynb").exists()
    ]
    profile_obj = get_profile(profile)
    schedule.train_all(profile_obj, chapter_batches(todo), allow_cpu=allow_cpu)
    for i, chapter in enumerate(todo, 1):
        start = time.perf_counter()
        print(f"[{i}/{len(todo)}] executing {chapter} at profile {profile}", flush=True)
        prepare(chapter, profile, stage / "book", book_dir=root / "book")
        print(f"[{i}/{len(todo)}] {chapter} done in {time.perf_counter() - start:.0f} s", flush=True)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jupyter_book), "build", str(stage), "--path-output", str(out), "--all", "-W", "--keep-going"]
    subprocess.run(cmd, check=True)
    return out / "_build" / "html"
