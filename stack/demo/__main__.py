"""`python -m stack.demo --role web|api|worker`: see cli.py."""

import sys

from .cli import main

sys.exit(main())
