"""Docstrings that quote a measured figure agree with the committed record they cite, like the
README's table (``test_readme.py``) and the chapters' asserts: a record re-made with other
numbers makes this fail until the docstring is updated."""

from __future__ import annotations

import os
import sys

import pytest
import torch

if not torch.cuda.is_available():  # Triton reads it when it is first imported
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError("triton was imported before TRITON_INTERPRET=1 was set, and no GPU")
    os.environ.setdefault("TRITON_INTERPRET", "1")

from hyena_lab.operator import resolve_backend
from hyena_lab.viz import load_data


def _flat(doc: str | None) -> str:
    return " ".join((doc or "").split())


def _hyena_ms(record: dict) -> dict:
    return {(p["pass"], p["backend"], p["L"]): p["time_ms"] for p in record["points"]
            if p["bench"] == "hyena" and p["status"] == "ok"}  # fmt: skip


def test_resolve_backend_quotes_the_fused_layers_gain():
    t = _hyena_ms(load_data("06_fft_matmul-gpu_bench"))
    gain = [t[(ps, "torch", L)] / t[(ps, "triton", L)] for ps, b, L in t if b == "triton"]
    assert min(L for _, _, L in t) == 1024 and max(L for _, _, L in t) == 262144
    assert f"{min(gain):.1f}x-{max(gain):.1f}x faster than ``\"torch\"`` at every L from 1K to " \
           "256K" in _flat(resolve_backend.__doc__)  # fmt: skip


def test_the_on_chip_switch_quotes_its_times():
    pytest.importorskip("triton")
    from hyena_lab.kernels.layer import _on_chip

    t = _hyena_ms(load_data("06_fft_matmul-gpu_bench"))
    fwd = [t[("fwd", "triton_sram", L)] / t[("fwd", "triton", L)] for L in (1024, 2048, 4096)]
    bwd = [t[("fwd+bwd", "triton_sram", L)] / t[("fwd+bwd", "triton", L)]
           for L in (1024, 2048, 4096)]  # fmt: skip
    doc = _flat(_on_chip.__doc__)
    assert f"it took {max(fwd[:2]):.2f} of the cuFFT path's time forward at 1K and 2K" in doc
    assert f"but {fwd[2]:.2f}x at 4K" in doc
    assert f"its backward {min(bwd):.1f}x-{max(bwd):.1f}x" in doc


def test_the_long_fft_module_quotes_its_records():
    pytest.importorskip("triton")
    from hyena_lab.kernels import long_fft

    lines = {line["L"]: line for name in ("06_fft_matmul-gpu_long_fft",
                                          "06_fft_matmul-gpu_long_fft_1m")
             for line in load_data(name)["lengths"]}  # fmt: skip
    slower = {L: min(s["ms"] for s in line["long_fft"] if "ms" in s) / line["cufft_ms"]
              for L, line in lines.items() if any("ms" in s for s in line["long_fft"])}  # fmt: skip
    doc = _flat(long_fft.__doc__)
    below = [x for L, x in slower.items() if L <= 2**18]
    assert f"{min(below):.1f}x-{max(below):.1f}x from 32K to 256K and {slower[2**19]:.1f}x at " \
           "512K" in doc  # fmt: skip
    errors = [s["error"] for s in lines[2**20]["long_fft"]]
    assert 2**20 not in slower and any("Required: 262144, Hardware limit: 232448" in e
                                       for e in errors)  # fmt: skip
    assert f"need {262144 // 1024} KiB of shared memory" in doc
    assert f"against the {232448 // 1024} KiB a block may use" in doc
    assert long_fft.MAX_L == 2**19 and not long_fft.supported(2**20)
