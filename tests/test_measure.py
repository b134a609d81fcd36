"""The measurement layer: timers on a fake clock, the machine record, atomic schema'd records,
and the rule that no module but ``hyena_lab.measure`` reads a clock."""

import ast
import json
import math
import re
import time
from pathlib import Path

import pytest
import torch

from hyena_lab import measure
from hyena_lab.measure import (
    Stopwatch,
    Timing,
    environment,
    load_record,
    repeats_for,
    rotating,
    save_record,
    time_calls,
    time_fn,
)

PACKAGE = Path(measure.__file__).resolve().parent
RECORDS = PACKAGE.parent / "figures" / "data"


@pytest.fixture
def clock(monkeypatch):
    """A fake ``time.perf_counter``: ``clock.tick(s)`` advances it by ``s`` seconds exactly, so
    timings are known on any machine and under any load."""

    class Clock:
        now = 0.0

        def tick(self, seconds: float) -> None:
            self.now += seconds

    c = Clock()
    monkeypatch.setattr(time, "perf_counter", lambda: c.now)
    return c


# ------------------------------------------------------------------------------------ Timing


def test_timing_statistics():
    t = Timing(((3.0, 1.0, 2.0), (9.0, 8.0, 7.0)))
    assert t.samples == (3.0, 1.0, 2.0, 9.0, 8.0, 7.0) and t.repeats == 3
    assert t.median == 5.0  # of all six: (3 + 7) / 2
    assert t.best == 2.0  # the least round median: round 1's 2.0, not round 2's 8.0
    assert t.percentile(0) == 1.0 and t.percentile(100) == 9.0
    assert t.percentile(20) == 2.0  # nearest rank: round(0.2 * 5) = 1 -> sorted[1]
    with pytest.raises(ValueError, match=r"q must be in \[0, 100\]"):
        t.percentile(101)


def test_repeats_for_fills_the_target_within_bounds():
    assert repeats_for(0.01, 0.3, 1, 50) == 30
    assert repeats_for(0.01, 0.301, 1, 50) == 31  # rounded up: at least the target
    assert repeats_for(1.0, 0.3, 3, 50) == 3 and repeats_for(0.0, 0.3, 1, 50) == 50


# ---------------------------------------------------------------------------------- timers


def test_time_calls_interleaves_rounds_on_a_known_clock(clock):
    order = []

    def call(name, seconds):
        def run():
            order.append(name)
            clock.tick(seconds)

        return run

    a, b = 2.0**-7, 2.0**-5  # seconds, exact in binary: the clock's sums and differences too
    t = time_calls({"a": call("a", a), "b": call("b", b)}, warmup=2, rounds=3,
                   repeats={"a": 2, "b": 1})
    assert order[:4] == ["a", "b", "a", "b"]  # warm-up: each in turn, untimed
    assert order[4:] == ["a", "a", "b"] * 3  # each round times every callable, in turn
    assert t["a"].rounds == ((a, a),) * 3 and t["b"].rounds == ((b,),) * 3
    assert t["a"].median == a and t["b"].repeats == 1


def test_time_calls_adapts_repeats_to_the_target(clock):
    counts = {"fast": 0, "slow": 0}

    def run(name, seconds):
        def f():
            counts[name] += 1
            clock.tick(seconds)

        return f

    t = time_calls({"fast": run("fast", 0.001), "slow": run("slow", 0.1)}, warmup=0,
                   rounds=2, target_s=0.2, min_repeats=3, max_repeats=40)
    # 0.2 s over 2 rounds: 100 calls of 1 ms (capped at 40), 1 call of 0.1 s (raised to 3)
    assert t["fast"].repeats == 40 and t["slow"].repeats == 3
    assert counts == {"fast": 1 + 2 * 40, "slow": 1 + 2 * 3}  # one estimate each, then rounds


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"calls": {}}, "at least one zero-argument function"),
        ({"rounds": 0}, "rounds must be >= 1"),
        ({"warmup": -1}, "warmup must be >= 0"),
        ({"min_repeats": 5, "max_repeats": 2}, r"max_repeats \(2\) must be >= min_repeats"),
        ({"target_s": 0.0}, "target_s must be finite and > 0"),
        ({"repeats": 0}, "repeats must be >= 1"),
    ],
)
def test_time_calls_bad_arguments(kwargs, match):
    args = {"calls": {"f": lambda: None}, **kwargs}
    with pytest.raises(ValueError, match=match):
        time_calls(**args)


def test_time_fn_is_the_median_of_one_callable(clock):
    steps = iter([0.5, 0.125, 0.25, 0.375])  # the warm-up call, then three timed calls

    def f():
        clock.tick(next(steps))

    assert time_fn(f, repeats=3, warmup=1) == 0.25  # dyadic steps: exact


def test_time_fn_on_the_real_clock():
    seconds = time_fn(lambda: sum(range(100)), repeats=3, warmup=1)
    assert 0 < seconds < 60  # a time; nothing asserted on the machine's speed


def test_rotating_cycles_over_the_input_sets():
    seen = []
    f = rotating(seen.append, ["x", "y", "z"])
    for _ in range(5):
        f()
    assert seen == ["x", "y", "z", "x", "y"]
    with pytest.raises(ValueError, match="at least one input set"):
        rotating(seen.append, [])


def test_stopwatch_counts_from_its_start_plus_the_offset(clock):
    clock.tick(100.0)
    watch, resumed = Stopwatch(), Stopwatch(offset=7.0)
    clock.tick(2.5)
    assert watch.elapsed() == 2.5 and resumed.elapsed() == 9.5


def test_peak_memory_is_none_on_the_cpu():
    assert measure.peak_memory(lambda: torch.ones(10), "cpu") is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_timing_and_peak_memory():  # pragma: no cover - runs on a GPU machine only
    x = torch.randn(1024, 1024, device="cuda")
    t = time_calls({"mm": lambda: x @ x}, device="cuda", repeats=5)
    assert t["mm"].repeats == 5 and all(s > 0 for s in t["mm"].samples)
    assert measure.peak_memory(lambda: x @ x, "cuda") >= 1024 * 1024 * 4  # the 4 MiB output


def test_timing_module_is_a_deprecated_alias():
    import hyena_lab.timing as timing

    with pytest.warns(DeprecationWarning, match="hyena_lab.measure.time_fn"):
        assert timing.time_fn is time_fn
    with pytest.raises(AttributeError):
        timing.no_such_name  # noqa: B018


# ----------------------------------------------------------------------------- the machine


def test_environment_names_the_machine_and_the_date():
    env = environment("cpu")
    assert env["device"] == "cpu" and env["device_type"] == "cpu" and env["cpu"]
    assert env["gpu_memory_gb"] is None and env["cudnn"] is None
    assert env["torch"] == torch.__version__ and env["num_threads"] == torch.get_num_threads()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", env["date"]) and env["time"].startswith(env["date"])
    assert env["date"] == measure.today() or env["time"].endswith("00:00+00:00")  # at midnight
    commit = env["git_commit"]
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit)
    json.dumps(env, allow_nan=False)  # a record's field: JSON as it is


def test_the_commit_can_be_given(monkeypatch):
    """A copy whose ``.git`` is not its own (the lent GPU's) names its commit itself."""
    monkeypatch.setenv("HYENA_LAB_GIT_COMMIT", "9c71721")
    assert environment("cpu")["git_commit"] == "9c71721"
    monkeypatch.setenv("HYENA_LAB_GIT_COMMIT", "not a commit")
    with pytest.raises(ValueError, match="must be a commit hash"):
        environment("cpu")


def test_device_name_reads_the_environment():
    import hyena_lab.viz.recall as viz_recall

    assert measure.device_name("cpu") == f"{environment('cpu')['cpu']} (CPU)"
    with pytest.warns(DeprecationWarning, match="moved to hyena_lab.recall"):
        assert viz_recall.device_name is measure.device_name  # the old name, the same function


def test_environment_defaults_to_the_gpu_if_there_is_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert environment()["device_type"] == expected


# --------------------------------------------------------------------------------- records


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("HYENA_LAB_FIGURES", str(tmp_path / "out"))
    monkeypatch.setenv("HYENA_LAB_RECORDS", str(tmp_path / "records"))
    return tmp_path


def test_save_record_writes_a_schema_first_and_strict_json(dirs):
    path = save_record({"x": [1.5, math.inf, math.nan], "schema": "old"}, "00_test-r",
                       schema="hyena-lab.test", version=2)
    assert path == dirs / "out" / "data" / "00_test-r.json"
    text = path.read_text()
    record = json.loads(text)
    assert list(record) == ["schema", "x"]  # the schema first; a stale one replaced
    assert record == {"schema": {"name": "hyena-lab.test", "version": 2}, "x": [1.5, None, None]}
    assert "NaN" not in text and "Infinity" not in text  # JSON has no inf or NaN
    assert list(path.parent.glob("*.tmp")) == []  # written through a temporary file


def test_records_by_name_are_read_from_the_records_dir(dirs):
    save_record({"x": 1}, "00_test-r", schema="s")  # a live run's output ...
    with pytest.raises(FileNotFoundError, match="make handbook"):
        load_record("00_test-r")  # ... is never read back as the committed record
    (dirs / "records").mkdir()
    (dirs / "records" / "00_test-r.json").write_text('{"x": 2}')  # a record without a schema
    assert load_record("00_test-r") == {"x": 2}
    assert load_record("00_test-r", schema="any", version=1) == {"x": 2}  # legacy: read as is


def test_records_by_path_and_schema_checks(dirs):
    path = save_record({"x": 1}, dirs / "sub" / "r.json", schema="hyena-lab.a", version=2)
    assert path == dirs / "sub" / "r.json" and load_record(path)["x"] == 1
    assert load_record(path, schema="hyena-lab.a", version=2)["x"] == 1
    with pytest.raises(ValueError, match=r"holds a 'hyena-lab\.a' record, not 'hyena-lab\.b'"):
        load_record(path, schema="hyena-lab.b")
    with pytest.raises(ValueError, match=r"version 2 of 'hyena-lab\.a'.*up to version 1"):
        load_record(path, schema="hyena-lab.a", version=1)


@pytest.mark.parametrize(
    ("name", "match"),
    [("../evil", "letters, digits"), ("a b", "letters, digits"), ("r.json", "ends in .json")],
)
def test_bad_record_names_are_refused(dirs, name, match):
    with pytest.raises(ValueError, match=match):
        save_record({}, name, schema="s")


COMMITTED = [p for p in sorted(RECORDS.glob("*.json")) if not p.stem.endswith("-live")]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_every_committed_record_loads(path):
    """Committed records predate the schema field: every one still loads, by name and path
    (``-live`` files are re-measurements that git ignores, not records)."""
    assert load_record(path) == json.loads(path.read_text())
    assert load_record(path.stem) == load_record(path)


# ------------------------------------------------------------------- only measure reads a clock

#: Calls that read a clock, as dotted names after resolving imports.
CLOCKS = {
    *(f"time.{f}" for f in ("time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic",
                            "monotonic_ns", "process_time", "process_time_ns")),
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today",
}
#: The reads allowed outside ``measure``: the handbook's poll timeout (not a measurement).
ALLOWED = {"measure.py": None, "handbook.py": {"time.monotonic"}}


def clock_reads(source: str) -> list[str]:
    """Dotted names of the clock reads in ``source`` (aliases of ``import ... as`` resolved);
    ``torch.cuda.Event(enable_timing=...)`` counts as one."""
    tree = ast.parse(source)
    alias: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):  # import a.b -> a; import a.b as c -> c = a.b
            for a in node.names:
                head = a.name.split(".")[0]
                alias[a.asname or head] = a.name if a.asname else head
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            alias.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts, f = [], node.func
        while isinstance(f, ast.Attribute):
            parts.append(f.attr)
            f = f.value
        if not isinstance(f, ast.Name):
            continue
        name = ".".join([alias.get(f.id, f.id), *reversed(parts)])
        timed_event = name == "torch.cuda.Event" and any(
            k.arg == "enable_timing" for k in node.keywords)
        if name in CLOCKS or timed_event:
            found.append(name)
    return found


def test_the_clock_finder_finds_clocks():
    src = ("import time as t\nfrom time import perf_counter as pc\nimport datetime\n"
           "from datetime import date\nimport torch\n"
           "t.monotonic(); pc(); datetime.datetime.now(); date.today(); time_of_day()\n"
           "torch.cuda.Event(enable_timing=True); torch.cuda.Event()\n")
    assert sorted(clock_reads(src)) == ["datetime.date.today", "datetime.datetime.now",
                                        "time.monotonic", "time.perf_counter", "torch.cuda.Event"]


def test_only_measure_reads_a_clock():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        reads = set(clock_reads(path.read_text()))
        allowed = ALLOWED.get(rel, set())
        if allowed is not None and reads - allowed:
            offenders[rel] = sorted(reads - allowed)
    assert offenders == {}, f"read a clock outside hyena_lab.measure: {offenders}"
    assert clock_reads((PACKAGE / "measure.py").read_text())  # the checker sees measure's reads


def test_record_each_writes_after_every_item(dirs, tmp_path):
    """A sweep cut short (the third item raises) keeps the two items it finished on disk."""
    from hyena_lab.measure import record_each

    def measure_one(L):
        if L == 3:
            raise KeyboardInterrupt
        return {"L": L}

    path = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        record_each({"run": "here"}, "lengths", [1, 2, 3], measure_one, path, schema="s")
    assert load_record(path, schema="s")["lengths"] == [{"L": 1}, {"L": 2}]
    done = record_each({}, "lengths", [5], measure_one, path, schema="s")
    assert load_record(done)["lengths"] == [{"L": 5}]
    with pytest.raises(ValueError, match="nothing to measure"):
        record_each({}, "lengths", [], measure_one, path, schema="s")
