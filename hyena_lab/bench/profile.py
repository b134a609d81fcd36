"""Where the time of one benchmark call goes: ``torch.profiler`` by CUDA kernel and by operator
(self CPU time on the CPU), for the FFT convolution and both layers: the profiles that chapter
05 sets next to the roofline floors."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .cases import Inputs, release, workload
from .config import BenchConfig

__all__ = ["profile_call", "profile_fftconv", "profile_layers"]


def profile_call(call: Callable[[Inputs], object], inputs: Inputs, device, top: int = 25) -> dict:
    """Where the time of one ``call(inputs)`` goes (after 3 warm-ups): ``kernels``, device ms
    per CUDA kernel, and ``ops``, self device ms per ``aten::`` operator, the ``top`` largest
    each (on the CPU both hold the operators' self CPU time)."""
    from torch.profiler import ProfilerActivity, profile

    gpu = torch.device(device).type == "cuda"
    sync = torch.cuda.synchronize if gpu else lambda: None
    for _ in range(3):
        call(inputs)
    sync()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    with profile(activities=acts) as prof:
        call(inputs)
        sync()
    kernels: dict[str, list[float]] = {}
    for evt in prof.events():
        if gpu and evt.device_type == torch.autograd.DeviceType.CUDA:
            us = evt.time_range.elapsed_us()
        elif not gpu and evt.name.startswith("aten::"):
            us = evt.self_cpu_time_total
        else:
            continue
        row = kernels.setdefault(evt.name[:120], [0.0, 0])
        row[0] += us / 1e3
        row[1] += 1
    ops: dict[str, list[float]] = {}
    for avg in prof.key_averages():
        if not avg.key.startswith("aten::"):
            continue
        us = getattr(avg, "self_device_time_total", None) if gpu else avg.self_cpu_time_total
        us = avg.self_cuda_time_total if us is None else us  # older torch
        if us > 0:
            ops[avg.key] = [us / 1e3, avg.count]
    return {
        "kind": "cuda kernels" if gpu else "cpu operators (self time)",
        "total_ms": sum(v[0] for v in kernels.values()),
        "kernels": _top_rows(kernels, top),
        "ops": _top_rows(ops, top),
    }


def _top_rows(rows: dict[str, list[float]], top: int) -> list[dict]:
    """``{name: [ms, calls]}`` as a list of dicts, largest ``ms`` first, ``top`` of them."""
    ranked = sorted(rows.items(), key=lambda kv: -kv[1][0])[:top]
    return [{"name": k, "ms": v[0], "calls": int(v[1])} for k, v in ranked]


def _profile_case(cfg: BenchConfig, bench: str, L: int, pass_: str) -> dict:
    """:func:`profile_call` of one case."""
    work = workload(cfg, bench, L, pass_, None)
    return profile_call(work.call, work.make_inputs(0), cfg.device)


def _recorded(profile: Callable[[], dict], device: str) -> dict:
    """``profile()``, or ``{"error": ...}`` if it fails (profiles are optional)."""
    try:
        return profile()
    except Exception as err:  # recorded, so that the sweep's data survive
        return {"error": f"{type(err).__name__}: {err}"[:300]}
    finally:
        release(device)


def profile_fftconv(cfg: BenchConfig, L: int) -> dict:
    """:func:`profile_call` of one forward ``fftconv`` at length ``L``: where the unfused
    convolution's time goes (casts, padding, FFT passes, the product, the slice)."""
    return {"L": L, "batch": cfg.batch_for(L), **_profile_case(cfg, "fftconv", L, "fwd")}


def profile_layers(cfg: BenchConfig, L: int) -> dict:
    """:func:`profile_call` of the Hyena operator and the attention layer at ``L`` in each of
    ``cfg.passes``: keys ``"hyena/fwd"``, ..., ``"mha/fwd+bwd"``; a failure holds ``error``."""
    out: dict = {"L": L, "batch": cfg.batch_for(L)}
    for bench in ("hyena", "mha"):
        for pass_ in cfg.passes:
            out[f"{bench}/{pass_}"] = _recorded(
                lambda b=bench, p=pass_: _profile_case(cfg, b, L, p), cfg.device
            )
    return out


def safe_profile_fftconv(cfg: BenchConfig) -> dict:
    """:func:`profile_fftconv` at ``cfg.profile_length``; an error is recorded, not raised."""
    L = cfg.profile_length
    return {"L": L, **_recorded(lambda: profile_fftconv(cfg, L), cfg.device)}
