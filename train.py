"""The entry point of a checkout: ``python train.py [train|evaluate|render|list] ...``.

The code is :mod:`agents.cli`; a ``pip install`` gives the same command as ``glimpse-train``.
"""

import sys

from agents.cli import main

if __name__ == "__main__":
    sys.exit(main())
