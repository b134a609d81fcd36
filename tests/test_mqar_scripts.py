"""Chapter 08's GPU scripts, on the CPU: the throughput probe's steps and the record it writes
(``scripts/mqar_throughput.py``; the shell scripts' syntax: tests/test_gpu_scripts.py). No
assert reads a time."""

import importlib.util
import json
from pathlib import Path

from hyena_lab.measure import load_record

ROOT = Path(__file__).resolve().parents[1]


def _probe():
    spec = importlib.util.spec_from_file_location("mqar_throughput",
                                                  ROOT / "scripts" / "mqar_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_probe_trains_the_chapters_model_on_this_device(one_thread):
    probe = _probe()
    model, opt, x, y = probe.setup("hyena", 16, 16, 2)
    before = [p.detach().clone() for p in model.parameters()]
    probe.steps(model, opt, x, y, 1)
    assert any(not a.equal(b) for a, b in zip(before, model.parameters(), strict=True))
    assert x.shape == (4096, 16) and model.config.vocab_size == 8192 and model.config.mlp_ratio == 0


def test_the_probe_record_keeps_every_measurement(tmp_path):
    single = [{"mixer": "hyena", "width": 64, "L": 64, "tf32": False, "backend": "auto",
               "ms_per_step": 11.5}]  # fmt: skip
    concurrent = [{"sharing": "time_sliced", "n": 1, "late": 0, "total_steps_per_s": 96.8},
                  {"sharing": "time_sliced", "n": 16, "late": 0, "total_steps_per_s": 128.6},
                  {"sharing": "mps", "n": 16, "late": 0, "total_steps_per_s": 245.7}]
    (tmp_path / "single.jsonl").write_text("".join(json.dumps(r) + "\n" for r in single))
    (tmp_path / "concurrent.jsonl").write_text("".join(json.dumps(r) + "\n" for r in concurrent))
    path = _probe().record(tmp_path)
    record = load_record(path, schema="mqar-throughput")
    assert record["single"] == single
    assert record["concurrent"]["time_sliced"] == {"1": 96.8, "16": 128.6}
    assert record["concurrent"]["mps"] == {"16": 245.7}
    assert record["run"]["date"] and record["setup"]["batch_size"] == 512
