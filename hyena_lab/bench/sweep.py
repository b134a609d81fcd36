"""The sweep over lengths, benches, passes and SDPA backends, bounded by rules that skip cases.

A case is skipped (recorded as ``"skipped"`` with the reason) when the FLOP/byte model scaled
from the last length that ran predicts a call slower than ``max_call_ms``, when a materialised
``(L, L)`` score matrix would not fit in device memory, or when ``time_budget_s`` is spent.
A run cut short resumes from its file (:mod:`.resume`).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from ..measure import Stopwatch, save_record
from ..measure import environment as machine_environment
from ..progress import bars_disabled
from ..roofline import Ceilings, measure_ceilings
from .accuracy import accuracy_checks
from .cases import case_cost, new_point, run_case
from .config import BENCHES, FORWARD_ONLY, BenchConfig, command_line
from .profile import profile_layers, safe_profile_fftconv
from .results import RECORD_SCHEMA, SCHEMA, summarize
from .resume import check_resumable, finished

__all__ = ["environment", "run_benchmarks"]

#: Bytes per score that a materialised (L, L) attention needs (bf16 scores, fp32 softmax ...).
_SCORE_BYTES = {"fwd": 10, "fwd+bwd": 20}
Key = tuple[str, str, str | None]  # (bench, pass, backend) of the cases that predict others
Case = tuple[int, str, str, str | None]  # (L, bench, pass, backend) as _plan lists it


def _plan(cfg: BenchConfig) -> list[Case]:
    """Every case in run order: ``(L, bench, pass, backend)``; mha's backend is chosen later;
    a ``hyena`` case's backend is its variant (:data:`~.config.HYENA_VARIANTS`)."""
    return [
        (L, bench, pass_, backend)
        for L in sorted(cfg.lengths)
        for pass_ in cfg.passes
        for bench in BENCHES if bench in cfg.benches
        for backend in {"sdpa": cfg.backends, "hyena": cfg.hyena_variants}.get(bench, [None])
    ]  # fmt: skip


def _case(point: dict) -> Case:
    """The :func:`_plan` entry a results point measured (mha's backend was chosen later; the
    fftconv and naive benches have none)."""
    planned = point["bench"] in ("sdpa", "hyena")
    return point["L"], point["bench"], point["pass"], point["backend"] if planned else None


def skip_reason(
    cfg: BenchConfig, key: Key, L: int, history: dict[Key, dict], elapsed: float
) -> str | None:
    """Why a case should not run (``None``: run it), by the module docstring's rules."""
    bench, pass_, backend = key
    scores = bench == "naive" or backend == "math"  # materialises the (L, L) scores
    if elapsed > cfg.time_budget_s:
        return f"time budget of {cfg.time_budget_s:.0f} s spent"
    dev = torch.device(cfg.device)
    if scores and dev.type == "cuda":  # on the CPU: no pre-emptive memory skips
        need = cfg.batch_for(L) * cfg.heads * L * L * _SCORE_BYTES[pass_]
        if need > 0.9 * torch.cuda.get_device_properties(dev).total_memory:
            return f"the (L, L) scores need ~{need / 2**30:.0f} GiB, more than the device has"
    last = history.get(key)
    if last is not None and last["status"] == "oom" and scores:
        return f"out of memory at L={last['L']} already"
    if last is None or last["status"] != "ok":
        return None
    cost = case_cost(cfg, bench, L, pass_)
    predicted = last["time_ms"] * max(cost.flops / last["flops"], cost.bytes / last["bytes_floor"])
    if predicted > cfg.max_call_ms:
        return f"predicted {predicted:.0f} ms per call > max_call_ms {cfg.max_call_ms:.0f}"
    return None


def _mha_candidates(cfg: BenchConfig, points: list[dict], L: int, pass_: str) -> list[str | None]:
    """SDPA backends for the attention layer at ``(L, pass)``: fastest measured first."""
    measured = sorted(
        (p["time_ms"], p["backend"])
        for p in points
        if p["bench"] == "sdpa" and p["L"] == L and p["pass"] == pass_ and p["status"] == "ok"
    )
    order = [b for _, b in measured]
    order += [b for b in cfg.backends if b not in order]
    return order or [None]


def environment(cfg: BenchConfig, out: str | Path | None = None) -> dict:
    """The ``meta`` block of a results file: :func:`hyena_lab.measure.environment` of the
    device, the shapes, the settings and the command."""
    return {
        "schema": SCHEMA, **machine_environment(cfg.device), "dtype": cfg.dtype,
        "d_model": cfg.d_model, "heads": cfg.heads, "head_dim": cfg.head_dim, "order": cfg.order,
        "tokens_per_batch": cfg.tokens, "lengths": sorted(cfg.lengths),
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "command": command_line(cfg, out),
    }  # fmt: skip


def run_benchmarks(
    cfg: BenchConfig, *, out: str | Path | None = None, progress: bool = True,
    ceilings: Ceilings | None = None, resume: dict | None = None,
) -> dict:  # fmt: skip
    """Measure the roofline ceilings (unless given), run every case of ``cfg`` in order of
    length (the attention layer with the fastest SDPA backend at that length), then the
    accuracy checks, profiles and summary; write ``out`` after every case; return results.

    ``resume``: the results of a run cut short (:func:`.resume.load_partial`), which this one
    continues: its ceilings and finished cases are kept, the others run (``cfg`` must be its
    settings, but the time budget; :func:`.resume.check_resumable`)."""
    cfg.validate()
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run_sweep(cfg, out, progress, ceilings, resume)
    finally:
        torch.set_num_threads(threads)


def _start(cfg: BenchConfig, out: str | Path | None, ceilings: Ceilings | None,
           resume: dict | None) -> tuple[dict, dict[Case, dict], float]:  # fmt: skip
    """The results to fill, the cases already measured, and the seconds already spent."""
    env = environment(cfg, out)
    if resume is None:
        ceilings = ceilings or measure_ceilings(cfg.device, dtype=cfg.torch_dtype)
        return {"meta": env, "complete": False, "points": [],
                "ceilings": ceilings.to_dict()}, {}, 0.0  # fmt: skip
    check_resumable(resume, env, cfg)
    meta = dict(resume["meta"])
    sitting = {"date": env["date"], "time": env["time"], "time_budget_s": cfg.time_budget_s}
    meta["resumed"] = [*meta.get("resumed", []), sitting]
    kept = {_case(p): p for p in resume["points"] if finished(p)}
    results = {**resume, "meta": meta, "complete": False, "points": []}
    return results, kept, float(meta.get("seconds", 0.0))


def _run_sweep(
    cfg: BenchConfig, out: str | Path | None, progress: bool, ceilings: Ceilings | None,
    resume: dict | None,
) -> dict:  # fmt: skip
    clock = Stopwatch()
    results, kept, spent = _start(cfg, out, ceilings, resume)
    history: dict[Key, dict] = {}
    bar = tqdm(_plan(cfg), desc="bench", disable=not progress or bars_disabled(),
               file=sys.stderr, dynamic_ncols=True)  # fmt: skip
    for L, bench, pass_, backend in bar:
        bar.set_postfix_str(f"L={L} {bench}/{pass_}/{backend or '-'}")
        # the attention layer tries the SDPA backends, fastest first, until one runs
        mha = bench == "mha"
        backends = _mha_candidates(cfg, results["points"], L, pass_) if mha else [backend]
        key = (bench, pass_, None if mha else backend)
        point = kept.get((L, bench, pass_, backend))
        if point is not None:  # measured by an earlier sitting of this run
            if point["status"] != "skipped":
                history[key] = point
            results["points"].append(point)
            continue
        reason = skip_reason(cfg, key, L, history, clock.elapsed())
        if bench == "hyena" and pass_ == "fwd+bwd" and backend in FORWARD_ONLY:
            point = new_point(cfg, bench, L, pass_, backend)  # with gradients: the triton layer
            point.update(status="unsupported", note=f"{backend} is forward only")
        elif reason is not None:
            point = new_point(cfg, bench, L, pass_, backends[0])
            point["note"] = reason
        else:
            for b in backends:
                point = run_case(cfg, bench, L, pass_, b)
                if point["status"] in ("ok", "oom"):
                    break
            history[key] = point  # predictions use the last length that really ran
        results["points"].append(point)
        results["meta"]["seconds"] = spent + clock.elapsed()
        save(results, out)  # after every case: a run cut short keeps every case it finished
        if point["status"] == "error":
            tqdm.write(f"[bench] L={L} {bench}/{pass_}/{backend}: {point['note']}", sys.stderr)
    bar.close()
    if cfg.accuracy_length != 0:
        results["accuracy"] = accuracy_checks(cfg)
    if cfg.profile_length is not None and "fftconv" in cfg.benches:
        results["fftconv_profile"] = safe_profile_fftconv(cfg)
    if cfg.profile_layers is not None:
        results["layer_profile"] = profile_layers(cfg, cfg.profile_layers)
    results["summary"] = summarize(results)
    results["complete"] = True
    results["meta"]["seconds"] = spent + clock.elapsed()
    save(results, out)
    return results


def save(results: dict, out: str | Path | None) -> None:
    """Write ``results`` to ``out`` (if given) through :func:`hyena_lab.measure.save_record`."""
    if out is not None:
        save_record(results, Path(out), schema=RECORD_SCHEMA, version=1)
