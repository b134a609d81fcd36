"""Where the time of one benchmark call goes: ``torch.profiler`` by CUDA kernel and by operator.

:func:`profile_call` profiles one call (device time per CUDA kernel and self time per ``aten::``
operator on a GPU, self CPU time on the CPU); :func:`profile_fftconv` applies it to the FFT
convolution and :func:`profile_layers` to the Hyena operator and the attention layer, the
profiles that chapter 05 sets next to the roofline floors.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .cases import Inputs, release, workload
from .config import BenchConfig

__all__ = ["profile_call", "profile_fftconv", "profile_layers"]


def profile_call(call: Callable[[Inputs], object], inputs: Inputs, device, top: int = 25) -> dict:
    """Where the time of one ``call(inputs)`` goes, by ``torch.profiler`` (after 3 warm-ups).

    Returns ``kernels`` (device time per CUDA kernel name, summed over launches) and ``ops``
    (self device time per ``aten::`` operator, e.g. ``aten::addmm`` for a Linear layer,
    ``aten::_fft_r2c`` for an FFT, ``aten::copy_`` for casts and layout changes), the ``top``
    largest each, in ms. On the CPU both hold the operators' self CPU time.
    """
    from torch.profiler import ProfilerActivity, profile

    gpu = torch.device(device).type == "cuda"
    for _ in range(3):
        call(inputs)
    if gpu:
        torch.cuda.synchronize()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    with profile(activities=acts) as prof:
        call(inputs)
        if gpu:
            torch.cuda.synchronize()
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
        if gpu:
            us = getattr(avg, "self_device_time_total", None)
            us = avg.self_cuda_time_total if us is None else us
        else:
            us = avg.self_cpu_time_total
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


def profile_fftconv(cfg: BenchConfig, L: int) -> dict:
    """:func:`profile_call` of one forward ``fftconv`` at length ``L``.

    Shows where the unfused convolution's time goes (casts, padding, FFT passes, the spectral
    product, the slice), to set next to its roofline floor.
    """
    work = workload(cfg, "fftconv", L, "fwd", None)
    profile = profile_call(work.call, work.make_inputs(0), cfg.device)
    return {"L": L, "batch": cfg.batch_for(L), **profile}


def profile_layers(cfg: BenchConfig, L: int) -> dict:
    """:func:`profile_call` of the Hyena operator and the attention layer at ``L``, both passes.

    Keys ``"hyena/fwd"``, ``"hyena/fwd+bwd"``, ``"mha/fwd"``, ``"mha/fwd+bwd"``; a case that
    fails holds ``{"error": ...}``.
    """
    out: dict = {"L": L, "batch": cfg.batch_for(L)}
    for bench in ("hyena", "mha"):
        for pass_ in cfg.passes:
            try:
                work = workload(cfg, bench, L, pass_, None)
                out[f"{bench}/{pass_}"] = profile_call(work.call, work.make_inputs(0), cfg.device)
            except Exception as err:  # optional: a failure is recorded
                out[f"{bench}/{pass_}"] = {"error": f"{type(err).__name__}: {err}"[:300]}
            finally:
                work = None
                release(cfg.device)
    return out


def safe_profile_fftconv(cfg: BenchConfig) -> dict:
    """:func:`profile_fftconv` at ``cfg.profile_length``; an error is recorded, not raised."""
    try:
        return profile_fftconv(cfg, cfg.profile_length)
    except Exception as err:  # optional: a failure is recorded
        return {"L": cfg.profile_length, "error": f"{type(err).__name__}: {err}"[:300]}
    finally:
        release(cfg.device)
