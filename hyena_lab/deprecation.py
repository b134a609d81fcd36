"""Names that moved to another module stay importable from the old one, with a warning.

``__getattr__ = moved(__name__, {"old_name": "hyena_lab.new_module", ...})`` at the end of the old
module: reading ``old_module.old_name`` imports the new module lazily (so the old module imports
nothing above its layer), warns with a ``DeprecationWarning`` that says where the name lives now,
and returns it; any other missing name is the usual ``AttributeError``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping

__all__ = ["moved"]


def moved(old_module: str, new_homes: Mapping[str, str]) -> Callable[[str], object]:
    """A module-level ``__getattr__`` for ``old_module`` serving the names of ``new_homes``."""
    homes = dict(new_homes)

    def __getattr__(name: str) -> object:
        if name not in homes:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warnings.warn(f"{old_module}.{name} moved to {homes[name]}.{name}", DeprecationWarning,
                      stacklevel=2)  # fmt: skip
        return getattr(importlib.import_module(homes[name]), name)

    return __getattr__
