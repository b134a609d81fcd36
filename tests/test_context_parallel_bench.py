"""``cp-bench`` and ``ddp-bench`` (hyena_lab.experiments: context_parallel, ddp_bench, ranks)
on CPU processes, gloo.

The bench's own launcher (what ``hyena-lab cp-bench --procs 2`` does) spawns 2 processes that
run, inside their group: the communication-only pass with torch's all-to-all wrapped to count the
bytes each rank sends; the compute-only pass (:func:`local_exchanges`) with every collective
counted; ``cp-bench`` at tiny sizes with two fakes that raise ``torch.cuda.OutOfMemoryError`` (the
single-device operator from ``L = 16`` on, the context-parallel backward at ``L = 32``); and
``ddp-bench``. Rank 0's results come back to the tests. Then both commands end to end:
``scripts/multi_gpu.sh`` on the CPU (torchrun, the GPU session's own path).

No assert reads the value of a time: times are only checked to be positive numbers.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from hyena_lab.distributed import bytes_moved
from hyena_lab.experiments import add_command, ranks
from hyena_lab.experiments import context_parallel as cb
from hyena_lab.experiments import ddp_bench as db
from hyena_lab.operator import HyenaOperator

ROOT = Path(__file__).resolve().parents[1]
WORLD = 2
B, L, D, ORDER = 2, 16, 4, 2  # the counted exchange: (2, 4, 8) blocks per rank
LENGTHS = (8, 16, 32)
OOM_SINGLE, OOM_CP_BACKWARD = 16, 32  # the fakes' first lengths
CP = dict(lengths=LENGTHS, d_model=D, warmup=1, repeats=2, progress=False)
DDP = dict(batch_per_rank=2, block_size=8, d_model=8, n_layers=1, warmup=1, repeats=2)


_FAKE_ERROR = "Expected canUse32BitIndexMath(input) to be true (a fake)\nsecond line"


def _fake_oom() -> torch.OutOfMemoryError:
    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 TiB (a fake)")


def _counted(fn) -> tuple[object, list[int], int]:
    """``fn()`` with torch's all-to-all counting the bytes this rank sends to others, and every
    all-to-all, send and receive counted: ``(result, bytes per all-to-all, collectives)``."""
    real = {name: getattr(dist, name) for name in ("all_to_all", "isend", "irecv", "all_reduce")}
    sent, calls = [], []

    def all_to_all(outputs, inputs, group=None, async_op=False):
        me = dist.get_rank(group)
        sent.append(sum(t.numel() * t.element_size() for j, t in enumerate(inputs) if j != me))
        return real["all_to_all"](outputs, inputs, group=group, async_op=async_op)

    def counting(name):
        def call(*args, **kwargs):
            calls.append(name)
            return real[name](*args, **kwargs)

        return call

    for name in real:
        setattr(dist, name, all_to_all if name == "all_to_all" else counting(name))
    try:
        result = fn()
    finally:
        for name, f in real.items():
            setattr(dist, name, f)
    return result, sent, len(sent) + len(calls)


def _exchanges(rank: int) -> dict:
    g = torch.Generator().manual_seed(rank)
    z = torch.randn(B, D, L // WORLD, generator=g)  # (B, D, L/P): this rank's block
    back, sent, _ = _counted(lambda: cb.communication_pass(z, ORDER))
    torch.manual_seed(0)
    op = HyenaOperator(D, L, order=ORDER)
    u = torch.randn(B, L // WORLD, D, generator=g, requires_grad=True)

    def local_pass():
        with cb.local_exchanges():
            y = cb.context_parallel_forward(op, u)
            y.sum().backward()
            return y

    y, _, collectives = _counted(local_pass)
    return {"sent": sent, "round_trip": bool(torch.equal(back, z)),
            "local_collectives": collectives, "local_shape": list(y.shape),
            "local_grad": u.grad is not None}  # fmt: skip


def _in_the_group(c: cb.CPBenchConfig, group) -> dict:
    """What each spawned rank runs: the exchanges counted, cp-bench with both fakes in place
    (rank 0 writes ``c.out``), and ddp-bench."""
    exchanges = _exchanges(dist.get_rank())
    real_cp, real_forward = cb.context_parallel_forward, HyenaOperator.forward

    def cp_forward(op, u_local, group=None):
        if u_local.requires_grad and u_local.shape[1] * WORLD >= OOM_CP_BACKWARD:
            raise _fake_oom()  # on every rank, before any collective: as a real one would be
        return real_cp(op, u_local, group)

    def forward(op, u):
        if u.shape[1] >= OOM_SINGLE:  # out of memory with a backward to come, else a kernel
            raise _fake_oom() if u.requires_grad else RuntimeError(_FAKE_ERROR)
        return real_forward(op, u)

    cb.context_parallel_forward, HyenaOperator.forward = cp_forward, forward
    try:
        cp = cb.cp_bench(c, group)
    finally:
        cb.context_parallel_forward, HyenaOperator.forward = real_cp, real_forward
    saved = json.loads(Path(c.out).read_text()) if dist.get_rank() == 0 else None
    ddp = db.ddp_bench(db.DDPBenchConfig(**DDP), group)
    no_single = cb.run_cp_bench(replace(c, lengths=(8,), single=False, out=None))  # in the group
    return {"exchanges": exchanges, "cp": cp, "saved": saved, "ddp": ddp, "no_single": no_single}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The runs of :func:`_in_the_group` on 2 processes that the bench's own launcher spawns
    (as ``hyena-lab cp-bench --procs 2`` does), rank 0's results read back."""
    out = tmp_path_factory.mktemp("cp-bench") / "cp.json"
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # the spawned processes' torch threads
    try:
        return ranks.launch(_in_the_group, cb.CPBenchConfig(**CP, procs=WORLD, out=str(out)))
    finally:
        if threads is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = threads


# ------------------------------------------------------------------------------ the exchanges
def test_the_communication_pass_moves_exactly_bytes_moved(runs):
    x = runs["exchanges"]
    assert len(x["sent"]) == 2 * ORDER  # two all-to-alls per long convolution
    assert sum(x["sent"]) == bytes_moved(B, L, D, WORLD, ORDER, torch.float32) > 0
    assert x["round_trip"]  # sequence -> channels -> sequence puts every value back


def test_the_compute_pass_communicates_nothing(runs):
    x = runs["exchanges"]
    assert x["local_collectives"] == 0  # no all-to-all, halo send/receive or all-reduce
    assert x["local_shape"] == [B, L // WORLD, D] and x["local_grad"]


# ---------------------------------------------------------------------------------- cp-bench
def _positive(x) -> bool:
    return isinstance(x, float) and x > 0


def test_the_cp_record_has_every_field(runs):
    r = runs["cp"]
    for key in ("run", "config", "world_size", "backend", "dtype", "lengths", "cases", "results",
                "longest_fit", "complete"):  # fmt: skip
        assert key in r, key
    assert r["world_size"] == WORLD and r["backend"] == "gloo" and r["dtype"] == "float32"
    assert r["complete"]
    assert r["lengths"] == list(LENGTHS) and r["cases"] == list(cb.CASES)
    assert r["run"]["device"] == "cpu" and r["run"]["torch"] == torch.__version__
    for e, n in zip(r["results"], LENGTHS, strict=True):
        assert e["L"] == n and e["positions_per_rank"] == n // WORLD
        assert e["bytes_moved"] == bytes_moved(1, n, D, WORLD, ORDER, torch.float32)
        assert set(cb.CASES) | {"bandwidth_gb_s", "communication_share",
                                "exposed_communication_share", "speedup_forward",
                                "speedup_forward_backward"} <= set(e)  # fmt: skip


def test_cp_times_are_positive_numbers_and_derived_figures_follow_from_them(runs):
    for e in runs["cp"]["results"]:
        ok = {k: e[k] for k in cb.CASES if e[k]["status"] == "ok"}
        assert {"cp_forward", "communication", "compute_forward"} <= set(ok)
        for k, case in ok.items():
            assert _positive(case["seconds"]), k
            ranks = 1 if k.startswith("single") else WORLD
            assert len(case["seconds_by_rank"]) == ranks
            assert all(_positive(s) for s in case["seconds_by_rank"])
            assert case["seconds"] == max(case["seconds_by_rank"])  # the slowest rank
            assert case["peak_memory_bytes"] is None  # the CPU has no allocator statistics
        fwd, comm = ok["cp_forward"]["seconds"], ok["communication"]["seconds"]
        assert e["bandwidth_gb_s"] == pytest.approx(e["bytes_moved"] / comm / 1e9, rel=1e-12)
        assert e["communication_share"] == pytest.approx(comm / fwd, rel=1e-12)
        exposed = (fwd - ok["compute_forward"]["seconds"]) / fwd
        assert e["exposed_communication_share"] == pytest.approx(exposed, rel=1e-12)


def test_out_of_memory_is_recorded_as_oom_then_skipped(runs):
    status = {e["L"]: {k: e[k]["status"] for k in cb.CASES} for e in runs["cp"]["results"]}
    assert status[8] == dict.fromkeys(cb.CASES, "ok")
    assert status[16]["single_forward_backward"] == "oom"
    assert status[16]["single_forward"] == "error"  # another failure: recorded, not a crash
    assert status[32]["single_forward"] == status[32]["single_forward_backward"] == "skipped"
    assert status[16]["cp_forward_backward"] == "ok"
    assert status[32]["cp_forward_backward"] == status[32]["compute_forward_backward"] == "oom"
    assert status[32]["cp_forward"] == status[32]["communication"] == "ok"
    at_16 = runs["cp"]["results"][1]
    assert "OutOfMemoryError" in at_16["single_forward_backward"]["note"]
    assert "seconds" not in at_16["single_forward_backward"]
    assert at_16["single_forward"]["note"] == "RuntimeError: " + _FAKE_ERROR.splitlines()[0]
    assert runs["cp"]["results"][2]["single_forward"]["note"] == "error at L=16"
    assert runs["cp"]["results"][1]["speedup_forward"] is None  # nothing to compare with


def test_longest_fit_on_one_device_and_on_p(runs):
    fit = runs["cp"]["longest_fit"]
    assert (fit["single_forward"], fit["single_forward_backward"]) == (8, 8)
    assert (fit["cp_forward"], fit["cp_forward_backward"]) == (32, 16)
    assert fit["single_forward_backward_stopped_by"] == fit["cp_forward_backward_stopped_by"] \
        == "oom"  # fmt: skip
    assert fit["single_forward_stopped_by"] == "error"
    assert fit["cp_forward_stopped_by"] is None  # the longest L tried fitted: a lower bound
    assert (fit["ratio_forward"], fit["ratio_forward_backward"]) == (4.0, 2.0)


def test_no_single_leaves_the_single_device_out(runs):
    (e,) = runs["no_single"]["results"]
    skipped = {"status": "skipped", "note": "--no-single"}
    assert e["single_forward"] == e["single_forward_backward"] == skipped
    assert e["cp_forward"]["status"] == "ok" and e["speedup_forward"] is None


def test_rank_0_wrote_the_record(runs):
    saved = runs["saved"]
    assert saved["schema"] == {"name": "cp-bench", "version": 1}
    assert saved["results"] == runs["cp"]["results"] and saved["complete"]


# --------------------------------------------------------------------------------- ddp-bench
def test_ddp_record_and_its_efficiency(runs):
    r = runs["ddp"]
    assert r["complete"] and r["world_size"] == WORLD and r["params"] > 0
    assert r["tokens_per_step_per_rank"] == DDP["batch_per_rank"] * DDP["block_size"]
    one, many = r["one_process"], r["all_processes"]
    assert _positive(one["seconds"]) and _positive(many["seconds"])
    assert len(one["seconds_by_rank"]) == 1 and len(many["seconds_by_rank"]) == WORLD
    tps1, tpsp = r["tokens_per_s"]["1"], r["tokens_per_s"][str(WORLD)]
    assert tps1 == pytest.approx(r["tokens_per_step_per_rank"] / one["seconds"], rel=1e-12)
    assert tpsp == pytest.approx(WORLD * r["tokens_per_step_per_rank"] / many["seconds"],
                                 rel=1e-12)  # fmt: skip
    assert r["scaling_efficiency"] == pytest.approx(tpsp / (WORLD * tps1), rel=1e-12)


def test_scaling_efficiency_by_hand():
    assert db.scaling_efficiency(100.0, 200.0, 2) == 1.0  # twice the work in the same time
    assert db.scaling_efficiency(100.0, 150.0, 2) == 0.75
    assert db.scaling_efficiency(100.0, 100.0, 4) == 0.25  # four processes, no faster than one
    with pytest.raises(ValueError, match="tokens_per_s_1 must be finite and > 0"):
        db.scaling_efficiency(0.0, 1.0, 2)
    with pytest.raises(ValueError, match="processes must be >= 1"):
        db.scaling_efficiency(1.0, 1.0, 0)


# ------------------------------------------------------------------------------- bad options
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(procs=5), "d_model=768 must be a multiple of the P=5 processes"),
        (dict(procs=2, lengths=(64, 33)), "multiple of the P=2 processes .* got L=33"),
        (dict(procs=4, lengths=(4,), d_model=8), r"L/P >= 2 .* got L=4"),
        (dict(lengths=()), "lengths must be a non-empty sequence"),
        (dict(dtype="fp8"), "dtype must be one of"),
        (dict(device="tpu"), "device must be 'cpu' or 'cuda'"),
        (dict(timeout=0.0), "timeout must be finite and > 0"),
    ],
)
def test_bad_cp_options_are_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        cb.CPBenchConfig(**options)


def test_bad_ddp_options_are_clear_errors():
    with pytest.raises(ValueError, match="mixer must be one of"):
        db.DDPBenchConfig(mixer="rnn")
    with pytest.raises(ValueError, match="batch_per_rank must be >= 1"):
        db.DDPBenchConfig(batch_per_rank=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a CPU-only machine")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no CUDA device: use --device cpu"):
        cb.run_cp_bench(cb.CPBenchConfig(device="cuda", procs=2, lengths=(64,)))
    with pytest.raises(ValueError, match=r"--out .* is a folder"):
        db.run_ddp_bench(db.DDPBenchConfig(out=str(tmp_path)))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyena-lab")
    sub = parser.add_subparsers(dest="command", required=True)
    for experiment in (*cb.EXPERIMENTS, *db.EXPERIMENTS):
        add_command(sub, experiment)
    return parser


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cp-bench", "--lengths", "1"], r"--lengths: expected a whole number \[2, "),
        (["cp-bench", "--repeats", "0"], r"--repeats: expected a whole number \[1, "),
        (["cp-bench", "--device", "tpu"], r"--device: invalid choice: 'tpu'"),
        (["ddp-bench", "--batch-per-rank", "0"], r"--batch-per-rank: expected a whole number"),
        (["ddp-bench", "--timeout", "-1"], r"--timeout: expected a finite number > 0"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_option(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)


# ---------------------------------------------------------------------- the commands, end to end
def test_the_gpu_script_runs_both_commands_on_cpus(tmp_path):
    """scripts/multi_gpu.sh with DEVICE=cpu and tiny sizes: torchrun, gloo, the records."""
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable, "DEVICE": "cpu",
           "LENGTHS": "16 32", "D_MODEL": "4", "WARMUP": "0", "REPEATS": "1",
           "BATCHES_PER_RANK": "2", "DDP_WARMUP": "0", "DDP_REPEATS": "1",
           "DDP_ARGS": "--block-size 8 --d-model 8 --n-layers 1", "CP_LIMIT": "120",
           "DDP_LIMIT": "120", "COLLECTIVE_TIMEOUT": "60"}  # fmt: skip
    done = subprocess.run(["bash", str(ROOT / "scripts" / "multi_gpu.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cp-bench: exit status 0" in done.stdout
    assert "ddp-bench-b2: exit status 0" in done.stdout
    cp = json.loads((tmp_path / "cp-bench.json").read_text())
    ddp = json.loads((tmp_path / "ddp-bench-b2.json").read_text())
    assert cp["schema"]["name"] == "cp-bench" and ddp["schema"]["name"] == "ddp-bench"
    assert cp["complete"] and [e["L"] for e in cp["results"]] == [16, 32]
    assert cp["world_size"] == ddp["world_size"] == 2 and ddp["complete"]
    assert ddp["batch_per_rank"] == 2
    last = json.loads((tmp_path / "cp-bench.log").read_text().strip().splitlines()[-1])
    assert last["out"] == str(tmp_path / "cp-bench.json") and last["results"][0]["L"] == 16
    names = ["cp-bench.json", "cp-bench.log", "ddp-bench-b2.json", "ddp-bench-b2.log", "env.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # the device returns up to 8
