"""Resuming a benchmark run: one sweep over several sittings, as one record.

A sweep writes its results file after every case (:func:`~.sweep.run_benchmarks`), so a run
cut short (its time budget spent, a time limit, Ctrl-C, a lost machine) leaves every case it
finished, and a sweep whose time budget ran out records the cases it did not start as
skipped. ``python -m hyena_lab.bench --resume FILE`` continues either run: the settings are the
record's (only ``--time-budget`` may change: it is the sitting's, not the run's), the cases it
holds are kept as measured, and the others run, in the sweep's order, into the same file.
Chapter 06's 1K-1M sweep is one run resumed once: a device call lasts at most ten minutes.

A resumed sitting must run the same code on the same kind of machine, or its points would not
compare with the record's: the device, torch, CUDA and the git commit must all match
(:func:`check_resumable`); a complete record is refused (there is nothing to resume).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..measure import load_record
from .config import BenchConfig
from .results import RECORD_SCHEMA, validate_results

__all__ = ["BUDGET_NOTE", "MATCHING", "SITTING_FIELDS", "check_resumable", "config_of",
           "finished", "load_partial"]  # fmt: skip

#: The note of a case the sweep did not start because its sitting's time budget was spent:
#: the only skipped cases a resumed sitting runs (the others were skipped by rules that hold
#: for the whole run).
BUDGET_NOTE = "time budget of"
#: Settings of a sitting rather than of the run: they may differ when it resumes.
SITTING_FIELDS = ("time_budget_s",)
#: What a resumed sitting must share with the record (``meta`` keys).
MATCHING = ("device", "torch", "cuda", "git_commit")


def load_partial(path: str | Path) -> dict:
    """Read the results file ``path`` to resume: a valid bench record, cut short (not
    ``complete``) or complete with cases its time budget skipped."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--resume: no results file at {path}")  # a bad option: exit 2
    try:
        record = validate_results(load_record(path, schema=RECORD_SCHEMA, version=1))
    except (ValueError, KeyError, TypeError) as err:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"--resume: {path} is not a readable bench results file ({err})") from err
    if record.get("complete") and all(finished(p) for p in record["points"]):
        raise ValueError(f"--resume: {path} is a complete run; there is nothing to resume")
    if not isinstance(record["meta"].get("config"), dict):
        raise ValueError(f"--resume: {path} records no config (meta.config), so it cannot resume")
    return record


def config_of(record: dict, **sitting: object) -> BenchConfig:
    """The record's :class:`BenchConfig`, with the sitting's own fields (``time_budget_s``)
    replaced by ``sitting``'s."""
    recorded = record["meta"]["config"]
    names = {f.name for f in dataclasses.fields(BenchConfig)}
    if set(recorded) != names:
        raise ValueError(f"--resume: the record's config has fields {sorted(recorded)}; this "
                         f"version of hyena-lab has {sorted(names)}")  # fmt: skip
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()}
    for name, value in sitting.items():
        if name not in SITTING_FIELDS:
            raise ValueError(f"--resume: {name} is the run's setting, not the sitting's; only "
                             f"{list(SITTING_FIELDS)} may change")  # fmt: skip
        values[name] = value
    return BenchConfig(**values).validate()


def check_resumable(record: dict, env: dict, cfg: BenchConfig | None = None) -> None:
    """Raise ``ValueError`` unless this sitting (``env``: :func:`hyena_lab.measure.environment`
    of its device) runs what the record ran: :data:`MATCHING`, and ``cfg``'s settings but
    :data:`SITTING_FIELDS`."""
    meta = record["meta"]
    for key in MATCHING:
        if meta.get(key) != env.get(key):
            raise ValueError(
                f"--resume: the record's {key} is {meta.get(key)!r}, this sitting's "
                f"{env.get(key)!r}: a resumed run must run the same code on the same kind of "
                "machine (start a new run instead)"
            )
    if cfg is None:
        return
    asked = json.loads(json.dumps(dataclasses.asdict(cfg)))  # tuples as lists, like the record
    for name, value in meta["config"].items():
        if name not in SITTING_FIELDS and asked.get(name) != value:
            raise ValueError(f"--resume: the record ran with {name} = {value!r}, not "
                             f"{asked.get(name)!r}; resume with the record's settings")  # fmt: skip


def finished(point: dict) -> bool:
    """Whether a recorded case stands in a resumed run: every point but the cases a spent time
    budget skipped (:data:`BUDGET_NOTE`)."""
    return not (point["status"] == "skipped" and point["note"].startswith(BUDGET_NOTE))
