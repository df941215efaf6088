"""The layering of the library, as written in pyproject.toml's import-linter contracts."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "lint-imports (import-linter) is not installed: pip install -r requirements.txt"
    proc = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0 broken" in proc.stdout


def test_every_module_imports_first():
    """The package's names load lazily (`monosem/__init__.py`): whichever module a program imports first, and
    however (`import monosem.x` or `from monosem import x`), the import finishes, with no cycle through the
    package's lazy names. One interpreter, emptied of monosem's modules before each import (PyTorch stays loaded)."""
    script = """
import importlib, sys
from pathlib import Path
names = sorted(p.stem for p in Path("monosem").glob("*.py") if p.stem not in ("__init__", "__main__"))
for name in names:
    for statement in (f"import monosem.{name}", f"from monosem import {name}"):
        for loaded in [m for m in sys.modules if m == "monosem" or m.startswith("monosem.")]:
            del sys.modules[loaded]
        exec(statement)
for name in ("figures", "claims", "paper", "prose", "tables", "chapters", "Cache", "train", "basins", "__all__"):
    for loaded in [m for m in sys.modules if m == "monosem" or m.startswith("monosem.")]:
        del sys.modules[loaded]
    import monosem as ms
    getattr(ms, name)
print(len(names))
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert int(proc.stdout) > 20
