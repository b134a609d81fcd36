"""Generation (hyena_lab.generate): recompute == cache step by step and token for token, modal ==
recompute of the distilled model, clear errors; and the chapter's two measurements
(hyena_lab.experiments.generation) on tiny settings (their records, never their speed)."""

import pytest
import torch

from hyena_lab.checks import F64_FFT_CHAIN, rel_err
from hyena_lab.distill import ModalFilter
from hyena_lab.experiments.generation import (
    GenerationSpeedConfig,
    distillation_sweep,
    time_per_token,
)
from hyena_lab.filters import seeded
from hyena_lab.generate import Decoder, distilled_copy, generate, hyena_operators
from hyena_lab.models import ModelConfig, TinyLM

pytestmark = pytest.mark.usefixtures("one_thread")

#: float64 logits of the same model computed two ways: FFT convolutions over the prefix
#: (recompute) against one dot product per position (cache), or the modal recurrence, through
#: 2 blocks: the package's tolerance for a chain of FFT convolutions and gates against a direct
#: evaluation (see hyena_lab.checks.F64_FFT_CHAIN); a wrong tap or gate changes O(1e-2).
LOGITS = F64_FFT_CHAIN

VOCAB, L_MAX = 11, 40
MODELS = {
    "hyena": {"mixer": "hyena"},
    "hyena_order3": {"mixer": "hyena", "mixer_args": {"order": 3}},
    "hyena_paper_layout": {"mixer": "hyena", "mixer_args": {"identity_first": False}},
    "h3": {"mixer": "h3"},
    "attention": {"mixer": "attention", "mixer_args": {"num_heads": 2}},
}


def tiny(name: str, seed: int = 0) -> TinyLM:
    with seeded(seed):
        config = ModelConfig(vocab_size=VOCAB, l_max=L_MAX, d_model=16, n_layers=2, **MODELS[name])
        return TinyLM(config).double()


def prompt(P: int = 5, seed: int = 1) -> torch.Tensor:
    return torch.randint(VOCAB, (1, P), generator=torch.Generator().manual_seed(seed))


def logits_two_ways(a: Decoder, b: Decoder, steps: int = 25) -> float:
    """The largest relative difference of the two decoders' logits over a prompt and ``steps``
    seeded tokens fed to both."""
    p = prompt()
    errors = [rel_err(b.prefill(p), a.prefill(p))]
    g = torch.Generator().manual_seed(2)
    for _ in range(steps):
        token = torch.randint(VOCAB, (1,), generator=g)
        errors.append(rel_err(b.step(token), a.step(token)))
    return max(errors)


@pytest.mark.parametrize("name", list(MODELS))
def test_cache_gives_the_logits_of_recompute(name):
    model = tiny(name)
    assert logits_two_ways(Decoder(model, "recompute"), Decoder(model, "cache", 31)) < LOGITS


@pytest.mark.parametrize("name", ["hyena", "hyena_order3", "hyena_paper_layout", "h3"])
def test_modal_gives_the_logits_of_the_distilled_model(name):
    distilled = distilled_copy(tiny(name), 4)
    err = logits_two_ways(Decoder(distilled, "recompute"), Decoder(distilled, "modal", 31))
    assert err < LOGITS


def test_the_comparison_can_fail():
    """A distilled model with few states is *not* the original: the same check sees it."""
    model = tiny("hyena")
    assert logits_two_ways(Decoder(model, "recompute"),
                           Decoder(model, "modal", 31, modal_order=1)) > 1e-6  # fmt: skip


@pytest.mark.parametrize("name", ["hyena", "attention"])
@pytest.mark.parametrize(("temperature", "top_k"), [(0.0, None), (1.0, None), (0.8, 3)])
def test_recompute_and_cache_generate_the_same_tokens(name, temperature, top_k):
    model = tiny(name)
    kw = {"temperature": temperature, "top_k": top_k, "seed": 7}
    a = generate(model, prompt()[0], 30, mode="recompute", **kw)
    b = generate(model, prompt(), 30, mode="cache", **kw)
    assert a.shape == (1, 35) and a.dtype == torch.int64
    assert torch.equal(a[:, :5], prompt())
    assert torch.equal(a, b)
    if temperature:  # another seed, other draws (the seed is used)
        assert not torch.equal(a, generate(model, prompt(), 30, mode="cache", **{**kw, "seed": 8}))


def test_modal_generates_the_tokens_of_the_distilled_model():
    model = tiny("hyena")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    c = generate(model, prompt(), 30, mode="modal", modal_order=6, temperature=1.0)
    distilled = distilled_copy(model, 6)
    assert torch.equal(c, generate(distilled, prompt(), 30, mode="recompute", temperature=1.0))
    assert torch.equal(c, generate(distilled, prompt(), 30, mode="modal", temperature=1.0))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # untouched


def test_distilled_copy_replaces_only_the_filters():
    model = tiny("hyena_order3")
    distilled = distilled_copy(model, 8)
    for op, dop in zip(hyena_operators(model), hyena_operators(distilled), strict=True):
        assert isinstance(dop.filter, ModalFilter) and dop.filter.order == 8
        assert torch.equal(op.bias, dop.bias) and torch.equal(op.in_proj.weight, dop.in_proj.weight)
        assert dop.filter(L_MAX).dtype == torch.float64
        assert rel_err(dop.filter(L_MAX), op.filter(L_MAX)) < 0.5  # a fit, not noise
    assert not isinstance(hyena_operators(model)[0].filter, ModalFilter)
    with pytest.raises(ValueError, match="no long filters"):
        distilled_copy(tiny("attention"), 4)


def test_recompute_crops_the_context_past_l_max():
    out = generate(tiny("hyena"), prompt(30), 20, temperature=0.0)
    assert out.shape == (1, 50)
    with pytest.raises(ValueError, match="at most l_max=40 tokens"):
        generate(tiny("hyena"), prompt(30), 20, mode="cache")


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((prompt(41), 1), {}, ValueError, "more than the model's l_max=40"),
        ((torch.tensor([1, 2, VOCAB]), 3), {}, ValueError, r"token ids must lie in \[0, 11\)"),
        ((torch.tensor([1, -1]), 3), {}, ValueError, r"token ids must lie in \[0, 11\)"),
        ((prompt(), 0), {}, ValueError, "tokens must be >= 1"),
        ((prompt(), -2), {}, ValueError, "tokens must be >= 1"),
        ((prompt(), 2.5), {}, TypeError, "tokens must be an int"),
        ((prompt(), 3), {"mode": "fast"}, ValueError, "mode must be one of"),
        ((prompt(), 3), {"mode": "modal"}, ValueError, "needs modal_order"),
        ((prompt(), 3), {"mode": "cache", "modal_order": 4}, ValueError, "mode='modal' only"),
        ((prompt(), 3), {"temperature": -1.0}, ValueError, "temperature must be finite"),
        ((prompt(), 3), {"top_k": 0}, ValueError, "top_k must be >= 1"),
        ((prompt()[:, :0], 3), {}, ValueError, "at least one token"),
        ((prompt().float(), 3), {}, TypeError, "int64"),
        ((torch.zeros(2, 3, dtype=torch.long), 3), {}, ValueError, "one sequence"),
        (([1, 2], 3), {}, TypeError, "prompt_ids must be a tensor"),
    ],
)  # fmt: skip
def test_generate_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        generate(tiny("hyena"), *args, **kwargs)


def test_modal_and_cache_errors_name_the_model():
    with pytest.raises(ValueError, match="'attention' mixers has no long filters"):
        generate(tiny("attention"), prompt(), 3, mode="modal", modal_order=4)
    with seeded(0):
        conv = TinyLM(ModelConfig(vocab_size=VOCAB, l_max=L_MAX, mixer="conv", d_model=8))
    with pytest.raises(ValueError, match="not LongConvMixer"):
        generate(conv, prompt(), 3, mode="cache")
    assert generate(conv, prompt(), 3).shape == (1, 8)  # recompute works for any mixer
    with pytest.raises(TypeError, match="TinyLM"):
        generate(torch.nn.Linear(2, 2), prompt(), 3)
    with pytest.raises(RuntimeError, match="prefill"):
        Decoder(tiny("hyena"), "cache", 10).step(torch.tensor([1]))


# ----------------------------------------------------------------- the chapter's measurements


def test_time_per_token_record():
    c = GenerationSpeedConfig(contexts=(8, 16, 32), d_model=8, n_layers=1, num_heads=2,
                              modal_order=2, tokens=1, fast_tokens=2, num_threads=1, progress=False,
                              recompute_max_s=1e-9)  # fmt: skip
    r = time_per_token(c)
    assert r["contexts"] == [8, 16, 32] and r["run"]["date"]
    s = r["seconds_per_token"]
    assert set(s) == {"recompute", "cache", "modal", "gpt_kv_cache"}
    assert all(len(v) == 3 for v in s.values())
    assert all(x > 0 for w in ("cache", "modal", "gpt_kv_cache") for x in s[w])
    assert s["recompute"][0] > 0 and s["recompute"][1:] == [None, None]  # past the cap
    assert "from L=16" in r["skipped"]["recompute"]
    with pytest.raises(ValueError, match="divisible"):
        GenerationSpeedConfig(d_model=10, num_heads=4)


def test_distillation_sweep_record(tmp_path):
    with seeded(0):
        model = TinyLM(ModelConfig(vocab_size=65, l_max=16, d_model=8, n_layers=2))
    r = distillation_sweep(model, (2, 4), val_batches=2, batch_size=4, progress=False)
    assert r["orders"] == [2, 4] and r["val_windows"] == 8 and r["window"] == 16
    assert [row["order"] for row in r["distilled"]] == [2, 4]
    for row in r["distilled"]:
        assert len(row["fit_error"]) == 2 and row["val_loss"] > 0
        assert row["val_loss_increase"] == pytest.approx(row["val_loss"] - r["val_loss"])
    assert r["distilled"][1]["fit_error"][0]["all"] < r["distilled"][0]["fit_error"][0]["all"]
    assert len(r["hankel_singular_values"]) == 2
    assert r["hankel_singular_values"][0]["median"][0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="vocabulary of 11"):
        distillation_sweep(tiny("hyena"), (2,), val_batches=1, batch_size=1, progress=False)
    with pytest.raises(ValueError, match="no long filters"):
        distillation_sweep(tiny("attention"), (2,), progress=False)
