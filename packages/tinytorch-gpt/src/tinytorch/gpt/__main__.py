"""``python -m tinytorch.gpt``: the ``tinytorch-gpt`` command."""

import sys

from .cli import main

sys.exit(main())
