"""The official implementation's behaviour, pinned by its test vectors (../shared/vectors/)."""

import re
from pathlib import Path

import pytest
import torch

from hyena_lab import HyenaOperator
from hyena_lab.checks import F64_FFT_CHAIN, F64_SAME_ALGEBRA
from hyena_lab.official import from_safari, load_vectors, to_safari, vector_files

from .helpers import rel_err

VECTORS = vector_files()  # shipped copies in hyena_lab/data/
SHARED = Path(__file__).resolve().parents[2] / "shared" / "vectors"  # the project's originals


def _load(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def test_vectors_are_present():
    assert len(VECTORS) >= 2, "expected the official test vectors in hyena_lab/data/"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/vectors is not beside this checkout")
def test_shipped_vectors_are_the_shared_ones():
    shared = sorted(SHARED.glob("*.pt"))
    assert [p.name for p in shared] == [p.name for p in VECTORS]
    for a, b in zip(shared, VECTORS, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_load_vectors_by_name():
    vec = load_vectors("safari_order2_recall")
    assert {"config", "state_dict", "cases"} <= set(vec)
    with pytest.raises(ValueError, match="unknown test vectors"):
        load_vectors("nope")


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_output_and_filters_match_the_official_code(path):
    vec = _load(path)
    op = from_safari(vec["config"], vec["state_dict"])
    assert op.identity_first and op.order == vec["config"]["order"]
    for case in vec["cases"]:
        with torch.no_grad():
            y = op(case["u"])
            k = op.filters(case["L"])
        assert y.dtype == torch.float64
        assert rel_err(y, case["y"]) < F64_FFT_CHAIN, case["L"]  # both sides go through FFTs
        assert rel_err(k, case["k"]) < F64_SAME_ALGEBRA, case["L"]  # the same FFN, same order


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_loaded_operator_has_its_matrix_form(path):
    vec = _load(path)
    op = from_safari(vec["config"], vec["state_dict"])
    case = vec["cases"][0]
    u = case["u"][:1]
    with torch.no_grad():
        m = op.matrices(u)
        A = op.materialize(u)
        assert torch.equal(m.S_h[0], torch.eye(case["L"], dtype=torch.float64).expand_as(A))
        y = op.out_proj(((A @ m.v[..., None])[..., 0]).T)
    assert rel_err(y, case["y"][0]) < F64_FFT_CHAIN


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_round_trip_returns_identical_tensors(path):
    vec = _load(path)
    config, sd = to_safari(from_safari(vec["config"], vec["state_dict"]))
    assert set(sd) == set(vec["state_dict"])
    for name, tensor in vec["state_dict"].items():
        assert torch.equal(sd[name], tensor), name
    for key, value in vec["config"].items():
        assert config[key] == value, key


@pytest.mark.parametrize("order", [1, 2, 3])
def test_native_operator_exports_to_an_equivalent_official_layer(order):
    torch.manual_seed(order)
    op = HyenaOperator(6, 40, order=order, filter_args={"emb_dim": 5, "w": 10.0}).double()
    config, sd = to_safari(op)
    assert config["order"] == order + 1  # the paper's order N is official order N + 1
    back = from_safari(config, sd)
    u = torch.randn(2, 29, 6, dtype=torch.float64)
    with torch.no_grad():
        assert rel_err(back(u), op(u)) < F64_SAME_ALGEBRA


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("num_heads", 2),
        ("post_order_ffn", True),
        ("outer_mixing", True),
        ("normalized", True),
        ("fused_fft_conv", True),
        ("inner_factor", 2),
        ("activation", "gelu"),
    ],
)
def test_unsupported_official_options_are_named(option, value):
    vec = _load(VECTORS[0])
    with pytest.raises(ValueError, match=f"official option {option}="):
        from_safari({**vec["config"], option: value}, vec["state_dict"])


def test_bad_official_inputs():
    vec = _load(VECTORS[0])
    with pytest.raises(ValueError, match=r"unknown official option 'nonsense'"):
        from_safari({**vec["config"], "nonsense": 1}, vec["state_dict"])
    with pytest.raises(ValueError, match="order >= 2"):
        from_safari({**vec["config"], "order": 1}, vec["state_dict"])
    sd = dict(vec["state_dict"])
    sd.pop("filter_fn.bias")
    with pytest.raises(ValueError, match=r"lacks \['filter_fn\.bias'\]"):
        from_safari(vec["config"], sd)
    sd = {**vec["state_dict"], "extra.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match="does not know"):
        from_safari(vec["config"], sd)
    sd = dict(vec["state_dict"])
    sd["filter_fn.implicit_filter.3.freq"] = sd["filter_fn.implicit_filter.3.freq"] + 1
    with pytest.raises(ValueError, match="Sin frequencies differ"):
        from_safari(vec["config"], sd)


def test_export_refuses_other_filters():
    op = HyenaOperator(4, 16, filter="implicit", filter_args={"normalize": "l1"})
    with pytest.raises(ValueError, match="normalisation"):
        to_safari(op)


def _bad(vec, **changes):
    return {**vec["state_dict"], **changes}


@pytest.mark.parametrize(
    "name",
    ["filter_fn.bias", "filter_fn.modulation.deltas", "filter_fn.implicit_filter.6.weight",
     "in_proj.weight", "filter_fn.pos_emb.z"],
)
def test_wrong_shaped_tensors_are_refused_not_truncated(name):
    vec = _load(VECTORS[0])
    t = vec["state_dict"][name]
    grown = torch.cat([t, t[..., :1]], dim=-1)  # one element too many along the last axis
    expected = rf"{re.escape(name)}: expected {re.escape(str(tuple(t.shape)))}"
    with pytest.raises(ValueError, match=expected):
        from_safari(vec["config"], _bad(vec, **{name: grown}))


def test_config_that_does_not_match_the_weights_says_so():
    vec = _load(VECTORS[0])
    cfg = vec["config"]
    with pytest.raises(ValueError, match="does not match the config"):
        from_safari({**cfg, "d_model": cfg["d_model"] * 2}, vec["state_dict"])
    with pytest.raises(ValueError, match=r"does not match the config \(d_model=\d+, order=3"):
        from_safari({**cfg, "order": cfg.get("order", 2) + 1}, vec["state_dict"])


def test_a_prefix_on_the_keys_is_named_with_the_fix():
    vec = _load(VECTORS[0])
    sd = {"model.mixer." + k: v for k, v in vec["state_dict"].items()}
    with pytest.raises(ValueError, match=r"prefix \('model\.mixer\.'\).*removeprefix"):
        from_safari(vec["config"], sd)


@pytest.mark.parametrize(
    ("key", "value"),
    [("modulate", "False"), ("modulate", 0), ("d_model", 16.9), ("l_max", True),
     ("w", float("nan")), ("order", "2")],
)
def test_config_values_of_the_wrong_type_are_refused(key, value):
    vec = _load(VECTORS[0])
    with pytest.raises(TypeError, match=rf"official option {key} must be"):
        from_safari({**vec["config"], key: value}, vec["state_dict"])
