"""How far each benchmarked function is from float64: the accuracy checks of a benchmark run
(a timing means little if the kernel computes something else)."""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn

from ..checks import rel_err
from ..conv import direct_conv, fftconv
from ..mixers import causal_attention, naive_causal_attention
from .cases import build_attention, build_hyena, classify, release
from .config import BenchConfig

__all__ = ["accuracy_checks", "layer_accuracy"]


def accuracy_checks(cfg: BenchConfig) -> dict:
    """Relative error of every benchmarked function in ``cfg.dtype`` at ``cfg.accuracy_length``
    (by default the sweep's shortest length), batch 1, against float64: the definition of the
    convolution, the naive attention, float64 copies of the layers. A failure is recorded as a
    string, not raised. (At long lengths the float64 references are slow: the direct
    convolution is O(L^2 D); a sweep of long lengths only names a short ``accuracy_length``.)"""
    L = cfg.accuracy_length or min(cfg.lengths)
    d, dev, dt = cfg.d_model, cfg.device, cfg.torch_dtype
    g = torch.Generator(device=dev).manual_seed(cfg.seed + 12345)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, device=dev, dtype=torch.float64)

    out: dict = {"L": L, "batch": 1, "dtype": cfg.dtype}
    u, k = rand(1, d, L), rand(d, L) / math.sqrt(L)
    checks: dict[str, Callable[[], float]] = {
        "fftconv": lambda: rel_err(fftconv(u.to(dt), k.to(dt)), direct_conv(u, k))
    }
    q, kk, v = (rand(1, cfg.heads, L, cfg.head_dim) for _ in range(3))
    ref: dict[str, torch.Tensor] = {}

    def ref_attn() -> torch.Tensor:  # computed inside a check, so that its failure (the (L, L)
        if "attn" not in ref:  # scores out of memory at L = 1M) is recorded, not raised
            ref["attn"] = naive_causal_attention(q, kk, v)
        return ref["attn"]

    for b in cfg.backends:
        checks[f"sdpa/{b}"] = lambda b=b: rel_err(
            causal_attention(q.to(dt), kk.to(dt), v.to(dt), b), ref_attn()
        )
    checks["naive"] = lambda: rel_err(
        naive_causal_attention(q.to(dt), kk.to(dt), v.to(dt)), ref_attn()
    )
    x = rand(1, L, d)

    def layer_err(module: nn.Module) -> float:
        ref = copy.deepcopy(module).double()
        return rel_err(module(x.to(dt)), ref(x))

    for variant in cfg.hyena_variants:
        name = "hyena" if variant == "torch" else f"hyena/{variant}"
        checks[name] = lambda v=variant: layer_accuracy(cfg, L, v, batch=1)["out"]
    checks["mha"] = lambda: layer_err(build_attention(cfg, L))
    for name, check in checks.items():
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = check()
        except Exception as err:  # recorded, so that the data survive
            out[name] = f"{classify(err)}: {(str(err).splitlines() or [''])[0][:120]}"
    release(dev)
    return out


def layer_accuracy(cfg: BenchConfig, L: int, variant: str, batch: int = 1) -> dict[str, float]:
    """Relative errors of the Hyena layer built as ``variant`` in ``cfg.dtype`` against the
    same weights in float64 (the eager ``torch`` layer), at length ``L``: the output (``out``,
    and ``out_no_grad`` computed without autograd, which may take another path),
    the input's gradient (``grad_u``) and all parameters' gradients together (``grad_params``)
    for a random output gradient. Chapter 06 holds every variant to 1e-2 in bf16, 1e-4 in fp32
    (:data:`hyena_lab.checks.HALF_VS_F64`)."""
    dev, dt = cfg.device, cfg.torch_dtype
    g = torch.Generator(device=dev).manual_seed(cfg.seed + 777)
    x = torch.randn(batch, L, cfg.d_model, generator=g, device=dev, dtype=torch.float64)
    dy = torch.randn(batch, L, cfg.d_model, generator=g, device=dev, dtype=torch.float64)
    layer = build_hyena(cfg, L, variant)
    ref = build_hyena(replace(cfg, dtype="fp32"), L, "torch").double()  # same seed, same weights
    errors = {}
    outputs = []
    for module, inp in ((layer, x.to(dt)), (ref, x)):
        inp = inp.detach().requires_grad_(True)
        with torch.enable_grad():  # also when called under no_grad (accuracy_checks)
            y = module(inp)
            params = [p for p in module.parameters() if p.requires_grad]
            grads = torch.autograd.grad(y, [inp, *params], dy.to(y.dtype))
        outputs.append((y.detach(), grads[0], torch.cat([gp.flatten() for gp in grads[1:]])))
    (y, gu, gp), (y64, gu64, gp64) = outputs
    errors["out"] = rel_err(y, y64)
    with torch.no_grad():  # without autograd a variant may take another path (triton_long)
        errors["out_no_grad"] = rel_err(layer(x.to(dt)), y64)
    errors["grad_u"] = rel_err(gu, gu64)
    errors["grad_params"] = rel_err(gp, gp64)
    del layer, ref, outputs
    release(dev)
    return errors
