"""The bridge to the official implementation's weights (HazyResearch/safari, ``hyena.py``).

:func:`from_safari` turns the constructor options and ``state_dict`` of an official
``HyenaOperator`` into a :class:`hyena_lab.HyenaOperator` with the same forward pass; its
``.matrices(u)`` and ``.materialize(u)`` then show the data-controlled matrix of the official
layer. :func:`to_safari` goes the other way, so that a handbook model loads into the official code.

How the official layer is expressed in the paper's definition (Definition 3.1):

* **order.** Official ``order=o`` splits ``(o + 1) d`` projected channels into
  ``x[0], ..., x[o-1], v`` and computes
  ``x[0] * h_{o-2} conv (... x[o-2] * h_0 conv (x[o-1] * v))``: it gates *before* the first
  of its ``o - 1`` long convolutions. That is the paper's order ``o`` operator whose first
  filter is the identity: ``identity_first=True``, ``S_h^1 = I``.
* **gates.** The official loop runs over ``reversed(x[1:])``, so the paper's ``x^n`` is the
  official ``x[o - n]``: the handbook's projection blocks are the official ones in reverse order
  (``v`` stays last).
* **filter channels.** The official filter bank interleaves steps and channels as ``(v o)``:
  official channel ``j * (o - 1) + s`` is channel ``j`` of the filter of step ``s``; the handbook
  stores step-major ``s * d + j``. Rows of the last FFN layer, the decay rates and the skip terms
  are permuted accordingly.
* **Sin.** One ``Sin`` module is reused after each hidden layer, so its frequency appears under
  several names of the state dict, all equal; the handbook stores it once.
* **positional encoding.** ``z`` is trained in the official code and ``t`` is a buffer: both are
  loaded, not recomputed.

A handbook operator in the paper's own form (``identity_first=False``, order ``N``) is exported as
an official order ``N + 1`` layer whose first gate is the constant 1 (zero projection rows with
bias 1, a short filter that passes its input through): the same function.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch

from .filters import ImplicitFilter
from .operator import HyenaOperator

__all__ = ["OFFICIAL_DEFAULTS", "from_safari", "load_vectors", "to_safari", "vector_files"]

#: Test vectors of the official operator, shipped with the package (see ``data/VECTORS.md``).
VECTORS_DIR = Path(__file__).resolve().parent / "data"


def vector_files() -> list[Path]:
    """The shipped official test vectors (``safari_*.pt``), sorted by name."""
    return sorted(VECTORS_DIR.glob("safari_*.pt"))


def load_vectors(name: str) -> dict:
    """Load one set of official test vectors by name (e.g. ``"safari_order2_recall"``).

    Returns a dict with ``config``, ``state_dict`` and ``cases`` (each ``{"L", "u", "y", "k"}``);
    loaded with ``weights_only=True`` (plain tensors and containers only).
    """
    names = [p.stem for p in vector_files()]
    if name not in names:
        raise ValueError(f"unknown test vectors {name!r}; available: {names}")
    return torch.load(VECTORS_DIR / f"{name}.pt", weights_only=True)

#: Official options this bridge understands, with the official defaults.
OFFICIAL_DEFAULTS: dict[str, object] = {
    "order": 2,
    "filter_order": 64,
    "short_filter_order": 3,
    "emb_dim": 3,
    "w": 1,
    "modulate": True,
    "fast_decay_pct": 0.3,
    "slow_decay_pct": 1.5,
    "target": 1e-2,
    "shift": 0.0,
    "num_inner_mlps": 2,
    "bias": True,
}

#: Official options with no handbook equivalent, and the only value accepted for each.
UNSUPPORTED: dict[str, object] = {
    "num_heads": 1,
    "inner_factor": 1,
    "num_blocks": 1,
    "activation": "id",
    "normalized": False,
    "post_order_ffn": False,
    "outer_mixing": False,
    "fused_bias_fc": False,
    "fused_fft_conv": False,
    "use_flashfftconv": False,
    "filter_cls": "hyena-filter",
    "return_state": False,
    "dropout": 0.0,
    "filter_dropout": 0.0,
}

#: Official options that only steer the optimiser or compilation: accepted and ignored.
IGNORED = {"lr", "lr_pos_emb", "wd", "modulation_lr", "jit_filter", "channels"}

_FILTER = "filter_fn."
_FFN = _FILTER + "implicit_filter."


#: The type each official option must have (bool is not accepted where a number is expected,
#: nor a number or string where a bool is: ``modulate="False"`` would otherwise read as True).
_INT_OPTIONS = ("d_model", "l_max", "order", "filter_order", "short_filter_order", "emb_dim",
                "num_inner_mlps")
_BOOL_OPTIONS = ("modulate", "bias")
_FLOAT_OPTIONS = ("w", "fast_decay_pct", "slow_decay_pct", "target", "shift")


def _check_option_type(key: str, value: object) -> None:
    """Raise ``TypeError`` unless an official option has the type the official code expects."""
    if key in _INT_OPTIONS:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        expected = "an int >= 1"
    elif key in _BOOL_OPTIONS:
        ok, expected = isinstance(value, bool), "a bool (True or False, not a string or number)"
    elif key in _FLOAT_OPTIONS:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = number and math.isfinite(value)  # type: ignore[arg-type]
        expected = "a finite number"
    else:
        return
    if not ok:
        raise TypeError(f"official option {key} must be {expected}, got {value!r}")


def _check_config(config: Mapping[str, object]) -> dict[str, object]:
    """Validate official options; return them completed with the official defaults."""
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping of options, got {type(config).__name__}")
    for key in ("d_model", "l_max"):
        if key not in config:
            raise ValueError(f"official config lacks the required option {key!r}")
    for key, value in config.items():
        if key in UNSUPPORTED and value != UNSUPPORTED[key]:
            raise ValueError(
                f"official option {key}={value!r} is not supported by hyena_lab "
                f"(supported: {key}={UNSUPPORTED[key]!r})"
            )
        known = key in OFFICIAL_DEFAULTS or key in UNSUPPORTED or key in IGNORED
        if not known and key not in ("d_model", "l_max"):
            raise ValueError(f"unknown official option {key!r}")
        _check_option_type(key, value)
    cfg = {**OFFICIAL_DEFAULTS, **{k: v for k, v in config.items() if k in OFFICIAL_DEFAULTS}}
    cfg["d_model"], cfg["l_max"] = config["d_model"], config["l_max"]
    if int(cfg["order"]) < 2:  # type: ignore[arg-type]
        raise ValueError(f"the official operator needs order >= 2, got {cfg['order']}")
    if int(cfg["emb_dim"]) < 3 or int(cfg["emb_dim"]) % 2 == 0:  # type: ignore[arg-type]
        raise ValueError(f"official option emb_dim must be odd and >= 3, got {cfg['emb_dim']}")
    return cfg


def _check_state_dict(
    sd: Mapping[str, object], expected: Mapping[str, torch.Tensor], cfg: Mapping[str, object]
) -> torch.dtype:
    """Raise unless ``sd`` holds exactly the official tensors of ``cfg``, each of the right shape
    and one floating dtype; return that dtype. ``expected`` is the official state dict of a fresh
    operator with the same options (names and shapes)."""
    names = set(sd)
    missing, unknown = sorted(set(expected) - names), sorted(names - set(expected))
    if missing:
        hint = ""
        suffix = [k for k in names if any(k.endswith("." + m) for m in missing)]
        if suffix:
            prefix = suffix[0][: -len(next(m for m in missing if suffix[0].endswith("." + m)))]
            hint = (f"; its keys carry a prefix ({prefix!r}): pass "
                    f"{{k.removeprefix({prefix!r}): v for k, v in state_dict.items()}}")
        raise ValueError(
            f"official state_dict lacks {missing} for the config (d_model={cfg['d_model']}, "
            f"order={cfg['order']}, num_inner_mlps={cfg['num_inner_mlps']}){hint}"
        )
    if unknown:
        raise ValueError(f"official state_dict has tensors this bridge does not know: {unknown}")
    bad = [
        f"{k}: expected {tuple(expected[k].shape)}, got "
        f"{tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__}"
        for k, v in sd.items()
        if not isinstance(v, torch.Tensor) or v.shape != expected[k].shape
    ]
    if bad:
        raise ValueError(
            "official state_dict does not match the config (d_model="
            f"{cfg['d_model']}, order={cfg['order']}, filter_order={cfg['filter_order']}, "
            f"emb_dim={cfg['emb_dim']}, l_max={cfg['l_max']}): " + "; ".join(sorted(bad))
        )
    dtypes = {v.dtype for v in sd.values()}  # type: ignore[union-attr]
    if len(dtypes) != 1 or not next(iter(dtypes)).is_floating_point:
        raise TypeError(f"official state_dict tensors must share one float dtype, got {dtypes}")
    return dtypes.pop()


def _gate_perm(order: int, d: int) -> torch.Tensor:
    """Projection rows: handbook ``[x^1..x^o, v]`` from official ``[x[0]..x[o-1], v]``."""
    blocks = [order - 1 - i for i in range(order)] + [order]  # x^n = x[o - n]; v last
    return torch.cat([torch.arange(b * d, (b + 1) * d) for b in blocks])


def _filter_perm(steps: int, d: int) -> torch.Tensor:
    """Filter channels: handbook ``s * d + j`` from official ``(v o)`` index ``j * steps + s``."""
    s, j = torch.meshgrid(torch.arange(steps), torch.arange(d), indexing="ij")
    return (j * steps + s).reshape(-1)


def from_safari(
    config: Mapping[str, object], state_dict: Mapping[str, torch.Tensor]
) -> HyenaOperator:
    """A :class:`HyenaOperator` computing the same function as an official ``HyenaOperator``.

    Args:
        config: the keyword arguments of the official constructor (``d_model``, ``l_max``,
            ``order``, ``filter_order``, filter options such as ``emb_dim``, ``w``, ``modulate``,
            ``fast_decay_pct``, ``slow_decay_pct``, ``target``, ``shift``); unset options take the
            official defaults. Unsupported options (``num_heads > 1``, ``post_order_ffn``,
            ``outer_mixing``, ``normalized``, fused kernels, ...) raise ``ValueError``.
        state_dict: the official module's ``state_dict()``; the operator takes its dtype.

    Returns:
        ``HyenaOperator(d_model, l_max, order, identity_first=True)`` with the weights loaded.
    """
    cfg = _check_config(config)
    o, d = int(cfg["order"]), int(cfg["d_model"])  # type: ignore[arg-type]
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
    sd = dict(state_dict)
    op = HyenaOperator(
        d,
        int(cfg["l_max"]),  # type: ignore[arg-type]
        order=o,
        filter="implicit",
        filter_args={
            "emb_dim": int(cfg["emb_dim"]),  # type: ignore[arg-type]
            "filter_order": int(cfg["filter_order"]),  # type: ignore[arg-type]
            "num_inner_mlps": int(cfg["num_inner_mlps"]),  # type: ignore[arg-type]
            "w": float(cfg["w"]),  # type: ignore[arg-type]
            "modulate": bool(cfg["modulate"]),
            "fast_decay_pct": float(cfg["fast_decay_pct"]),  # type: ignore[arg-type]
            "slow_decay_pct": float(cfg["slow_decay_pct"]),  # type: ignore[arg-type]
            "target": float(cfg["target"]),  # type: ignore[arg-type]
            "shift": float(cfg["shift"]),  # type: ignore[arg-type]
        },
        short_filter_order=int(cfg["short_filter_order"]),  # type: ignore[arg-type]
        filter_bias=bool(cfg["bias"]),
        identity_first=True,
    )
    dtype = _check_state_dict(sd, to_safari(op)[1], cfg)
    op = op.to(dtype)
    op.load_state_dict(_convert_in(sd, o, d, int(cfg["num_inner_mlps"])))  # type: ignore[arg-type]
    return op


def _convert_in(
    sd: dict[str, torch.Tensor], o: int, d: int, inner: int
) -> dict[str, torch.Tensor]:
    """Official state dict -> handbook state dict (strict: every official tensor is used)."""
    gate, filt = _gate_perm(o, d), _filter_perm(o - 1, d)
    used: set[str] = set()

    def take(name: str) -> torch.Tensor:
        if name not in sd:
            raise KeyError(f"official state_dict lacks {name!r}")
        used.add(name)
        return sd[name]

    out = {
        "in_proj.weight": take("in_proj.weight")[gate],
        "in_proj.bias": take("in_proj.bias")[gate],
        "short_filter.weight": take("short_filter.weight")[gate],
        "short_filter.bias": take("short_filter.bias")[gate],
        "out_proj.weight": take("out_proj.weight"),
        "out_proj.bias": take("out_proj.bias"),
        "bias": take(_FILTER + "bias")[filt].reshape(o - 1, d),
        "filter.pos_emb.z": take(_FILTER + "pos_emb.z")[0],
        "filter.pos_emb.t": take(_FILTER + "pos_emb.t")[0],
        "filter.modulation.deltas": take(_FILTER + "modulation.deltas").reshape(-1)[filt],
    }
    for i in range(inner + 1):  # Linear layers sit at even indices, Sin at odd ones
        out[f"filter.layers.{i}.weight"] = take(f"{_FFN}{2 * i}.weight")
        out[f"filter.layers.{i}.bias"] = take(f"{_FFN}{2 * i}.bias")
    out["filter.out.weight"] = take(f"{_FFN}{2 * inner + 2}.weight")[filt]
    freqs = [take(f"{_FFN}{2 * i + 1}.freq") for i in range(inner + 1)]
    if any(not torch.equal(f, freqs[0]) for f in freqs):
        raise ValueError(
            "the official Sin frequencies differ between layers; one shared is expected"
        )
    out["filter.act.freq"] = freqs[0].reshape(-1)
    unused = sorted(set(sd) - used)
    if unused:
        raise ValueError(f"official state_dict has tensors this bridge does not know: {unused}")
    return out


def _as_identity_first(op: HyenaOperator) -> HyenaOperator:
    """An ``identity_first`` operator of order ``N + 1`` computing the same as ``op`` (order N).

    The new first gate is the constant 1: its projection rows are zero with bias 1, and its short
    filter passes its (constant) input through; the filters are ``op``'s own.
    """
    d, N = op.d_model, op.order
    new = HyenaOperator(
        d, op.l_max, N + 1, filter=op.filter, short_filter_order=op.short_filter_order,
        identity_first=True,
    ).to(op.in_proj.weight.dtype)
    with torch.no_grad():
        for name in ("weight", "bias"):
            ones = torch.zeros_like(getattr(new.in_proj, name)[:d])
            if name == "bias":
                ones += 1
            getattr(new.in_proj, name).copy_(torch.cat([ones, getattr(op.in_proj, name)]))
        pass_through = torch.zeros_like(new.short_filter.weight[:d])
        pass_through[..., -1] = 1  # the last tap multiplies the current input
        new.short_filter.weight.copy_(torch.cat([pass_through, op.short_filter.weight]))
        new.short_filter.bias.copy_(torch.cat([torch.zeros(d).to(op.bias), op.short_filter.bias]))
        new.bias.copy_(op.bias)
        new.bias.requires_grad_(op.bias.requires_grad)
        new.out_proj.load_state_dict(op.out_proj.state_dict())
    return new


def to_safari(op: HyenaOperator) -> tuple[dict[str, object], dict[str, torch.Tensor]]:
    """The official ``(config, state_dict)`` of a handbook operator with an implicit filter.

    ``from_safari(*to_safari(op))`` computes the same function as ``op``; for an operator loaded
    with :func:`from_safari`, ``to_safari`` returns the original tensors exactly.
    """
    if not isinstance(op.filter, ImplicitFilter):
        raise ValueError(
            f"the official code only has the implicit Hyena filter; this operator uses "
            f"{type(op.filter).__name__}"
        )
    f = op.filter
    if f.normalize is not None:
        raise ValueError("filter normalisation differs from the official 'normalized' option")
    if not op.identity_first:
        op = _as_identity_first(op)
    o, d, inner = op.order, op.d_model, len(f.layers) - 1
    gate, filt = _gate_perm(o, d), _filter_perm(o - 1, d)
    inv_gate, inv_filt = torch.argsort(gate), torch.argsort(filt)
    m = f.modulation
    config: dict[str, object] = {
        "d_model": d,
        "l_max": op.l_max,
        "order": o,
        "filter_order": f.out.in_features,
        "short_filter_order": op.short_filter_order,
        "emb_dim": f.pos_emb.emb_dim,
        "w": f.act.w,
        "modulate": m.modulate,
        "fast_decay_pct": m.fast_decay_pct,
        "slow_decay_pct": m.slow_decay_pct,
        "target": m.target,
        "shift": m.shift,
        "num_inner_mlps": inner,
        "bias": op.bias.requires_grad,
    }
    t = {k: v.detach().clone() for k, v in op.state_dict().items()}
    sd = {
        "out_proj.weight": t["out_proj.weight"],
        "out_proj.bias": t["out_proj.bias"],
        "in_proj.weight": t["in_proj.weight"][inv_gate],
        "in_proj.bias": t["in_proj.bias"][inv_gate],
        "short_filter.weight": t["short_filter.weight"][inv_gate],
        "short_filter.bias": t["short_filter.bias"][inv_gate],
        _FILTER + "bias": t["bias"].reshape(-1)[inv_filt],
        _FILTER + "pos_emb.z": t["filter.pos_emb.z"][None],
        _FILTER + "pos_emb.t": t["filter.pos_emb.t"][None],
    }
    for i in range(inner + 1):
        sd[f"{_FFN}{2 * i}.weight"] = t[f"filter.layers.{i}.weight"]
        sd[f"{_FFN}{2 * i}.bias"] = t[f"filter.layers.{i}.bias"]
        sd[f"{_FFN}{2 * i + 1}.freq"] = t["filter.act.freq"][None].clone()
    sd[f"{_FFN}{2 * inner + 2}.weight"] = t["filter.out.weight"][inv_filt]
    sd[_FILTER + "modulation.deltas"] = t["filter.modulation.deltas"][inv_filt][None, None]
    return config, sd
