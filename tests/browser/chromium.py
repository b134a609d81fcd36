"""The system Chromium that the real-browser tests drive with Playwright, and its arguments."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
#: headless and offline: no GPU, no QUIC, no first-run flow, no background network or updates;
#: no --user-data-dir (Playwright sets its own)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The system Chromium (``$HYENA_LAB_CHROMIUM`` wins), or skip saying how to install it."""
    env = os.environ.get("HYENA_LAB_CHROMIUM")
    if env:
        if os.access(env, os.X_OK):
            return env
        pytest.skip(f"HYENA_LAB_CHROMIUM={env} is not an executable Chromium")
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    pytest.skip(
        f"Chromium is not installed (looked for {', '.join(CHROMIUM_CANDIDATES)} and `chromium` "
        f"on PATH): run `apt-get install chromium` as root; `make test` does this itself when "
        f"it runs as root"
    )
