"""Execute the chapters in place and record how long each took: what ``make handbook`` runs.

``python -m hyena_lab.handbook notebooks/01_x.ipynb ...`` executes each notebook top to bottom
on a fresh kernel (as "Restart kernel and run all" does), writes it back atomically with its
outputs, and records the wall time of every chapter in
``figures/data/00_start_here-chapter_times.json`` with the machine it ran on. Chapter 00 reads that
record for its table of run times, so it is executed last (its own time is then added).

Only this runner points ``HYENA_LAB_FIGURES`` at the repository's ``figures/``: it is the one run
that rewrites tracked files. Progress bars are switched off (``TQDM_DISABLE=1``): a widget bar
saved in a notebook shows 0% forever.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import time
from pathlib import Path
from typing import Any

#: The record of chapter run times, read by chapter 00.
TIMES_RECORD = "00_start_here-chapter_times"


#: Seconds of one wait for a kernel message (see :func:`_wait_in_slices`).
POLL_SLICE = 0.5


def _wait_in_slices(channel: Any, slice_s: float = POLL_SLICE) -> None:
    """Make ``channel.get_msg(timeout)`` wait in slices of ``slice_s`` seconds.

    nbclient waits for a cell's ``execute_reply`` with one long poll of the shell socket, while
    its stand-in for the Output widget (used by ``interact``) sends messages on the same socket.
    Now and then, more often on a loaded machine, that poll is never woken although the reply
    has arrived (nbclient issue #312): the chapter then hangs with its kernel idle until the cell
    timeout. Every new poll first looks at the messages already queued, so short polls in a loop
    pick the reply up within ``slice_s``; the overall timeout is unchanged.

    ``time.monotonic`` here is a *timeout*, not a measurement: the one clock read outside
    :mod:`hyena_lab.measure` that ``tests/test_measure.py`` allows.
    """
    wait = channel.get_msg

    async def get_msg(timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await wait(timeout=min(slice_s, left))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    channel.get_msg = get_msg


def _client_class() -> type:
    """nbclient's ``NotebookClient`` whose kernel client waits in slices (see above)."""
    from nbclient import NotebookClient

    class SlicedWaitClient(NotebookClient):
        async def async_start_new_kernel_client(self) -> Any:
            kc = await super().async_start_new_kernel_client()
            for channel in (kc.shell_channel, kc.iopub_channel):
                _wait_in_slices(channel)
            return kc

    return SlicedWaitClient


def execute(path: Path, timeout: int = 1800) -> float:
    """Execute one notebook in place on a fresh kernel; return its wall time in seconds."""
    import nbformat

    from .files import write_atomic
    from .measure import Stopwatch

    nb = nbformat.read(path, as_version=4)
    client = _client_class()(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    clock = Stopwatch()
    client.execute()
    seconds = clock.elapsed()
    write_atomic(path, nbformat.writes(nb) + "\n")
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Execute the given notebooks (chapter 00 last) and record their run times."""
    parser = argparse.ArgumentParser(prog="python -m hyena_lab.handbook", description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files to execute")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (1800)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if missing:
        parser.error(f"not an existing .ipynb file: {', '.join(missing)}")
    repo_figures = Path(__file__).resolve().parents[1] / "figures"
    os.environ.setdefault("HYENA_LAB_FIGURES", str(repo_figures))
    os.environ["TQDM_DISABLE"] = "1"

    from .viz import load_data, save_data

    first = [p for p in args.notebooks if not p.name.startswith("00_")]
    last = [p for p in args.notebooks if p.name.startswith("00_")]
    try:
        times = dict(load_data(TIMES_RECORD)["chapters"])
    except FileNotFoundError:
        times = {}
    for group in (first, last):
        for path in group:
            print(f"== {path}", flush=True)
            try:
                seconds = execute(path, args.timeout)
            except Exception as err:  # a failing cell: say which chapter, keep the old notebook
                print(f"handbook: {path} failed: {type(err).__name__}: {err}", file=sys.stderr)
                return 1
            times[path.stem] = round(seconds, 1)
            print(f"   {seconds:.0f} s", flush=True)
        if group:
            save_data({"chapters": dict(sorted(times.items()))}, TIMES_RECORD)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
