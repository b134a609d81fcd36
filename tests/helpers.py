"""Small helpers imported by several test modules."""

from hyena_lab.checks import rel_err

__all__ = ["rel_err"]
