"""Training steps per second of chapter 08's MQAR models on a GPU.

``single``: one run alone, wall clock around 40 steps after 10 warm-up steps, for fp32 and TF32
matrix products and (Hyena) the fused and the eager backend. ``worker MIXER WIDTH L PAIRS SECONDS
START``: one of several runs at once, steps counted for SECONDS after a common START (Unix
time). ``record DIR``: the record ``DIR/08_mqar-gpu_throughput.json`` from what the other two
wrote into DIR (``single.jsonl``, ``concurrent.jsonl``). ``bash scripts/mqar_throughput.sh``
runs all three on the lent GPU, workers time-sliced and through CUDA MPS.
All runs: Zoology's Figure 2 data (vocab 8192, id 0 between queries), 2 blocks without MLP,
batches of 512, lr 3e-3.
"""

import json
import os
import sys
import time
from pathlib import Path

import torch

from hyena_lab.experiments.mqar import MQARConfig, mqar_splits
from hyena_lab.measure import environment, save_record
from hyena_lab.models import ModelConfig, TinyLM
from hyena_lab.train import make_optimizer, train_step

DEV = "cuda" if torch.cuda.is_available() else "cpu"
BATCH = 512


def sync() -> None:
    if DEV == "cuda":
        torch.cuda.synchronize()


def setup(mixer: str, width: int, L: int, pairs: int, backend: str | None = None):
    c = MQARConfig(mixer=mixer, width=width, seq_len=L, pairs=pairs, vocab_size=8192,
                   mlp_ratio=0, num_train=4096, num_test=8, random_non_queries=False, lr=3e-3,
                   batch_size=BATCH, max_steps=2, progress=False)  # fmt: skip
    data = mqar_splits(c)
    args = {"backend": backend} if backend is not None else {}
    if mixer == "attention":
        args = {"num_heads": 1}
    torch.manual_seed(0)
    model = TinyLM(ModelConfig(vocab_size=8192, l_max=L, mixer=mixer, d_model=width, n_layers=2,
                               mlp_ratio=0, mixer_args=args)).to(DEV)  # fmt: skip
    return model, make_optimizer(model, c.train_config()), *data.train


def steps(model, opt, x, y, n: int) -> None:
    for i in range(n):
        j = (i * BATCH) % (x.shape[0] - BATCH)
        train_step(model, opt, x[j : j + BATCH].to(DEV), y[j : j + BATCH].to(DEV))


def single() -> None:
    for mixer, w, L, p in [("hyena", 64, 64, 4), ("hyena", 256, 128, 8), ("hyena", 512, 256, 16),
                           ("attention", 64, 128, 8), ("attention", 64, 256, 16)]:  # fmt: skip
        for tf32 in (False, True):
            for backend in (None, "torch") if mixer == "hyena" else (None,):
                torch.backends.cuda.matmul.allow_tf32 = tf32
                model, opt, x, y = setup(mixer, w, L, p, backend)
                steps(model, opt, x, y, 10)
                sync()
                t = time.perf_counter()
                steps(model, opt, x, y, 40)
                sync()
                ms = (time.perf_counter() - t) / 40 * 1e3
                print(json.dumps({"mixer": mixer, "width": w, "L": L, "tf32": tf32,
                                  "backend": backend or "auto", "ms_per_step": round(ms, 2)}),
                      flush=True)  # fmt: skip


def worker(mixer: str, w: int, L: int, p: int, seconds: float, start_at: float) -> None:
    torch.backends.cuda.matmul.allow_tf32 = os.environ.get("TF32") == "1"
    model, opt, x, y = setup(mixer, w, L, p)
    steps(model, opt, x, y, 5)
    sync()
    late = time.time() > start_at
    while time.time() < start_at:
        time.sleep(0.01)
    t, n = time.perf_counter(), 0
    while time.perf_counter() - t < seconds:
        steps(model, opt, x, y, 5)
        n += 5
    sync()
    rate = n / (time.perf_counter() - t)
    print(json.dumps({"worker": True, "steps_per_s": round(rate, 2), "late": late}), flush=True)


def record(folder: Path) -> Path:
    """The record of one probe: ``single`` as printed, ``concurrent`` the total steps per second
    of N workers, ``time_sliced`` and ``mps``, keyed by N."""
    lines = (folder / "concurrent.jsonl").read_text().splitlines()
    concurrent: dict[str, dict[str, float]] = {"time_sliced": {}, "mps": {}}
    for row in map(json.loads, lines):
        concurrent[row["sharing"]][str(row["n"])] = row["total_steps_per_s"]
    single_rows = [json.loads(x) for x in (folder / "single.jsonl").read_text().splitlines()]
    data = {"run": environment(DEV),
            "setup": {"data": "MQAR, vocab 8192, id 0 between queries", "blocks": 2,
                      "mlp_ratio": 0, "batch_size": BATCH, "lr": 3e-3,
                      "dtype": "float32 (tf32: TF32 matrix products)"},
            "single": single_rows,
            "concurrent": {"model": {"mixer": "hyena", "width": 128, "seq_len": 128, "pairs": 8,
                                     "tf32": False}, "seconds": 12, **concurrent},
            "note": "bash scripts/mqar_throughput.sh"}  # fmt: skip
    return save_record(data, folder / "08_mqar-gpu_throughput.json", schema="mqar-throughput")


if __name__ == "__main__":
    if sys.argv[1] == "single":
        single()
    elif sys.argv[1] == "record":
        print(record(Path(sys.argv[2])))
    else:
        a = sys.argv[2:]
        worker(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4]), float(a[5]))
