"""``python -m hyena_lab.bench``: the benchmark command (:func:`hyena_lab.bench.main`)."""

import contextlib
import sys

from . import main

with contextlib.suppress(BrokenPipeError):
    sys.exit(main())
