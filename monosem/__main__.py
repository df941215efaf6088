"""`python -m monosem`: the command line (`monosem.cli`), with one line instead of a traceback when its imports
cannot finish: Ctrl-C while PyTorch loads (exit 130, as for Ctrl-C later), or a Python without the packages of
requirements.txt (exit 1, saying how to get them)."""

import sys

try:
    from monosem.cli import main
except KeyboardInterrupt:
    sys.exit(130)
except ModuleNotFoundError as err:
    if err.name is None or err.name.split(".")[0] == "monosem":
        raise
    sys.exit(
        f"error: {err.name} is not installed for {sys.executable}: set up the environment with `make setup` (or "
        "`python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`) and run `.venv/bin/python -m monosem`"
    )

sys.exit(main())
