"""Nothing lost, nothing silent: checkpoints, interruption and resume, divergence, bad options.

Each test reproduces a failure of issue 15 (a lost run, an overwritten file, a silent NaN, a
traceback for a bad option) and checks the documented behaviour instead.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab import cli
from hyena_lab import train as train_mod
from hyena_lab.checkpoint import (
    CHECKPOINT_FORMAT,
    check_checkpoint_path,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from hyena_lab.files import write_atomic
from hyena_lab.models import ModelConfig, TinyLM
from hyena_lab.recall import run_recall
from hyena_lab.train import TrainConfig, TrainingDiverged, TrainingInterrupted, _batch_indices

# A recall run small enough for a unit test: 16 steps of batch 8 over 64 sequences (2 epochs).
TINY = ["--vocab-size", "16", "--seq-len", "12", "--num-train", "64", "--batch-size", "8",
        "--d-model", "16", "--max-steps", "16", "--time-budget", "600",
        "--threads", "1"]  # fmt: skip
TINY_CONFIG = TrainConfig(lr=3e-3, batch_size=8, max_steps=16, warmup_steps=2, eval_every=5,
                          seed=3)  # fmt: skip


def _tiny_model() -> TinyLM:
    torch.manual_seed(0)
    return TinyLM(ModelConfig(vocab_size=16, l_max=12, mixer="conv", d_model=8, n_layers=1))


def _run(argv, capsys):
    """``hyena-lab ARGV`` in this process: (exit status, last JSON line or None, stderr)."""
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return rc, (json.loads(lines[-1]) if lines else None), err


def _signal_at_step(monkeypatch, step, signum=signal.SIGINT):
    """Send ``signum`` to this process during training step ``step`` (1-based)."""
    calls = {"n": 0}
    real = train_mod.train_step

    def step_then_signal(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_step", step_then_signal)


def _same_weights(a: TinyLM, b: TinyLM) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --- checkpoint files ------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"my notes\n", b"\xff\xfe\x00"])
def test_loading_a_file_that_is_not_a_checkpoint_says_so(tmp_path, content):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a hyena-lab checkpoint"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_a_truncated_checkpoint_is_refused_and_a_v1_checkpoint_still_loads(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _tiny_model())
    raw = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a hyena-lab checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")
    payload = read_checkpoint(path)
    assert payload["format"] == CHECKPOINT_FORMAT and payload["train_state"] is None
    old = {k: payload[k] for k in ("model_config", "state_dict", "history")}
    torch.save({**old, "format": "hyena-lab/tinylm-v1"}, tmp_path / "v1.pt")
    model, history = load_checkpoint(tmp_path / "v1.pt")
    assert _same_weights(model, _tiny_model()) and history is None


def test_non_finite_weights_are_never_saved(tmp_path):
    model = _tiny_model()
    path = save_checkpoint(tmp_path / "good.pt", model)
    before = path.read_bytes()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="non-finite"):
        save_checkpoint(path, model)
    assert path.read_bytes() == before


def test_checkpoint_paths_are_checked_before_any_work(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    with pytest.raises(ValueError, match="not a hyena-lab checkpoint: refusing"):
        check_checkpoint_path(notes)
    assert check_checkpoint_path(notes, overwrite=True) == notes
    with pytest.raises(ValueError, match="is a folder"):
        check_checkpoint_path(tmp_path)
    ckpt = save_checkpoint(tmp_path / "run.pt", _tiny_model())
    with pytest.raises(ValueError, match="--resume"):
        check_checkpoint_path(ckpt)
    assert check_checkpoint_path(ckpt, resuming=ckpt) == ckpt
    assert check_checkpoint_path(tmp_path / "new" / "deeper" / "run.pt")  # folders made later
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a folder"):
        check_checkpoint_path(tmp_path / "file" / "run.pt")


def test_write_atomic_removes_what_a_killed_write_left_and_refuses_folders(tmp_path):
    stale = tmp_path / ".r.json.abc123.tmp"
    stale.write_text("half")
    write_atomic(tmp_path / "r.json", "{}")
    assert not stale.exists() and (tmp_path / "r.json").read_text() == "{}"
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path, "{}")


# --- the batch order resumes exactly ----------------------------------------------------------


@given(n=st.integers(1, 40), batch=st.integers(1, 12), start=st.integers(0, 60))
def test_batches_from_a_resumed_step_continue_the_same_sequence(n, batch, start):
    full = _batch_indices(n, batch, seed=5)
    for _ in range(start):
        next(full)
    resumed = _batch_indices(n, batch, seed=5, start=start)
    for _ in range(2 * max(1, n // batch) + 1):  # across at least one epoch boundary
        assert torch.equal(next(full), next(resumed))


# --- divergence -------------------------------------------------------------------------------


def test_a_non_finite_loss_stops_training_with_a_clear_error(tmp_path):
    config = TrainConfig(lr=1e10, batch_size=8, max_steps=20, warmup_steps=2, eval_every=5)
    ckpt = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged, match="diverged; lower the learning rate") as caught:
        run_recall("conv", 16, 12, config=config, d_model=16, num_train=64, progress=False,
                   checkpoint=ckpt, checkpoint_every=1)  # fmt: skip
    history = caught.value.history
    assert history.stopped == "diverged" and 1 <= history.steps <= 20
    if ckpt.exists():  # saved before the loss turned: finite weights only
        model, _ = load_checkpoint(ckpt)
        assert all(torch.isfinite(p).all() for p in model.parameters())


def test_the_recall_command_exits_1_with_stopped_diverged(capsys):
    rc, out, err = _run(["recall", *TINY, "--lr", "1e10"], capsys)
    assert rc == 1 and out["stopped"] == "diverged" and out["test_accuracy"] is None
    assert "diverged" in err


# --- interruption and resume ------------------------------------------------------------------


def test_ctrl_c_saves_the_run_and_resuming_reaches_the_same_weights(tmp_path, monkeypatch):
    reference, ref_history = run_recall("conv", 16, 12, config=TINY_CONFIG, d_model=16,
                                        num_train=64, progress=False, seed=3)  # fmt: skip
    ckpt = tmp_path / "run.pt"
    _signal_at_step(monkeypatch, 7)
    with pytest.raises(TrainingInterrupted, match="SIGINT at step 7") as caught:
        run_recall("conv", 16, 12, config=TINY_CONFIG, d_model=16, num_train=64, seed=3,
                   progress=False, checkpoint=ckpt, checkpoint_every=100)  # fmt: skip
    assert caught.value.checkpoint == ckpt and caught.value.history.stopped == "interrupted"
    saved = read_checkpoint(ckpt)
    assert saved["train_state"]["step"] == 7 and saved["history"]["step"] == [5]
    monkeypatch.undo()
    from hyena_lab.recall import resume_recall

    resumed, history = resume_recall(ckpt, progress=False)
    assert _same_weights(resumed, reference)  # bit for bit
    assert history.step == ref_history.step and history.train_loss == ref_history.train_loss
    assert history.test_accuracy == ref_history.test_accuracy and history.stopped == "max_steps"
    with pytest.raises(ValueError, match="has finished"):
        resume_recall(ckpt, progress=False)


def test_sigterm_is_saved_like_ctrl_c_and_a_second_ctrl_c_stops_at_once(tmp_path, monkeypatch):
    _signal_at_step(monkeypatch, 3, signal.SIGTERM)
    with pytest.raises(TrainingInterrupted) as caught:
        run_recall("conv", 16, 12, config=TINY_CONFIG, d_model=16, num_train=64,
                   progress=False, checkpoint=tmp_path / "t.pt")  # fmt: skip
    assert caught.value.signal_name == "SIGTERM" and (tmp_path / "t.pt").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are put back
    monkeypatch.undo()

    calls = {"n": 0}
    real = train_mod.train_step

    def twice(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_step", twice)
    with pytest.raises(KeyboardInterrupt) as caught:
        run_recall("conv", 16, 12, config=TINY_CONFIG, d_model=16, num_train=64, progress=False)
    assert not isinstance(caught.value, TrainingInterrupted)


def test_the_recall_command_saves_on_ctrl_c_and_resumes(tmp_path, monkeypatch, capsys):
    ckpt, whole = tmp_path / "run.pt", tmp_path / "whole.pt"
    rc, out, _ = _run(["recall", *TINY, "--checkpoint", str(whole)], capsys)
    assert rc == 0 and out["steps"] == 16 and out["checkpoint"] == str(whole)
    _signal_at_step(monkeypatch, 9)
    rc, out, err = _run(["recall", *TINY, "--checkpoint", str(ckpt)], capsys)
    assert rc == 130 and out["stopped"] == "interrupted" and out["steps"] == 9
    assert out["resume"] == f"hyena-lab recall --resume {ckpt}" and "SIGINT" in err
    monkeypatch.undo()
    rc, out, _ = _run(["recall", "--resume", str(ckpt), "--lr", "0.1"], capsys)
    assert rc == 2 and out is None  # a resumed run keeps its recipe
    rc, out, _ = _run(["recall", "--resume", str(ckpt)], capsys)
    assert rc == 0 and out["steps"] == 16 and out["stopped"] == "max_steps"
    assert out["device"] == "cpu" == read_checkpoint(ckpt)["run"]["device"]  # the run's own
    assert _same_weights(load_checkpoint(ckpt)[0], load_checkpoint(whole)[0])
    rc, _, err = _run(["recall", "--resume", str(ckpt)], capsys)
    assert rc == 2 and "has finished" in err


def test_ctrl_c_in_a_real_process_ends_with_a_saved_run_and_exit_130(tmp_path):
    ckpt = tmp_path / "run.pt"
    args = [a if a != "16" or i != TINY.index("--max-steps") + 1 else "100000"
            for i, a in enumerate(TINY)]  # a run far too long to finish: only Ctrl-C ends it
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyena_lab.cli", "recall", *args, "--checkpoint", str(ckpt),
         "--checkpoint-every", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["stopped"] == "interrupted" and last["checkpoint"] == str(ckpt)
    assert read_checkpoint(ckpt)["train_state"]["step"] == last["steps"] >= 5
    assert "Traceback" not in err


# --- bad options are usage errors, checked before any work ------------------------------------


@pytest.mark.parametrize(
    "argv, option",
    [
        (["recall", "--threads", "0"], "--threads"),
        (["recall", "--seq-len", "2"], "--seq-len"),
        (["recall", "--seed", "1e20"], "--seed"),
        (["recall", "--lr", "nan"], "--lr"),
        (["recall", "--time-budget", "0"], "--time-budget"),
        (["recall", "--target-accuracy", "1.5"], "--target-accuracy"),
        (["recall", "--device", "tpu"], "--device"),
        (["recall-grid", "--mixers", "conv", "--vocab-sizes", "3"], "--vocab-sizes"),
        (["recall-grid", "--mixers", "conv", "--jobs", "0"], "--jobs"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_option(argv, option, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2 and option in capsys.readouterr().err


def test_output_paths_are_refused_before_training(tmp_path, capsys, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although the output path was bad")

    monkeypatch.setattr(train_mod, "train_step", no_training)
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    for target, why in [(tmp_path, "is a folder"), (notes, "not a hyena-lab checkpoint")]:
        rc, out, err = _run(["recall", *TINY, "--checkpoint", str(target)], capsys)
        assert rc == 2 and out is None and why in err and "--checkpoint" in err
    assert notes.read_text() == "keep me"
    grid = ["recall-grid", "--mixers", "conv", "--vocab-sizes", "16", "--seq-lens", "12"]
    rc, _, err = _run([*grid, "--merge-into", str(tmp_path / "none.json")], capsys)
    assert rc == 2 and "no record" in err
    rc, _, err = _run([*grid, "--merge-into", str(notes)], capsys)
    assert rc == 2 and "not a readable JSON record" in err
    rc, _, err = _run([*grid, "--out", str(notes)], capsys)
    assert rc == 2 and "exists" in err
    rc, _, err = _run(["recall", "--resume", str(notes)], capsys)
    assert rc == 2 and "--resume" in err and "not a hyena-lab checkpoint" in err


def test_short_runs_warm_up_within_their_budget(capsys):
    rc, out, _ = _run(["recall", *TINY, "--max-steps", "10"], capsys)
    assert rc == 0 and out["steps"] == 10  # warm-up min(50, 10 // 10) = 1 step
    with pytest.raises(ValueError, match="never reach its peak"):
        TrainConfig(max_steps=20, warmup_steps=50)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_asking_for_cuda_without_one_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["recall", "--device", "cuda"])
    assert caught.value.code == 2 and "no CUDA device" in capsys.readouterr().err
    ckpt = tmp_path / "run.pt"  # a run saved on a GPU machine, resumed on this one
    _, _, _ = _run(["recall", *TINY, "--max-steps", "4", "--checkpoint", str(ckpt)], capsys)
    payload = read_checkpoint(ckpt)
    payload["run"]["device"] = "cuda"
    payload["history"]["stopped"], payload["train_state"]["step"] = "interrupted", 2
    torch.save(payload, ckpt)
    rc, _, err = _run(["recall", "--resume", str(ckpt)], capsys)
    assert rc == 2 and "--device cpu" in err


def test_write_atomic_gives_the_permissions_of_an_ordinary_open(tmp_path):
    """Not mkstemp's private 0600: a record or a page others may read, as open() would make it."""
    import os

    from hyena_lab.files import _UMASK, write_atomic

    path = write_atomic(tmp_path / "r.json", "{}")
    assert path.stat().st_mode & 0o777 == 0o666 & ~_UMASK
    (tmp_path / "plain").write_text("x")
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
    assert os.umask(_UMASK) == _UMASK  # (reading it sets it: put it back unchanged)
