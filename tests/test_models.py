"""Mixers and tiny models: shapes for every mixer, causality, the mixing matrices, bad inputs."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from hyena_lab.checks import F64_FFT_CHAIN, F64_SAME_ALGEBRA
from hyena_lab.mixers import (
    ATTENTION_BACKENDS,
    MIXERS,
    CausalSelfAttention,
    LongConvMixer,
    build_mixer,
    causal_attention,
    causal_softmax,
    decompose,
    naive_causal_attention,
)
from hyena_lab.models import ModelConfig, TinyLM

from .helpers import rel_err

ALL_MIXERS = sorted(MIXERS)


def _model(mixer: str, l_max: int = 24, vocab: int = 12, seed: int = 0, **kw) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM(ModelConfig(vocab, l_max, mixer, d_model=16, **kw))


@pytest.mark.parametrize("mixer", ALL_MIXERS)
@settings(max_examples=5)
@given(batch=st.integers(1, 3), L=st.sampled_from([1, 2, 7, 23, 24]))
def test_forward_shapes_for_every_mixer(mixer, batch, L):
    model = _model(mixer)
    tokens = torch.randint(12, (batch, L), generator=torch.Generator().manual_seed(L))
    logits = model(tokens)
    assert logits.shape == (batch, L, 12)
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()
    u = model.mixer_inputs(tokens)
    assert len(u) == 2 and all(x.shape == (batch, L, 16) for x in u)


@pytest.mark.parametrize("mixer", ALL_MIXERS)
def test_every_mixer_is_causal_in_a_model(mixer):
    """Changing tokens after position t leaves the logits up to t unchanged."""
    model = _model(mixer).double()
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(12, (2, 24), generator=g)
    t = 10
    changed = tokens.clone()
    changed[:, t + 1 :] = torch.randint(12, (2, 24 - t - 1), generator=g)
    a, b = model(tokens), model(changed)
    assert rel_err(b[:, : t + 1], a[:, : t + 1]) < F64_FFT_CHAIN  # FFT round-off reaches the past
    assert rel_err(b[:, t + 1 :], a[:, t + 1 :]) > 1e-3  # the future does change


def test_attention_matrix_reproduces_the_forward_pass():
    """y = W_o (softmax(Q K^T / sqrt(d)) V): rows are distributions over the past."""
    torch.manual_seed(0)
    attn = CausalSelfAttention(8, 16, num_heads=2).double()
    u = torch.randn(1, 11, 8, dtype=torch.float64)
    A = attn.attention_matrix(u)  # (heads, L, L)
    assert A.shape == (2, 11, 11)
    assert torch.allclose(A.sum(-1), torch.ones(2, 11, dtype=torch.float64))
    assert (A.triu(1) == 0).all(), "attention must not look at the future"
    v = attn.qkv(u)[0, :, 16:].reshape(11, 2, 4).transpose(0, 1)  # (heads, L, d_head)
    y = attn.out_proj((A @ v).transpose(0, 1).reshape(11, 8))
    assert rel_err(y, attn(u)[0]) < F64_SAME_ALGEBRA


def test_attention_matrix_by_the_definition():
    torch.manual_seed(1)
    attn = CausalSelfAttention(4, 8).double()
    u = torch.randn(1, 5, 4, dtype=torch.float64)
    q, k, _ = attn.qkv(u)[0].split(4, dim=-1)
    for t in range(5):  # row t: softmax of the scores of positions 0..t
        w = torch.softmax(q[t] @ k[: t + 1].T / math.sqrt(4), dim=0)
        assert rel_err(attn.attention_matrix(u)[0, t, : t + 1], w) < F64_SAME_ALGEBRA


def test_causal_softmax_by_the_definition():
    """Row t: softmax over s <= t, exact zeros for s > t; float32 at least inside."""
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(3, 6, 6, generator=g, dtype=torch.float64)
    P = causal_softmax(scores)
    assert (P.triu(1) == 0).all() and P.dtype == torch.float64
    for t in range(6):
        assert rel_err(P[:, t, : t + 1], torch.softmax(scores[:, t, : t + 1], -1)) < (
            F64_SAME_ALGEBRA)  # the same sums, another order
    half = scores.to(torch.bfloat16)  # the softmax runs in float32, its result is rounded once
    assert torch.equal(causal_softmax(half), causal_softmax(half.float()).to(torch.bfloat16))


# backends that run on any CPU (cuDNN / flash / efficient need CUDA; run_case records them)
CPU_BACKENDS = ("naive", "sdpa", "math")


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_causal_attention_backends_agree_with_the_reference(backend):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 17, 4, generator=g, dtype=torch.float64) for _ in range(3))
    out = causal_attention(q, k, v, backend)
    # float64: the same algebra in another order (fused or not), F64_SAME_ALGEBRA's margin
    assert rel_err(out, naive_causal_attention(q, k, v)) < F64_SAME_ALGEBRA
    k2, v2 = k.clone(), v.clone()
    k2[..., 9:, :] += 5
    v2[..., 9:, :] -= 5
    out2 = causal_attention(q, k2, v2, backend)
    assert rel_err(out2[..., :9, :], out[..., :9, :]) < F64_SAME_ALGEBRA  # causal
    assert rel_err(out2[..., 9:, :], out[..., 9:, :]) > 1e-3  # the future does change


def test_attention_backend_changes_no_parameter_and_no_output():
    """A checkpoint trained with one backend loads into another and gives the same model."""
    torch.manual_seed(0)
    ref = CausalSelfAttention(8, 16, num_heads=2).double()
    u = torch.randn(2, 13, 8, dtype=torch.float64)
    for backend in CPU_BACKENDS:
        other = CausalSelfAttention(8, 16, num_heads=2, backend=backend).double()
        other.load_state_dict(ref.state_dict())  # strict: the same names and shapes
        assert rel_err(other(u), ref(u)) < F64_SAME_ALGEBRA, backend
    a = _model("attention", mixer_args={"backend": "naive"}).double()
    b = _model("attention").double()
    tokens = torch.randint(12, (2, 24), generator=torch.Generator().manual_seed(3))
    assert rel_err(a(tokens), b(tokens)) < F64_SAME_ALGEBRA  # same seed: same weights
    assert set(ATTENTION_BACKENDS) == {"naive", "sdpa", "cudnn", "flash", "efficient", "math"}
    with pytest.raises(ValueError, match=r"attention backend must be one of \['naive', 'sdpa'"):
        CausalSelfAttention(8, 16, backend="fast")


def test_long_conv_matrix_is_data_independent_and_reproduces_the_forward_pass():
    torch.manual_seed(0)
    conv = LongConvMixer(6, 20).double()
    u1, u2 = torch.randn(2, 1, 13, 6, dtype=torch.float64)
    S = conv.materialize(u1)  # (d, L, L)
    assert torch.equal(S, conv.materialize(u2)), "S_h must not depend on the input"
    assert (S.triu(1) == 0).all()
    v = conv.in_proj(u1)[0].T  # (d, L)
    y = conv.out_proj((S @ v[..., None])[..., 0].T)
    assert rel_err(y, conv(u1)[0]) < F64_SAME_ALGEBRA


def test_short_kernel_conv_has_zero_taps_past_the_kernel():
    conv = LongConvMixer(4, 32, kernel_size=5)
    h = conv.filters(32)
    assert h.shape == (4, 32) and (h[:, 5:] == 0).all() and (h[:, :5] != 0).all()
    assert conv.filters(3).shape == (4, 3)


@pytest.mark.parametrize("mixer", ALL_MIXERS)
def test_every_mixer_decomposes_as_a_matrix_times_values(mixer):
    """y = W_out (A v) per channel: A(u) of Sec. 3.2 for Hyena / H3, softmax for attention."""
    model = _model(mixer).double()
    tokens = torch.randint(12, (1, 17), generator=torch.Generator().manual_seed(3))
    A, v = model.decompose(tokens, layer=1)  # (d_model, L, L), (d_model, L)
    assert A.shape == (16, 17, 17) and v.shape == (16, 17)
    assert (A.triu(1) == 0).all(), "a causal mixer has a lower-triangular matrix"
    op = model.blocks[1].mixer
    u = model.mixer_inputs(tokens)[1]
    y = op.out_proj((A @ v[..., None])[..., 0].T)
    assert rel_err(y, op(u)[0]) < F64_FFT_CHAIN
    with pytest.raises(TypeError, match="cannot decompose a Linear"):
        decompose(nn.Linear(2, 2), u)


def test_contributions_follow_a_delay_filter():
    """With S_h a pure delay by 2, output t is made of input t - 2 only."""
    model = _model("conv").double()
    for block in model.blocks:
        with torch.no_grad():
            block.mixer.filter.h.zero_()
            block.mixer.filter.h[:, 2] = 1.0
            block.mixer.bias.zero_()
    C = model.contributions(torch.randint(12, (1, 9)), layer=0)  # (L, L)
    expected = torch.zeros(9, 9, dtype=torch.bool)
    expected[torch.arange(2, 9), torch.arange(0, 7)] = True
    assert (C[expected] > 0).all() and (C[~expected] == 0).all()
    with pytest.raises(ValueError, match="one sequence"):
        model.contributions(torch.randint(12, (2, 9)), layer=0)
    with pytest.raises(ValueError, match=r"layer must be an int in \[0, 2\)"):
        model.contributions(torch.randint(12, (1, 9)), layer=2)


def test_h3_uses_state_space_filters_and_hyena_implicit_ones():
    from hyena_lab.filters import ImplicitFilter, SSMFilter

    assert isinstance(build_mixer("h3", 8, 16).filter, SSMFilter)
    hyena = build_mixer("hyena", 8, 16)
    assert isinstance(hyena.filter, ImplicitFilter) and hyena.order == 2
    # the official layout (the paper's experiments): one long convolution between two gates
    assert hyena.identity_first and hyena.n_filters == 1


def test_h3_same_is_the_hyena_layout_with_state_space_filters():
    from hyena_lab.filters import SSMFilter

    h3, same, hyena = (build_mixer(m, 8, 16) for m in ("h3", "h3_same", "hyena"))
    assert isinstance(same.filter, SSMFilter) and same.order == 2
    assert same.identity_first and same.n_filters == 1  # one long convolution, as in hyena
    assert not h3.identity_first and h3.n_filters == 2  # the paper's H3: two of them
    # only the filter family differs: the other weights have the same names and shapes ...
    rest = {k: v for k, v in hyena.state_dict().items() if not k.startswith("filter.")}
    assert rest.keys() == {k for k in same.state_dict() if not k.startswith("filter.")}
    same.load_state_dict(rest, strict=False)  # raises on a shape mismatch
    # ... and with hyena's filters too, h3_same computes exactly what hyena computes
    same.filters = hyena.filters
    u = torch.randn(2, 16, 8)
    torch.testing.assert_close(same(u), hyena(u), rtol=0, atol=0)  # the very same operations


def test_only_attention_gets_position_embeddings():
    for mixer in ALL_MIXERS:
        assert (_model(mixer).positions is not None) == (mixer == "attention")


def test_model_config_round_trips_through_a_dict():
    config = ModelConfig(10, 32, "attention", d_model=8, mixer_args={"num_heads": 2})
    again = ModelConfig(**config.to_dict())
    assert again == config
    assert TinyLM(again).blocks[0].mixer.num_heads == 2


def test_model_bad_inputs():
    model = _model("conv")
    with pytest.raises(TypeError, match="tokens must be int64"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 12\)"):
        model(torch.tensor([[0, 12]]))
    with pytest.raises(ValueError, match="exceeds the model's l_max=24"):
        model(torch.zeros(1, 25, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tokens must have shape \(batch, seq_len\)"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match=r"tokens must be a torch\.Tensor"):
        model([[0, 1]])


def test_config_and_mixer_errors():
    with pytest.raises(ValueError, match="mixer must be one of"):
        ModelConfig(10, 16, "rnn")
    with pytest.raises(ValueError, match="mixer must be one of"):
        build_mixer("rnn", 8, 16)
    with pytest.raises(ValueError, match="d_model must be >= 1"):
        ModelConfig(10, 16, d_model=0)
    with pytest.raises(ValueError, match="divisible by num_heads=3"):
        CausalSelfAttention(8, 16, num_heads=3)
    with pytest.raises(ValueError, match="kernel_size must be <= l_max=16"):
        LongConvMixer(8, 16, kernel_size=17)
    attn, conv = CausalSelfAttention(8, 16), LongConvMixer(8, 16)
    with pytest.raises(ValueError, match=r"u must have d_model=8 features"):
        attn(torch.zeros(1, 4, 6))
    with pytest.raises(ValueError, match="exceeds l_max=16"):
        conv(torch.zeros(1, 17, 8))
    with pytest.raises(ValueError, match="single sequence"):
        attn.attention_matrix(torch.zeros(2, 4, 8))
    with pytest.raises(ValueError, match="single sequence"):
        conv.materialize(torch.zeros(2, 4, 8))


def test_blocks_without_an_mlp():
    """mlp_ratio=0 leaves the MLP (and its norm) out, as Zoology's MQAR blocks do: fewer
    parameters, each block only x + mixer(LN(x)); negative ratios are refused."""
    with_mlp = TinyLM(ModelConfig(vocab_size=10, l_max=16, d_model=8))
    without = TinyLM(ModelConfig(vocab_size=10, l_max=16, d_model=8, mlp_ratio=0))
    mlp_params = sum(p.numel() for b in with_mlp.blocks for p in [*b.mlp.parameters(),
                                                                    *b.norm2.parameters()])
    assert with_mlp.num_params - without.num_params == mlp_params > 0
    block = without.blocks[0]
    x = torch.randn(2, 16, 8)
    assert torch.equal(block(x), x + block.mixer(block.norm1(x)))
    assert without(torch.randint(10, (2, 16))).shape == (2, 16, 10)
    with pytest.raises(ValueError, match="mlp_ratio"):
        ModelConfig(vocab_size=10, l_max=16, mlp_ratio=-1)
