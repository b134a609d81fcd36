"""The GPU scripts under ``scripts/`` (run on the lent GPU, not in CI): each shell script parses,
and chapter 06's profile script runs end to end on the CPU with tiny shapes (Triton's
interpreter), writing a record that ``load_record`` reads back."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

if not torch.cuda.is_available():  # Triton reads it when it is first imported
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError("triton was imported before TRITON_INTERPRET=1 was set, and no GPU")
    os.environ.setdefault("TRITON_INTERPRET", "1")

from hyena_lab.measure import load_record

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "scripts").glob("*.sh")))
def test_the_shell_scripts_parse(script):
    done = subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_the_ch06_profile_script_writes_its_record(tmp_path, one_thread):
    pytest.importorskip("triton")
    spec = importlib.util.spec_from_file_location("ch06_profile", ROOT / "scripts/ch06_profile.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.main(str(tmp_path / "p.json"), lengths=(16,), d_model=2, tokens=32, device="cpu",
                    dtype=torch.float32, repeats=1)  # fmt: skip
    record = load_record(path, schema="hyena-lab.layer-profile")
    (line,) = record["layer"]
    assert (line["L"], line["B"], record["d_model"], record["dtype"]) == (16, 2, 2, "fp32")
    assert line["half_fft"] is False  # the default; --half-fft profiles op.half_fft (CUDA only)
    assert line["fwd_ms"] > 0 and line["fwdbwd_ms"] > 0
    assert line["profile_fwd"]["kernels"] and line["profile_fwdbwd"]["kernels"]
    assert set(line["long_conv_ms"]) == {"float32"} and line["long_conv_ms"]["float32"] > 0


def test_the_ch06_long_fft_script_writes_its_record(tmp_path, one_thread, monkeypatch):
    """Both ways of one gated long convolution, timed and checked (interpreter, one row)."""
    pytest.importorskip("triton")
    spec = importlib.util.spec_from_file_location("ch06_lf", ROOT / "scripts/ch06_long_fft.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    profiled = []  # profile_call itself is tested with the bench; here: that the script calls it
    monkeypatch.setattr(mod, "profile_call", lambda call, *a, **k: profiled.append(call) or {})
    path = mod.main(str(tmp_path / "l.json"), lengths=(2**15,), d_model=1, tokens=2**15,
                    device="cpu", settings=((16, 8, 4),), repeats=1, warmup=0)  # fmt: skip
    (line,) = load_record(path, schema="hyena-lab.long-fft")["lengths"]
    assert line["L"] == 2**15 and line["B"] == 1 and line["cufft_ms"] > 0
    assert line["cufft_err"] < 1e-2  # bf16 activations and output, against float64
    assert [(s["columns"], s["rows"], s["warps"]) for s in line["long_fft"]] == [(16, 8, 4)]
    assert all(s["ms"] > 0 and s["err"] < 1e-2 for s in line["long_fft"])
    assert len(profiled) == 1 and line["profile"] == {} and line["profiled"] == [16, 8, 4]


def test_the_ch06_vs_rfft_script_writes_its_record(tmp_path, one_thread):
    """The fused step and the careful rfft convolution, timed and checked (interpreter)."""
    pytest.importorskip("triton")
    spec = importlib.util.spec_from_file_location("ch06_vr", ROOT / "scripts/ch06_vs_rfft.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.main(str(tmp_path / "v.json"), lengths=(16, 64), d_model=2, tokens=64,
                    device="cpu", repeats=1, warmup=0)  # fmt: skip
    record = load_record(path, schema="hyena-lab.conv-vs-rfft")
    assert [(line["L"], line["B"]) for line in record["lengths"]] == [(16, 4), (64, 1)]
    for line in record["lengths"]:
        assert all(line[f"{k}_ms"] > 0 for k in ("rfft", "rfft_gated", "fused"))
        # bf16 inputs and output against float64: the output's rounding, 2^-8, sets the scale
        assert all(line[f"{k}_err"] < 1e-2 for k in ("rfft", "rfft_gated", "fused"))


def test_the_ch06_half_fft_script_writes_its_record(tmp_path, one_thread):
    """Speed and accuracy lines for every item; on the CPU torch has no complex32 FFT, so the
    half-precision entries hold the error and the float32 ones are checked."""
    spec = importlib.util.spec_from_file_location("ch06_hf", ROOT / "scripts/ch06_half_fft.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.main(str(tmp_path / "h.json"), device="cpu", speed_lengths=(64,),
                    accuracy_shapes=((32, 1, 2),), d_model=2, tokens=128, repeats=1)  # fmt: skip
    record = load_record(path, schema="hyena-lab.half-fft")
    (sp,), (acc,) = record["speed"], record["accuracy"]
    assert (sp["L"], sp["rows"]) == (64, 4) and sp["fft_c64_ms"] > 0 and sp["copy_c64_ms"] > 0
    assert ("fft_c32_ms" in sp) != ("c32_error" in sp)  # timed, or the reason it was not
    assert set(acc["errors"]) == {"mean_0", "mean_1", "mean_10"}
    for e in acc["errors"].values():
        assert e["f32"] < 1e-5  # float32 FFT chain on O(1) values (F32_FFT_CHAIN's scale)
        assert 1e-4 < e["bf16_out"] < 1e-2  # bf16's rounding, 2^-9 relative per element
        assert all(isinstance(e[f"half_s{s}"], (str, float)) for s in mod.SHIFTS)


def test_the_ch06_half_scaling_script_writes_its_record(tmp_path, one_thread):
    """A line per (length, size); on the CPU the layer takes its float32 transforms (torch has
    no complex32 FFT there: none of its computes is half precision) and the fixed-scale
    half-precision pass records why it could not run."""
    spec = importlib.util.spec_from_file_location("ch06_hs", ROOT / "scripts/ch06_half_scaling.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.main(str(tmp_path / "s.json"), device="cpu", lengths=(32,), sizes=(1e-2, 1.0),
                    d_model=4, tokens=64)  # fmt: skip
    record = load_record(path, schema="hyena-lab.half-scaling")
    assert [(c["L"], c["size"], c["batch"]) for c in record["cases"]] == [(32, 1e-2, 2),
                                                                           (32, 1.0, 2)]
    for c in record["cases"]:
        for call in ("measured_first", "measured_second"):
            assert (c[call]["computes"], c[call]["half"], c[call]["warnings"]) == (1, 0, [])
            # the float32 path in bf16: p, x, v and the output each rounded (2^-9), through two
            # products and the sums of a layer this small (1.02e-2 at size 1e-2): 5e-2
            assert c[call]["error"] < 5e-2
        assert c["kept_scales"] is None and "CUDA device" in c["fixed"]
        assert c["float32"] == c["measured_first"]["error"]


def test_the_half_scaling_figure_draws_each_length_and_marks_overflows():
    """Per length: the measured scales' errors, the fixed scale's (an overflow drawn at the
    top with an ``x``), float32's; the fixed scale named as a power of two; no case, no figure."""
    from hyena_lab.viz.fused import half_scaling_figure

    def case(L, size, fixed):
        return {"L": L, "size": size, "measured_first": {"error": 0.004}, "fixed": fixed,
                "float32": 0.003}  # fmt: skip

    record = {"run": {"device": "GPU", "date": "2026-12-04"}, "fixed_scale": 2.0**-8,
              "cases": [case(8192, 1e-4, 1.0), case(8192, 1.0, 0.004),
                        case(65536, 1e-4, 0.9), case(65536, 1e2, "overflow")]}  # fmt: skip
    (ax,) = half_scaling_figure(record).axes
    labels = [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]
    assert labels == ["L = 8K, scales measured", "L = 8K, fixed pre-scale 2^-8",
                      "L = 64K, scales measured", "L = 64K, fixed pre-scale 2^-8"]  # fmt: skip
    fixed_64k = next(line for line in ax.lines if line.get_label() == labels[3])
    assert list(fixed_64k.get_ydata()) == [0.9, 2.0]  # the overflow drawn at the top
    marks = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [1e2]
    assert "activation size" in ax.get_xlabel() and "relative error" in ax.get_ylabel()
    with pytest.raises(ValueError, match="no case"):
        half_scaling_figure({**record, "cases": []})


def test_the_ch06_measure_cost_script_writes_its_record(tmp_path, one_thread):
    """A line per length with each way's milliseconds; on the CPU the layer takes float32
    transforms (no complex32 FFT), so there is no half path to time without measuring."""
    spec = importlib.util.spec_from_file_location("ch06_mc", ROOT / "scripts/ch06_measure_cost.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.main(str(tmp_path / "c.json"), device="cpu", lengths=(32,), d_model=4, tokens=64,
                    rounds=1, target_s=0.01)  # fmt: skip
    (line,) = load_record(path, schema="hyena-lab.measure-cost")["lengths"]
    assert (line["L"], line["batch"], line["half"]) == (32, 2, False)
    assert line["measured_ms"] > 0 and line["float32_ms"] > 0 and "unmeasured_ms" not in line


def test_the_ch06_monarch_tc_script_writes_its_record(tmp_path, one_thread):
    """The tensor-core FFT convolution beside the cuFFT ones, timed and checked (CPU emulation;
    the fused step needs Triton, so it is left out here)."""
    spec = importlib.util.spec_from_file_location("ch06_tc", ROOT / "scripts/ch06_monarch_tc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.main(str(tmp_path / "t.json"), lengths=(16, 100), d_model=2, tokens=64,
                    device="cpu", repeats=1, warmup=0, kernels=False)  # fmt: skip
    record = load_record(path, schema="hyena-lab.monarch-tc")
    assert isinstance(record["mm_out_float32"], bool)  # which product ran, recorded
    assert [(line["L"], line["B"], line["factors"]) for line in record["lengths"]] == [
        (16, 4, [16, 16]), (100, 1, [16, 16])]
    for line in record["lengths"]:
        assert line["tc_ms"] > 0 and line["rfft_ms"] > 0 and line["tc_tflops"] > 0
        assert line["tc_err"] < line["tc_bound"] and line["rfft_err"] < 1e-5  # bf16 z exact
    # the counted work: 16 x 16 factors, one row and one filter of length 16 (a_in = 1)
    assert mod.tc_flops(16, 1, 1) == 2 * (16 * 1 * 32 + 16 * 32**2) * 2 + 2 * (16 * 32**2 + 16 * 32)
