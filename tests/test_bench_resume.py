"""A benchmark run cut short and resumed (``python -m hyena_lab.bench --resume FILE``,
:mod:`hyena_lab.bench.resume`): the finished cases kept as measured, the others run, one
record; what cannot resume is refused with a reason."""

from __future__ import annotations

import argparse
import json

import pytest

from hyena_lab import bench
from hyena_lab.bench import resume, sweep
from hyena_lab.bench.config import FORWARD_ONLY, HYENA_VARIANTS, add_arguments
from hyena_lab.measure import load_record

from .test_bench import CEIL, tiny_config


def _cases(results: dict) -> list[tuple]:
    return [sweep._case(p) for p in results["points"]]


def _interrupted(tmp_path, monkeypatch, after: int, **cfg) -> tuple:
    """A tiny CPU run stopped (as by Ctrl-C) as its case number ``after + 1`` starts."""
    out = tmp_path / "run.json"
    real, calls = sweep.run_case, []

    def stop_after(*args, **kw):
        if len(calls) == after:
            raise KeyboardInterrupt
        calls.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(sweep, "run_case", stop_after)
    with pytest.raises(KeyboardInterrupt):
        bench.run_benchmarks(tiny_config(**cfg), out=out, progress=False, ceilings=CEIL)
    monkeypatch.setattr(sweep, "run_case", real)
    return out, load_record(out)


def test_an_interrupted_run_resumes_to_the_whole_run(tmp_path, monkeypatch):
    cfg = {"benches": ("fftconv", "sdpa", "hyena"), "backends": ("math",), "profile_length": None}
    out, partial = _interrupted(tmp_path, monkeypatch, after=3, **cfg)
    assert not partial["complete"] and len(partial["points"]) == 3
    assert partial["meta"]["seconds"] > 0  # written with every case, not only at the end
    ran = []
    real = sweep.run_case
    monkeypatch.setattr(sweep, "run_case", lambda *a, **k: ran.append(a[1:]) or real(*a, **k))
    record = resume.load_partial(out)
    done = bench.run_benchmarks(tiny_config(**cfg), out=out, progress=False, resume=record)
    monkeypatch.setattr(sweep, "run_case", real)
    whole = bench.run_benchmarks(tiny_config(**cfg), progress=False, ceilings=CEIL)
    assert done["complete"] and load_record(out)["complete"]
    assert _cases(done) == _cases(whole)  # the same cases, in the sweep's order
    assert done["points"][:3] == partial["points"]  # kept as measured, not re-run
    assert len(ran) == len(whole["points"]) - 3
    assert all(p["status"] == "ok" for p in done["points"])
    assert done["ceilings"] == partial["ceilings"]  # one run: the first sitting's ceilings
    assert [set(s) for s in done["meta"]["resumed"]] == [{"date", "time", "time_budget_s"}]
    assert done["meta"]["seconds"] >= partial["meta"]["seconds"]
    assert done["meta"]["command"] == partial["meta"]["command"]
    assert set(done["summary"]) == set(whole["summary"])


def test_cases_the_time_budget_skipped_run_when_resumed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "measure_ceilings", lambda *a, **k: CEIL)
    out = tmp_path / "budget.json"
    args = ["--device", "cpu", "--dtype", "fp32", "--d-model", "8", "--heads", "2", "--tokens",
            "64", "--lengths", "16,32", "--benches", "fftconv,hyena", "--warmup", "0",
            "--min-repeats", "1", "--max-repeats", "2", "--target-ms", "1", "--threads", "1",
            "--profile-length", "0", "--accuracy-length", "0", "--no-progress"]  # fmt: skip
    assert bench.main([*args, "--time-budget", "1e-9", "--out", str(out)]) == 0
    first = load_record(out)
    assert first["complete"] and {p["status"] for p in first["points"]} == {"skipped"}
    capsys.readouterr()  # a sweep whose budget ran out is complete, and resumes
    assert bench.main(["--resume", str(out), "--no-progress", "--time-budget", "600"]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert line["out"] == str(out) and line["points_ok"] == line["points"] == 8
    done = load_record(out)
    assert done["complete"] and done["meta"]["config"]["time_budget_s"] == 1e-9  # the run's
    assert done["meta"]["resumed"][0]["time_budget_s"] == 600  # the sitting's
    with pytest.raises(SystemExit):  # now every case ran: nothing to resume
        bench.main(["--resume", str(out), "--no-progress"])
    assert "nothing to resume" in capsys.readouterr().err


def test_a_resumed_option_must_be_the_records(tmp_path, monkeypatch, capsys):
    out, _ = _interrupted(tmp_path, monkeypatch, after=1, benches=("fftconv",),
                          profile_length=None)  # fmt: skip
    with pytest.raises(SystemExit):
        bench.main(["--resume", str(out), "--d-model", "16"])
    err = capsys.readouterr().err
    assert "d_model = 8, not 16" in err and "leave the option out" in err
    # an option given with the record's value is fine: only the check runs here
    record = resume.load_partial(out)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    ns = parser.parse_args(["--resume", str(out), "--d-model", "8", "--time-budget", "5"])
    cfg = bench._resumed_config(ns, record)
    assert cfg.d_model == 8 and cfg.time_budget_s == 5 and cfg.lengths == (16, 32)


def test_what_cannot_resume_is_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no results file"):
        resume.load_partial(tmp_path / "missing.json")
    with pytest.raises(SystemExit) as stop:  # the command: a one-line error, exit status 2
        bench.main(["--resume", str(tmp_path / "missing.json")])
    assert stop.value.code == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"meta": {"schema"')  # cut short mid-write (save_record never leaves this)
    with pytest.raises(ValueError, match="not a readable bench results file"):
        resume.load_partial(bad)
    bad.write_text(json.dumps({"schema": {"name": "hyena-lab.long-fft", "version": 1}}))
    with pytest.raises(ValueError, match="not a readable bench results file"):
        resume.load_partial(bad)
    out, _ = _interrupted(tmp_path, monkeypatch, after=1, benches=("fftconv",),
                          profile_length=None)  # fmt: skip
    record = resume.load_partial(out)
    env = sweep.environment(tiny_config(), out)
    resume.check_resumable(record, env, tiny_config(benches=("fftconv",), profile_length=None))
    for key, other in (("git_commit", "0" * 40), ("torch", "0.0"), ("device", "NVIDIA H200")):
        with pytest.raises(ValueError, match=f"the record's {key} is"):
            resume.check_resumable(record, {**env, key: other})
    with pytest.raises(ValueError, match="ran with d_model = 8, not 16"):
        resume.check_resumable(record, env, tiny_config(d_model=16, benches=("fftconv",),
                                                        profile_length=None))  # fmt: skip
    with pytest.raises(ValueError, match="only \\['time_budget_s'\\] may change"):
        resume.config_of(record, d_model=16)
    broken = {**record, "meta": {**record["meta"], "config": {"d_model": 8}}}
    with pytest.raises(ValueError, match="config has fields"):
        resume.config_of(broken)


def test_forward_only_variants_are_not_timed_with_gradients():
    cfg = tiny_config(benches=("hyena",), passes=("fwd+bwd",), lengths=(16, 32),
                      hyena_variants=("torch", "triton_long", "triton_half"),
                      profile_length=None, accuracy_length=0)  # fmt: skip
    results = bench.run_benchmarks(cfg, progress=False, ceilings=CEIL)
    status = {p["backend"]: (p["status"], p["note"]) for p in results["points"]}
    assert status["torch"][0] == "ok"
    for v in FORWARD_ONLY:
        assert status[v] == ("unsupported", f"{v} is forward only")
    assert set(FORWARD_ONLY) < set(HYENA_VARIANTS)
    from hyena_lab.viz.fused import variants_figure

    (ax,) = variants_figure(results).axes  # forward + backward only: no line, no legend entry
    assert [line.get_label() for line in ax.get_lines()] == ["eager layer (torch.fft)"]
