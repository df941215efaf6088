import sys

from monosem.cli import main

sys.exit(main())
