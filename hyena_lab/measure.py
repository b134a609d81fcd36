"""The one place that reads a clock: timers, peak memory, the machine a run used, and records.

CPU (``time.perf_counter``) and CUDA-event timers with warm-up, interleaved rounds and adaptive
repeats (:func:`time_calls`), peak CUDA memory, a :class:`Stopwatch`, the machine of a run
(:func:`environment`) and atomic JSON records with a ``"schema"`` field (:func:`save_record`,
:func:`load_record`). A test checks that no other module of the package reads a clock.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import os
import platform
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from .checks import check_positive_float, check_positive_int
from .files import write_atomic

__all__ = [
    "NAME", "Stopwatch", "Timing", "check_name", "cpu_name", "cpu_record", "device_name",
    "environment", "figures_dir", "json_safe", "load_record", "peak_memory", "record_each",
    "records_dir", "repeats_for", "rotating", "save_record", "time_calls", "time_fn", "today",
]  # fmt: skip

K = TypeVar("K", bound=Hashable)
X = TypeVar("X")
_ROOT = Path(__file__).resolve().parents[1]  # the repository, for an editable install

# ---------------------------------------------------------------------------------- timers


@dataclass(frozen=True)
class Timing:
    """Seconds of every timed call of one callable, by round: ``rounds[r][i]``."""

    rounds: tuple[tuple[float, ...], ...]

    @property
    def samples(self) -> tuple[float, ...]:
        """Every timed call's seconds, round after round."""
        return tuple(itertools.chain.from_iterable(self.rounds))

    @property
    def repeats(self) -> int:
        """Timed calls per round."""
        return len(self.rounds[0])

    @property
    def median(self) -> float:
        """Median seconds per call over all rounds."""
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        """The least of the rounds' medians: other processes can only add time (``timeit``'s
        reasoning), so on a shared machine the least round is the closest to the cost itself."""
        return min(statistics.median(r) for r in self.rounds)

    def percentile(self, q: float) -> float:
        """Nearest-rank ``q``-th percentile (``0 <= q <= 100``) of the samples, in seconds."""
        if not 0 <= q <= 100:
            raise ValueError(f"q must be in [0, 100], got {q}")
        s = sorted(self.samples)
        return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def _time_batch(fn: Callable[[], object], repeats: int, dev: torch.device) -> tuple[float, ...]:
    """Seconds of each of ``repeats`` consecutive calls of ``fn()``: on a GPU between CUDA
    events on the stream (a host clock would time the launch), one synchronisation at the end."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        events = [[torch.cuda.Event(enable_timing=True) for _ in range(2)] for _ in range(repeats)]
        for start, end in events:
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(dev)
        return tuple(start.elapsed_time(end) / 1e3 for start, end in events)
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t0)
    return tuple(seconds)


def repeats_for(estimate_s: float, target_s: float, min_repeats: int, max_repeats: int) -> int:
    """How many calls of ``estimate_s`` seconds fill ``target_s``, within ``[min, max]``."""
    n = math.ceil(target_s / max(estimate_s, 1e-9))
    return max(min_repeats, min(max_repeats, n))


def time_calls(
    calls: Mapping[K, Callable[[], object]], *, device: str | torch.device = "cpu",
    warmup: int = 1, rounds: int = 1, repeats: int | Mapping[K, int] | None = None,
    target_s: float = 0.3, min_repeats: int = 1, max_repeats: int = 50,
) -> dict[K, Timing]:  # fmt: skip
    """Time zero-argument callables side by side; return a :class:`Timing` for each.

    After ``warmup`` untimed calls of each in turn, each round times every callable
    ``repeats`` times, one after the other, so that a burst of load falls on all of them.
    ``repeats`` is one number, one per key, or ``None``: one timed call estimates the cost and
    :func:`repeats_for` fills ``target_s`` over all rounds. ``device`` picks the clock (CUDA
    events on a CUDA device); wrap a call with :func:`rotating` to change its inputs.
    """
    if not calls:
        raise ValueError("calls must name at least one zero-argument function")
    check_positive_int(warmup, "warmup", minimum=0)
    check_positive_int(rounds, "rounds")
    check_positive_int(min_repeats, "min_repeats")
    if max_repeats < min_repeats:
        raise ValueError(f"max_repeats ({max_repeats}) must be >= min_repeats ({min_repeats})")
    check_positive_float(target_s, "target_s")
    dev = torch.device(device)
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    if repeats is None:
        plan = {
            k: repeats_for(_time_batch(fn, 1, dev)[0], target_s / rounds, min_repeats, max_repeats)
            for k, fn in calls.items()
        }
    elif isinstance(repeats, int):
        plan = dict.fromkeys(calls, check_positive_int(repeats, "repeats"))
    else:
        plan = {k: check_positive_int(repeats[k], f"repeats[{k!r}]") for k in calls}
    samples: dict[K, list[tuple[float, ...]]] = {k: [] for k in calls}
    for _ in range(rounds):
        for k, fn in calls.items():
            samples[k].append(_time_batch(fn, plan[k], dev))
    return {k: Timing(tuple(s)) for k, s in samples.items()}


def time_fn(fn: Callable[[], object], *, repeats: int = 20, warmup: int = 3,
            device: str | torch.device = "cpu") -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after ``warmup`` (:func:`time_calls`)."""
    return time_calls({0: fn}, device=device, warmup=warmup, repeats=repeats)[0].median


def rotating(call: Callable[[X], object], inputs: Sequence[X]) -> Callable[[], object]:
    """``call`` as a zero-argument callable that takes ``inputs[0], inputs[1], ...`` in turn,
    cycling, so that repeated calls do not all read one input from a warm cache."""
    if not inputs:
        raise ValueError("inputs must hold at least one input set")
    cycle = itertools.cycle(inputs)
    return lambda: call(next(cycle))


class Stopwatch:
    """Seconds since it was made, plus ``offset`` seconds spent before (a resumed run)."""

    def __init__(self, offset: float = 0.0) -> None:
        self._start = time.perf_counter() - offset

    def elapsed(self) -> float:
        """Seconds so far."""
        return time.perf_counter() - self._start


def peak_memory(fn: Callable[[], object], device: str | torch.device) -> int | None:
    """Bytes that one ``fn()`` allocates at its peak beyond what was allocated before
    (outputs, saved activations and gradients count; inputs and parameters do not); ``None``
    on the CPU, which has no allocator statistics."""
    dev = torch.device(device)
    if dev.type != "cuda":
        return None
    torch.cuda.synchronize(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    base = torch.cuda.memory_allocated(dev)
    fn()
    torch.cuda.synchronize(dev)
    return int(torch.cuda.max_memory_allocated(dev) - base)


# ----------------------------------------------------------------------------- the machine


def today() -> str:
    """The UTC date, ``YYYY-MM-DD``: the date stamp of every record."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def cpu_name() -> str:
    """The processor's model name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    """The package checkout's commit (``-dirty`` with uncommitted changes); ``None`` for an
    installed copy, which may sit inside another project's repository. ``HYENA_LAB_GIT_COMMIT``
    overrides it: a copy of a working tree whose ``.git`` is not the one it came from (the lent
    GPU's, whose history stops where the session began) passes the commit it runs."""
    given = os.environ.get("HYENA_LAB_GIT_COMMIT", "").strip()
    if given:
        if not re.fullmatch(r"[0-9a-f]{7,40}(-dirty)?", given):
            raise ValueError(f"HYENA_LAB_GIT_COMMIT must be a commit hash (7-40 hex digits, "
                             f"optionally -dirty), got {given!r}")  # fmt: skip
        return given
    if not (_ROOT / ".git").exists() or not (_ROOT / "pyproject.toml").exists():
        return None
    try:
        run = {"cwd": _ROOT, "capture_output": True, "text": True, "timeout": 10}
        head = subprocess.run(["git", "rev-parse", "HEAD"], check=True, **run).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], **run).returncode
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty == 1 else "") if head else None


def environment(device: str | torch.device | None = None) -> dict[str, Any]:
    """Where and when a measurement runs, as a record's fields: the device (GPU name or
    ``"cpu"``, its memory and multiprocessors), CPU, threads, torch/CUDA/cuDNN/Python versions,
    UTC ``date`` and ``time`` and ``git_commit``. ``device=None``: the first GPU if any."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    props = torch.cuda.get_device_properties(dev) if dev.type == "cuda" else None
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "device": props.name if props else "cpu", "device_type": dev.type,
        "gpu_memory_gb": props.total_memory / 1e9 if props else None,
        "multiprocessors": props.multi_processor_count if props else None,
        "cpu": cpu_name(), "machine": platform.machine(), "num_threads": torch.get_num_threads(),
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if props else None,
        "python": platform.python_version(), "date": now.strftime("%Y-%m-%d"),
        "time": now.isoformat(timespec="seconds"), "git_commit": _git_commit(),
    }  # fmt: skip


def cpu_record(num_threads: int | None = None, env: dict[str, Any] | None = None) -> dict[str, Any]:
    """A CPU measurement's flat fields: ``device`` ("cpu"), ``processor``, ``machine``,
    ``torch_version``, ``date``, ``num_threads`` (default: those of ``env``), from ``env``
    (default: :func:`environment` now)."""
    env = environment("cpu") if env is None else env
    threads = env["num_threads"] if num_threads is None else num_threads
    return {"device": "cpu", "processor": env["cpu"], "machine": env["machine"],
            "torch_version": env["torch"], "date": env["date"], "num_threads": threads}


def device_name(device: str | torch.device = "cpu") -> str:
    """A readable name of the machine a run used: ``"<GPU> (CUDA)"``, else ``"<CPU> (CPU)"``."""
    env = environment(device)
    return f"{env['device']} (CUDA)" if env["device_type"] == "cuda" else f"{env['cpu']} (CPU)"


# -------------------------------------------------------------------------------- records

#: What a record or figure name may hold: letters, digits, ``_``, ``-``, ``.`` (no folders).
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_name(name: object, what: str = "data") -> str:
    """Raise ``ValueError`` unless ``name`` is a valid record or figure name (:data:`NAME`)."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"{what} name must use letters, digits, '_', '-', '.', got {name!r}")
    return name


def figures_dir() -> Path:
    """Where figures and measurements are *written* (nothing is created by asking):
    ``$HYENA_LAB_FIGURES`` (``make handbook`` sets the repository's ``figures/``), else
    ``$XDG_CACHE_HOME/hyena-lab/figures``, so chapters and tests leave the git tree clean."""
    env = os.environ.get("HYENA_LAB_FIGURES")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hyena-lab" / "figures"


def records_dir() -> Path:
    """Where the committed measurements are *read* from: the repository's ``figures/data``
    (``./figures/data`` for an installed copy), or ``$HYENA_LAB_RECORDS`` (tests)."""
    env = os.environ.get("HYENA_LAB_RECORDS")
    if env:
        return Path(env)
    return (_ROOT / "figures" if (_ROOT / "pyproject.toml").exists() else Path("figures")) / "data"


def _record_path(name_or_path: str | os.PathLike, folder: Path) -> Path:
    """A ``str`` is a record name (``<folder>/<name>.json``), anything else a file path."""
    if not isinstance(name_or_path, str):
        return Path(name_or_path)
    if name_or_path.endswith(".json"):
        raise ValueError(
            f"record name {name_or_path!r} ends in .json: give the name without it, or a "
            "pathlib.Path for an explicit file"
        )
    return folder / f"{check_name(name_or_path, 'record')}.json"


def json_safe(obj: object) -> object:
    """``obj`` with every non-finite float replaced by ``None`` (JSON has no inf or NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def save_record(
    data: Mapping[str, Any], name_or_path: str | os.PathLike, *, schema: str, version: int = 1
) -> Path:
    """Write ``data`` as indented JSON, atomically, to ``<figures_dir()>/data/<name>.json`` or
    a given ``pathlib.Path``; return the path. The record starts with ``"schema": {"name":
    schema, "version": version}`` (replacing any in ``data``); non-finite floats become null."""
    path = _record_path(name_or_path, figures_dir() / "data")
    body = {k: v for k, v in data.items() if k != "schema"}
    record = {"schema": {"name": schema, "version": check_positive_int(version, "version")}}
    text = json.dumps(json_safe({**record, **body}), indent=1, allow_nan=False) + "\n"
    return write_atomic(path, text)


def record_each(
    record: dict[str, Any], key: str, items: Iterable[X], measure_one: Callable[[X], Any],
    name_or_path: str | os.PathLike, *, schema: str,
) -> Path:  # fmt: skip
    """Append ``measure_one(item)`` to ``record[key]`` for every item (a sweep over lengths),
    writing the record (:func:`save_record`) after each, so a run cut short keeps every item it
    finished; return the path. At least one item."""
    record[key] = []
    path = None
    for item in items:
        record[key].append(measure_one(item))
        path = save_record(record, name_or_path, schema=schema)
    if path is None:
        raise ValueError(f"record_each: nothing to measure (no items for {key!r})")
    return path


def load_record(
    name_or_path: str | os.PathLike, *, schema: str | None = None, version: int | None = None
) -> Any:
    """Read a record: a name from :func:`records_dir` (the committed ones), a path as given. One
    without a ``"schema"`` field is read as it is; with ``schema``, one naming another schema
    is refused, and with ``version`` a newer version."""
    path = _record_path(name_or_path, records_dir())
    if isinstance(name_or_path, str) and not path.exists():
        raise FileNotFoundError(
            f"no recorded measurement {name_or_path!r} in {records_dir()}; re-create it with "
            "`make handbook` (which writes into the repository's figures/)"
        )
    record = json.loads(path.read_text())
    found = record.get("schema") if isinstance(record, dict) else None
    if schema is not None and isinstance(found, dict):
        if found.get("name") != schema:
            raise ValueError(f"{path} holds a {found.get('name')!r} record, not {schema!r}")
        if version is not None and found.get("version", 1) > version:
            raise ValueError(
                f"{path} is version {found['version']} of {schema!r}; this code reads up to "
                f"version {version}: update hyena-lab"
            )
    return record
