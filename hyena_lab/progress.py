"""One progress bar for the whole package: tqdm's, switched off where a bar would mislead.

``make handbook`` executes the chapters with ``TQDM_DISABLE=1``: a widget bar saved in a
committed notebook shows 0% forever. tqdm reads that variable only when no ``disable=`` is passed,
and ``tqdm.notebook`` always passes one, so the package asks here instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["bars_disabled", "progress_bar"]


def bars_disabled() -> bool:
    """Whether ``$TQDM_DISABLE`` asks for no progress bars (any value but empty, 0, false)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **kwargs: Any) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, hidden when ``enabled`` is False or
    :func:`bars_disabled`."""
    return tqdm(iterable, disable=not enabled or bars_disabled(), **kwargs)
