"""The command line and the notebook-to-book pipeline, end to end at the ci profile."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monosem import pipeline as book

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monosem", *args], cwd=ROOT, capture_output=True, text=True)


def test_chapters_are_found_in_order():
    names = book.chapters()
    assert names[:2] == ["00_scorecard", "01_basins"]
    assert names == sorted(names)


@pytest.mark.parametrize("name", ["01_basins", "basins", "1", "01"])
def test_resolve_chapter(name):
    assert book.resolve_chapter(name) == "01_basins"


def test_unknown_chapter_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid chapters: 00_scorecard, 01_basins"):
        book.resolve_chapter("no_such_chapter")


def test_cli_rejects_unknown_profile_and_chapter():
    proc = _cli("book", "--profile", "gpu-cluster")
    assert proc.returncode == 2
    assert "unknown profile 'gpu-cluster'" in proc.stderr and "ci, cpu, long, paper" in proc.stderr
    proc = _cli("run", "nonexistent", "--profile", "ci")
    assert proc.returncode == 2
    assert "unknown chapter 'nonexistent'" in proc.stderr and "01_basins" in proc.stderr


def test_cli_list():
    proc = _cli("list")
    assert proc.returncode == 0
    assert "01_basins" in proc.stdout and "paper" in proc.stdout and "LR1" in proc.stdout
    proc = _cli("list", "--profile", "paper")
    assert proc.returncode == 0 and "TFLOP/s" in proc.stdout and "LR3x2" in proc.stdout
    proc = _cli("list", "--profile", "gpu")
    assert proc.returncode == 2 and "unknown profile 'gpu'" in proc.stderr


def test_book_builds_with_warnings_as_errors_at_ci(ci_book):
    proc, html = ci_book.proc, ci_book.html  # built once per session (`conftest.ci_book`), shared with the browser test
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    page = (html / "book" / "01_basins.html").read_text()
    assert (html / "book" / "intro.html").exists()
    for name in ("fig-lr1-traces", "fig-lr1-heatmaps", "fig-lr1-bias", "fig-lr-final", "fig-lr2-traces"):
        assert f'id="{name}"' in page, name
    assert page.count("<img") >= 5
    assert "What we found" in page
    # the re-run note at the top of every chapter: the command, the profile and the time
    for chapter in book.chapters():
        text = re.sub(r"<[^>]+>", "", (html / "book" / f"{chapter}.html").read_text())
        assert f"python -m monosem run {chapter} --profile ci" in text, chapter
        assert "executed at the ci profile in" in text, chapter
    # every glued number was found: myst-nb leaves unresolved glue keys as warnings, which -W turns into errors,
    # and the parameter cells are hidden
    assert "injected-parameters" not in page and 'profile = "ci"' not in page


def test_no_line_of_chapter_prose_starts_with_a_hash_that_would_make_it_a_heading():
    """In a percent-format markdown cell `# # text` is a heading: a sentence wrapped before `# mono` becomes one."""
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = line.split()
            heading = len(words) > 2 and words[0] == "#" and set(words[1]) == {"#"}
            assert not (heading and words[2][:1].islower()), f"{path.name}:{number} reads as a heading: {line}"


def test_the_toc_lists_the_registry_s_pages_in_order():
    """`_toc.yml` is written by hand; the chapter registry is the one list of chapters: they must agree."""
    from monosem.chapters import CHAPTERS

    toc = [line.split("file:")[1].strip() for line in (ROOT / "_toc.yml").read_text().splitlines() if "file:" in line]
    chapters = [f for f in toc if f.startswith("book/") and f[5:7].isdigit()]
    assert chapters == [f"book/{c.page}" for c in CHAPTERS]
    assert all(c.notebook.exists() for c in CHAPTERS)
    assert sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.py")) == [c.page for c in CHAPTERS]


def test_train_imports_neither_matplotlib_nor_seaborn():
    """`python -m monosem train` runs where only the training stack is installed: what it imports (the command line,
    the registry and every chapter's train part) loads no plotting. In a subprocess, so that this session's imports
    do not count."""
    code = (
        "import sys; from monosem import cli, pipeline; from monosem.profiles import get_profile; "
        "pipeline.chapter_sweeps(get_profile('ci')); pipeline.weights_needed(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'seaborn')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    proc = _cli("train", "--help")
    assert proc.returncode == 0 and "--budget" in proc.stdout


def test_a_page_never_trains_it_names_the_command(tmp_path):
    """A chapter's `load` reads the cache: on a miss it raises NotTrained naming the command that trains it, and
    nothing is trained or written."""
    from monosem.cache import Cache
    from monosem.chapters import CHAPTERS, NotTrained, analysis
    from monosem.profiles import get_profile

    empty = Cache(tmp_path / "ci")
    for chapter in CHAPTERS:
        name = "scorecard" if chapter.summary else chapter.name
        with pytest.raises(NotTrained, match=f"python -m monosem train --profile ci --chapter {name}"):
            analysis(chapter).load(get_profile("ci"), empty)
    assert not list(tmp_path.rglob("*.pt"))
