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
import sys
import time
from pathlib import Path

#: The record of chapter run times, read by chapter 00.
TIMES_RECORD = "00_start_here-chapter_times"


def execute(path: Path, timeout: int = 1800) -> float:
    """Execute one notebook in place on a fresh kernel; return its wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    from .viz import write_atomic

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
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

    from .viz import load_data, run_info, save_data

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
            save_data({"run": run_info(), "chapters": dict(sorted(times.items()))}, TIMES_RECORD)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
