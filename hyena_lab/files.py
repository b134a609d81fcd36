"""Writing files safely: the one place where the package puts bytes on disk.

:func:`write_atomic` writes through a temporary file in the target folder, flushed to disk and
then moved into place with ``os.replace`` (atomic on POSIX and Windows): a reader, or a run
killed half-way, sees the old file or the new one, never half a file. :func:`check_new_file`
checks an output path *before* any work is done, so that a long run never ends in "cannot write".
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

__all__ = ["check_new_file", "write_atomic"]

# the process's umask, read once at import (os.umask can only be read by setting it)
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so
    that an interrupted write leaves the old file (or none), never half a file; temporary files
    that a killed earlier write left behind are removed. Creates the folder if needed; the file
    gets the permissions of an ordinary ``open()`` (``0666`` less the umask)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private (0600); open() would not
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a killed write
        stale.unlink(missing_ok=True)
    return path


def check_new_file(path: str | os.PathLike, what: str = "output") -> Path:
    """Check, before any work, that ``path`` can be written: not a folder, and its folder exists
    (or can be made) and is writable. Raises ``ValueError`` saying what is wrong.

    Whether an *existing* file may be replaced is the caller's decision (e.g.
    :func:`hyena_lab.checkpoint.check_checkpoint_path`).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name inside it")
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise ValueError(f"{what} {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path}: the folder {existing} is not writable")
    if path.exists() and not os.access(path, os.W_OK) and not os.access(folder, os.W_OK):
        raise ValueError(f"{what} {path} cannot be replaced (no write permission)")
    return path
