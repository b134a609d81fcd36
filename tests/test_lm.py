"""Chapter 07's language models: the two configs, text batches, the time schedule, the extended
training loop (BatchSource, exact resume), ``hyena-lab lm train`` / ``lm sample`` and their
bad input."""

import importlib.util
import itertools
import json
import math
import os
import signal

import pytest
import torch

import hyena_lab.train as train_mod
from hyena_lab.checkpoint import is_checkpoint, read_checkpoint, save_checkpoint
from hyena_lab.cli import main
from hyena_lab.lm import TextBatches, lm_model_config, shakespeare
from hyena_lab.models import ModelConfig, TinyLM
from hyena_lab.text import CharCorpus
from hyena_lab.train import (
    BatchSource,
    TrainConfig,
    TrainingInterrupted,
    learning_rate,
    time_cosine_lr,
    train,
)

HAVE_GENERATE = importlib.util.find_spec("hyena_lab.generate") is not None
#: A tiny LM run of the command (seconds on a busy CPU): the same code path as the real one.
TINY = ["--d-model", "16", "--n-layers", "1", "--block-size", "16", "--batch-size", "4",
        "--max-steps", "3", "--eval-every", "2", "--no-progress"]  # fmt: skip


def _cli(capsys, *argv):
    """Exit status and last JSON line of ``hyena-lab argv`` (argparse errors: status 2)."""
    try:
        rc = main(list(argv))
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return rc, (json.loads(lines[-1]) if lines else None), err


# ----------------------------------------------------------------------------- the two models


def test_gpt_and_hyena_parameters_match_within_5_percent():
    gpt = TinyLM(lm_model_config("attention", 65))
    hyena = TinyLM(lm_model_config("hyena", 65))
    assert (gpt.num_params, hyena.num_params) == (818_241, 843_713)  # the counts the docs quote
    assert abs(hyena.num_params / gpt.num_params - 1) < 0.05


def test_the_two_models_share_the_shape_and_differ_in_the_mixer():
    gpt, hyena = (lm_model_config(m, 65) for m in ("attention", "hyena"))
    for c in (gpt, hyena):
        assert (c.n_layers, c.d_model, c.l_max, c.mlp_ratio) == (4, 128, 64, 4)
    assert gpt.mixer_args == {"num_heads": 4} and TinyLM(gpt).positions is not None
    assert hyena.mixer_args["order"] == 2 and TinyLM(hyena).positions is None
    with pytest.raises(ValueError, match="mixer must be one of"):
        lm_model_config("h3", 65)
    with pytest.raises(ValueError, match="l_max"):
        lm_model_config("hyena", 65, block_size=64, l_max=32)


# ----------------------------------------------------------------------------- text batches


def test_text_batches_are_a_seeded_batch_source():
    data = TextBatches(shakespeare(), block_size=16)
    assert isinstance(data, BatchSource)
    x, y = data.train_batch(5, 8, seed=1)
    assert x.shape == y.shape == (8, 16) and x.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])  # y is x one character later
    assert all(
        torch.equal(a, b) for a, b in zip((x, y), data.train_batch(5, 8, seed=1), strict=True)
    )
    assert not torch.equal(x, data.train_batch(6, 8, seed=1)[0])  # another step
    assert not torch.equal(x, data.train_batch(5, 8, seed=2)[0])  # another seed


def test_the_test_set_is_the_whole_validation_split():
    corpus = shakespeare()
    data = TextBatches(corpus, block_size=64)
    inputs, targets = data.test
    n = (len(corpus.val) - 1) // 64
    assert inputs.shape == (n, 64) == (1742, 64)
    assert torch.equal(inputs.flatten(), corpus.val[: n * 64])
    assert torch.equal(targets.flatten(), corpus.val[1 : n * 64 + 1])
    assert data.valid[0].shape == (256, 64)  # the curve's fixed windows
    assert torch.equal(data.valid[0], TextBatches(corpus, 64).valid[0])  # same for every run


# ----------------------------------------------------------------------------- the schedule


def test_time_cosine_lr_warms_up_in_steps_and_anneals_over_the_budget():
    c = TrainConfig(lr=1e-3, warmup_steps=10, max_steps=10**9, time_budget=60.0,
                    schedule="time", min_lr_ratio=0.1)  # fmt: skip
    assert time_cosine_lr(0, 0.0, c) == pytest.approx(1e-4)  # warm-up: (step + 1) / 10
    assert time_cosine_lr(4, 0.0, c) == pytest.approx(5e-4)
    assert time_cosine_lr(9, 0.0, c) == pytest.approx(1e-3)  # peak
    assert time_cosine_lr(100, 30.0, c) == pytest.approx(0.55e-3)  # half-way: (1 + 0.1) / 2
    assert time_cosine_lr(100, 60.0, c) == pytest.approx(1e-4)  # the budget's end: min ratio
    assert time_cosine_lr(100, 90.0, c) == pytest.approx(1e-4)  # and after it
    lrs = [learning_rate(100, t, c) for t in range(0, 61, 5)]
    assert all(a > b for a, b in itertools.pairwise(lrs))  # falls with the seconds, not the steps
    assert learning_rate(100, 30.0, c) == learning_rate(5000, 30.0, c)


def test_a_time_schedule_needs_a_budget_and_a_valid_min_ratio():
    with pytest.raises(ValueError, match="time_budget"):
        TrainConfig(schedule="time")
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(schedule="epochs")
    with pytest.raises(ValueError, match="min_lr_ratio"):
        TrainConfig(min_lr_ratio=1.5)


# ----------------------------------------------------------------------------- the loop


def _small_text():
    corpus = CharCorpus.from_text(shakespeare().vocab.decode(shakespeare().train[:20_000]))
    return TextBatches(corpus, block_size=8, valid_windows=16)


def _small_model(seed=0):
    torch.manual_seed(seed)
    return TinyLM(lm_model_config("hyena", _small_text().corpus.vocab.size, block_size=8,
                                  d_model=16, n_layers=1))  # fmt: skip


def test_train_takes_a_batch_source_and_resumes_it_exactly(tmp_path, monkeypatch):
    data = _small_text()
    config = TrainConfig(lr=3e-3, batch_size=4, max_steps=6, warmup_steps=2, eval_every=2)
    whole = _small_model()
    history = train(whole, data, config, progress=False)
    assert history.steps == 6 and math.isfinite(history.test_loss)

    calls = {"n": 0}
    real = train_mod.train_step

    def step_then_sigint(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_step", step_then_sigint)
    part = _small_model()
    with pytest.raises(TrainingInterrupted):
        train(part, data, config, progress=False, checkpoint=tmp_path / "c.pt")
    monkeypatch.setattr(train_mod, "train_step", real)
    payload = read_checkpoint(tmp_path / "c.pt")
    assert payload["train_state"]["step"] == 3
    resumed = _small_model(seed=7)  # other weights: the checkpoint's must replace them
    resumed.load_state_dict(payload["state_dict"])
    train(resumed, data, config, progress=False, resume=payload)
    for (k, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k  # bit for bit: same batches, lr, optimizer state


def test_train_refuses_other_data():
    with pytest.raises(TypeError, match="TaskSplits or a BatchSource"):
        train(_small_model(), object(), TrainConfig(max_steps=2, warmup_steps=0), progress=False)


# ----------------------------------------------------------------------------- the commands


def test_lm_train_prints_its_figures_and_saves_a_checkpoint(capsys, tmp_path):
    ckpt = tmp_path / "new" / "lm.pt"  # a missing folder is made (files.write_atomic)
    rc, out, _ = _cli(capsys, "lm", "train", "--mixer", "attention", "--time-budget", "600",
                      "--seed", "3", "--out", str(ckpt), *TINY)  # fmt: skip
    assert rc == 0
    for key in ("val_loss", "train_loss", "steps", "seconds", "params", "tokens_per_s"):
        assert out[key] is not None, key
    assert out["steps"] == 3 and out["mixer"] == "attention" and out["seed"] == 3
    assert out["device"] == "cpu" and out["stopped"] == "max_steps"
    assert 0 < out["val_loss"] < math.log(65) + 0.5  # nats per character, near uniform early
    payload = read_checkpoint(ckpt)
    assert payload["run"]["task"] == "lm" and payload["run"]["vocab"] == shakespeare().vocab.chars


def test_lm_train_is_interrupted_cleanly(capsys, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = train_mod.train_step

    def step_then_sigint(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_step", step_then_sigint)
    ckpt = tmp_path / "lm.pt"
    rc, out, _ = _cli(capsys, "lm", "train", "--time-budget", "600", "--out", str(ckpt), *TINY)
    assert rc == 130 and out["stopped"] == "interrupted" and out["steps"] == 2
    assert is_checkpoint(ckpt) and sorted(p.name for p in tmp_path.iterdir()) == ["lm.pt"]
    monkeypatch.setattr(train_mod, "train_step", real)
    rc, out, _ = _cli(capsys, "lm", "train", "--time-budget", "600", "--resume", str(ckpt),
                      "--no-progress")  # fmt: skip
    assert rc == 0 and out["steps"] == 3 and out["stopped"] == "max_steps"


@pytest.mark.parametrize("budget", ["0", "-5", "nan"])
def test_lm_train_refuses_a_budget_that_is_not_positive(capsys, budget):
    rc, _, err = _cli(capsys, "lm", "train", "--time-budget", budget, *TINY)
    assert rc == 2 and "--time-budget" in err and "expected a finite number" in err


def test_lm_train_refuses_an_out_that_is_not_a_checkpoint(capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    rc, _, err = _cli(capsys, "lm", "train", "--out", str(notes), *TINY)
    assert rc == 2 and "not a hyena-lab checkpoint" in err and notes.read_text() == "mine"
    rc, _, err = _cli(capsys, "lm", "train", "--out", str(notes / "lm.pt"), *TINY)
    assert rc == 2 and "is not a folder" in err


def _checkpoint(tmp_path, name, run, vocab_size=65):
    model = TinyLM(ModelConfig(vocab_size=vocab_size, l_max=16, d_model=8, n_layers=1))
    return save_checkpoint(tmp_path / name, model, run=run)


def test_lm_sample_refuses_bad_checkpoints_and_prompts(capsys, tmp_path):
    chars = shakespeare().vocab.chars
    good = _checkpoint(tmp_path, "lm.pt", {"task": "lm", "vocab": chars, "block_size": 16})
    recall = _checkpoint(tmp_path, "recall.pt", {"task": "recall"}, vocab_size=16)
    other = _checkpoint(tmp_path, "other.pt", {"task": "lm", "vocab": "abc"}, vocab_size=3)
    cases = [
        (["--ckpt", str(recall)], "not a language-model checkpoint"),
        (["--ckpt", str(other)], "another vocabulary"),
        (["--ckpt", str(tmp_path / "none.pt")], "no checkpoint at"),
        (["--ckpt", str(good), "--prompt", "Romeo ñ"], "'ñ' at position 6 is not in the vocab"),
        (["--ckpt", str(good), "--prompt", "ROMEO:", "--tokens", "11"], "longer than the "
         "model's l_max=16: ask for at most 10 tokens"),
        (["--ckpt", str(good), "--prompt", ""], "at least one character"),
    ]  # fmt: skip
    for argv, message in cases:
        rc, _, err = _cli(capsys, "lm", "sample", *argv)
        assert rc == 2 and message in err, (argv, err)


@pytest.mark.skipif(not HAVE_GENERATE, reason="hyena_lab.generate (another helper's) not there")
def test_lm_sample_continues_the_prompt(capsys, tmp_path):
    ckpt = tmp_path / "lm.pt"
    assert _cli(capsys, "lm", "train", "--out", str(ckpt), *TINY)[0] == 0
    rc, out, _ = _cli(capsys, "lm", "sample", "--ckpt", str(ckpt), "--prompt", "ROMEO:",
                      "--tokens", "5", "--seed", "1")  # fmt: skip
    assert rc == 0 and out["text"].startswith("ROMEO:") and len(out["text"]) == 11
    again = _cli(capsys, "lm", "sample", "--ckpt", str(ckpt), "--prompt", "ROMEO:",
                 "--tokens", "5", "--seed", "1")[1]  # fmt: skip
    assert again["text"] == out["text"]  # seeded
    cached = _cli(capsys, "lm", "sample", "--ckpt", str(ckpt), "--prompt", "ROMEO:",
                  "--tokens", "5", "--seed", "1", "--mode", "cache")[1]  # fmt: skip
    assert cached["text"] == out["text"]  # the cache computes the same logits
    modal = _cli(capsys, "lm", "sample", "--ckpt", str(ckpt), "--prompt", "ROMEO:",
                 "--tokens", "5", "--mode", "modal", "--modal-order", "4")  # fmt: skip
    assert modal[0] == 0 and len(modal[1]["text"]) == 11
