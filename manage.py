#!/usr/bin/env python
"""Django's command-line utility; `deltatrace` is the same entry point, installed as a console script."""

import sys

from deltatrace.cli import main

if __name__ == "__main__":
    sys.exit(main())
