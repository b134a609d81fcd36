"""Context parallelism: one Hyena operator run on a sequence split over ``P`` processes.

A sequence too long for one device is cut along its length (*sequence sharding*): rank ``r`` of
``P`` holds positions ``r L/P ... (r+1) L/P - 1`` of the input ``(B, L, D)``, and every rank holds
the same :class:`~hyena_lab.operator.HyenaOperator`. Most of Algorithm 3 (Sec. 3.4) works
position by position and runs where the data lies: ``in_proj``, the gates ``x^n *`` and
``out_proj``. Two of its parts look along the sequence:

* **The short depthwise causal convolution** (Algorithm 1, width ``K = short_filter_order``)
  reads the ``K - 1`` positions before each output. Rank ``r`` receives the last ``K - 1``
  positions of rank ``r - 1``, a *halo*; rank 0 receives zeros, the zero padding of the
  single-device convolution (:func:`halo_exchange`).
* **Each long convolution** ``h^n conv z + b^n z`` (Sec. 2.1, Definition 3.1) reads the whole
  past. Rather than split the FFT itself over ranks, one all-to-all *reshards* ``z`` from
  sequence sharding ``(B, D, L/P)`` to channel sharding ``(B, D/P, L)``
  (:func:`sequence_to_channels`): rank ``r`` then holds the whole length of channels
  ``r D/P ... (r+1) D/P - 1`` and runs the ordinary causal FFT convolution
  (:func:`hyena_lab.conv.fftconv`, skip term included) with its slice of the filters, which every
  rank computes for the full ``L`` (Algorithm 2: cheap next to the convolution, and identical on
  every rank). A second all-to-all returns to sequence sharding (:func:`channels_to_sequence`).
  The long convolution is depthwise, channels never mix, so the resharding is exact.

This sequence -> channel resharding is the all-to-all context parallelism of StripedHyena 2 and
Evo 2 (Ku et al. 2025, "Systems and Algorithms for Convolutional Multi-Hybrid Language Models at
Scale", arXiv 2503.01868), the convolutional analogue of DeepSpeed-Ulysses' sequence -> head
resharding for attention; the code here is our own. Each all-to-all moves ``(P - 1)/P`` of a
rank's ``(B, D, L/P)`` block (:func:`bytes_moved`), so the traffic per rank *falls* as ``1/P``
while the FFT work per rank falls as ``1/P`` too.

Communication is differentiable: the resharding is an all-to-all in a small autograd function
(its backward is the reverse all-to-all), the halo one of point-to-point sends
(:func:`halo_exchange`). (Not ``torch.distributed.nn.functional.all_to_all``: on gloo it falls
back to ``P`` scatters whose root is a rank of the group taken as a global rank, which fails on a
group of other ranks than ``0..P-1``, torch 2.13; gloo's own all-to-all works.) So
``loss.backward()`` on every rank gives each rank its slice of ``d loss / d u`` and its share of
each parameter's gradient; the sum of the shares over the ranks (an all-reduce, what DDP does) is
the single-device gradient. The backward pass communicates too: every rank must call it, on a
loss that depends on its output. Works with gloo (CPU processes) and NCCL (GPUs).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

from . import monarch
from .checks import check_float, check_ndim, check_positive_int
from .conv import fftconv
from .operator import HyenaOperator, resolve_backend

__all__ = [
    "bytes_moved",
    "channels_to_sequence",
    "context_parallel_forward",
    "gather_sequence",
    "halo_exchange",
    "sequence_to_channels",
    "shard_sequence",
]


# ------------------------------------------------------------------------------------ sharding
def _block(L: int, world: int) -> int:
    """``L / world`` positions per rank; a ValueError unless ``world`` divides ``L``."""
    if L % world:
        raise ValueError(
            f"the sequence length L={L} must be divisible by the number of ranks P={world} "
            f"(each rank holds L/P positions); pad or crop the sequence to a multiple of {world}"
        )
    return L // world


def shard_sequence(u: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """Rank ``rank``'s part of ``u`` ``(B, L, D)``: positions ``rank L/P ... (rank+1) L/P - 1``,
    ``(B, L/P, D)``. A ValueError unless ``world`` divides ``L`` and ``0 <= rank < world``."""
    check_float(u, "u")
    check_ndim(u, "u", 3, "(batch, seq_len, d_model)")
    world = check_positive_int(world, "world")
    rank = check_positive_int(rank, "rank", minimum=0)
    if rank >= world:
        raise ValueError(f"rank must be in 0..{world - 1} (world={world}), got {rank}")
    n = _block(u.shape[1], world)
    return u[:, rank * n : (rank + 1) * n]  # (B, L/P, D)


# ------------------------------------------------------------------------------ communication
class _AllToAll(torch.autograd.Function):
    """All-to-all of ``P`` pieces of one shape: ``pieces[j]`` goes to rank ``j``, and the result's
    ``[i]`` came from rank ``i``. Its backward is the same exchange run on the gradients."""

    @staticmethod
    def forward(ctx, group: dist.ProcessGroup | None, *pieces: torch.Tensor):
        ctx.group = group
        return _exchange(pieces, group)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor):
        return None, *_exchange(grads, ctx.group)  # what rank i received goes back to rank i


def _exchange(pieces, group: dist.ProcessGroup | None) -> tuple[torch.Tensor, ...]:
    pieces = [p.contiguous() for p in pieces]
    received = [torch.empty_like(p) for p in pieces]
    dist.all_to_all(received, pieces, group=group)
    return tuple(received)


def _all_to_all(pieces: list[torch.Tensor], group) -> tuple[torch.Tensor, ...]:
    """The differentiable all-to-all: ``pieces[j]`` to rank ``j``; ``[i]`` from rank ``i``."""
    if len(pieces) != dist.get_world_size(group):
        raise ValueError(f"all-to-all needs one piece per rank, got {len(pieces)}")
    return _AllToAll.apply(group, *pieces)


def _all_gather(x: torch.Tensor, group: dist.ProcessGroup | None) -> tuple[torch.Tensor, ...]:
    """Every rank's ``x`` (same shape everywhere), in rank order, differentiably: an all-to-all
    that sends the same tensor to every rank (its backward sums the gradients from all ranks)."""
    return _all_to_all([x] * dist.get_world_size(group), group)


def gather_sequence(y_local: torch.Tensor, group: dist.ProcessGroup | None = None) -> torch.Tensor:
    """The whole sequence ``(B, L, D)`` from every rank's ``(B, L/P, D)``, on every rank
    (differentiable: the gradient of each rank's copy flows back to the rank that holds it)."""
    check_float(y_local, "y_local")
    check_ndim(y_local, "y_local", 3, "(batch, seq_len / P, d_model)")
    return torch.cat(_all_gather(y_local, group), dim=1)  # (B, L, D)


def _shift(x: torch.Tensor, step: int, group: dist.ProcessGroup | None) -> torch.Tensor:
    """Send ``x`` to rank ``r + step`` and return what rank ``r - step`` sent (``step`` is +1 or
    -1); a rank with no sender gets zeros. Point-to-point: each rank sends and receives at most
    one tensor."""
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    x = x.contiguous()
    got = torch.zeros_like(x)

    def peer(r: int) -> int:  # a rank of ``group`` as the global rank that send/recv take
        return r if group is None else dist.get_global_rank(group, r)

    works = []
    if 0 <= rank + step < world:
        works.append(dist.isend(x, peer(rank + step), group))
    if 0 <= rank - step < world:
        works.append(dist.irecv(got, peer(rank - step), group))
    for work in works:
        work.wait()
    return got


class _Halo(torch.autograd.Function):
    """The halo exchange: forward sends each rank's tail to the next rank; backward sends the
    gradient of each halo back to the rank that owns those positions."""

    @staticmethod
    def forward(ctx, tail: torch.Tensor, group: dist.ProcessGroup | None) -> torch.Tensor:
        ctx.group = group
        return _shift(tail, +1, group)  # rank r gets rank r-1's tail; rank 0 zeros

    @staticmethod
    def backward(ctx, grad_halo: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _shift(grad_halo, -1, ctx.group), None  # the last rank's tail went nowhere: 0


def halo_exchange(
    z_local: torch.Tensor, width: int, group: dist.ProcessGroup | None = None
) -> torch.Tensor:
    """The ``width`` positions before this rank's block: the tail of rank ``r - 1``'s ``z_local``,
    zeros on rank 0 (the single-device zero padding). ``(B, C, L/P)`` -> ``(B, C, width)``.

    Point-to-point sends (rank ``r`` to ``r + 1``) inside an autograd function, so that every
    rank, rank 0 included, takes part in the backward exchange: a rank whose halo did not depend
    on its own inputs would skip the backward communication and leave its neighbour waiting.
    """
    if z_local.shape[-1] < width:
        raise ValueError(
            f"the halo of the short convolution needs {width} positions from the previous rank, "
            f"but each rank holds only L/P={z_local.shape[-1]}; use fewer ranks or a longer "
            f"sequence (L/P >= short_filter_order - 1)"
        )
    tail = z_local[..., z_local.shape[-1] - width :]  # (B, C, width): what the next rank needs
    return _Halo.apply(tail, group)


def _check_divides(world: int, size: int, what: str) -> None:
    if size % world:
        raise ValueError(f"the {what}={size} must be divisible by the number of ranks P={world}")


def sequence_to_channels(
    z_local: torch.Tensor, group: dist.ProcessGroup | None = None
) -> torch.Tensor:
    """All-to-all resharding ``(B, C, L/P)`` (this rank's positions, every channel) ->
    ``(B, C/P, L)`` (every position, this rank's channels ``r C/P ... (r+1) C/P - 1``)."""
    world = dist.get_world_size(group)
    _check_divides(world, z_local.shape[1], "channels C")
    chunks = list(z_local.chunk(world, dim=1))  # P x (B, C/P, L/P), chunk j for rank j
    received = _all_to_all(chunks, group)  # [i]: rank i's positions, my channels
    return torch.cat(received, dim=-1)  # (B, C/P, L), positions in rank order


def channels_to_sequence(y: torch.Tensor, group: dist.ProcessGroup | None = None) -> torch.Tensor:
    """The reverse resharding: ``(B, C/P, L)`` (this rank's channels) -> ``(B, C, L/P)`` (this
    rank's positions, every channel)."""
    world = dist.get_world_size(group)
    _check_divides(world, y.shape[-1], "positions L")
    chunks = list(y.chunk(world, dim=-1))  # P x (B, C/P, L/P), chunk i for rank i
    received = _all_to_all(chunks, group)  # [j]: rank j's channels, my positions
    return torch.cat(received, dim=1)  # (B, C, L/P), channels in rank order


# -------------------------------------------------------------------------------- the operator
def _check_shards(op: HyenaOperator, u_local: torch.Tensor, group) -> tuple[int, int, int]:
    """Validate the sharded input on every rank; return ``(rank, world, L)``.

    The local lengths are compared through one tiny all-gather, so that every rank raises the
    same error (a rank that raised alone would leave the others waiting in a collective).
    """
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    check_float(u_local, "u_local")
    check_ndim(u_local, "u_local", 3, "(batch, seq_len / P, d_model)")
    here = torch.tensor([u_local.shape[0], u_local.shape[1]], device=u_local.device)
    with torch.no_grad():
        sizes = torch.stack(_all_gather(here, group)).tolist()  # P x [B, L/P]
    if len({tuple(s) for s in sizes}) > 1:
        raise ValueError(
            f"every rank must hold the same batch and L/P positions (L divisible by P={world}); "
            f"got (batch, L/P) = {[tuple(s) for s in sizes]} on ranks 0..{world - 1}"
        )
    if op.d_model % world:
        raise ValueError(
            f"d_model={op.d_model} must be divisible by the number of ranks P={world}: each "
            f"long convolution is split over the ranks by channels (D/P each)"
        )
    L = world * u_local.shape[1]
    if L > op.l_max:
        raise ValueError(
            f"the whole sequence has L = P * L/P = {world} * {u_local.shape[1]} = {L} positions, "
            f"more than the operator's l_max={op.l_max}"
        )
    op.check_input(u_local)  # dtype of the weights, d_model
    return rank, world, L


def _short_conv(op: HyenaOperator, z_local: torch.Tensor, group) -> torch.Tensor:
    """The short depthwise causal convolution of Algorithm 1 on this rank's block,
    ``(B, (N+1) D, L/P)`` -> same: the halo of the previous rank, then a convolution without
    padding, which is ``op.short_filter(z)[..., :L]`` restricted to these positions."""
    conv, K = op.short_filter, op.short_filter_order
    if K > 1:
        halo = halo_exchange(z_local, K - 1, group)  # (B, (N+1) D, K-1)
        z_local = torch.cat([halo, z_local], dim=-1)  # (B, (N+1) D, K-1 + L/P)
    return F.conv1d(z_local, conv.weight, conv.bias, groups=conv.groups)  # (B, (N+1) D, L/P)


def context_parallel_forward(
    op: HyenaOperator, u_local: torch.Tensor, group: dist.ProcessGroup | None = None
) -> torch.Tensor:
    """``op(u)`` with ``u`` ``(B, L, D)`` sequence-sharded over the ``P`` ranks of ``group``.

    Rank ``r`` passes its positions ``u_local = u[:, r L/P : (r+1) L/P]`` (:func:`shard_sequence`)
    and gets the same positions of ``op(u)``, ``(B, L/P, D)``; :func:`gather_sequence` puts the
    whole output together. Every rank must hold the same ``op`` (same weights) and call this
    together. Layouts, step by step (see the module docstring):

    * sequence sharding ``(B, L/P, .)``: ``in_proj``; the short convolution after a halo exchange;
      the split into gates ``x^1..x^N`` and value ``v`` (each ``(B, D, L/P)``); every gate; and
      ``out_proj``;
    * channel sharding ``(B, D/P, L)``, between two all-to-alls: each long convolution
      ``h^n conv z + b^n z`` with this rank's channels of ``h^n`` and ``b^n``. A step without a
      filter (the official layout's first, ``identity_first``) is the identity: no communication.

    Raises ValueError (on every rank) unless every rank holds the same ``(B, L/P)``, ``P`` divides
    ``d_model``, ``L = P * L/P <= l_max`` and ``L/P >= short_filter_order - 1``.
    Differentiable: see the module docstring for how gradients add up over the ranks.
    """
    rank, world, L = _check_shards(op, u_local, group)
    D = op.d_model
    mine = slice(rank * D // world, (rank + 1) * D // world)  # this rank's channels
    z = op.in_proj(u_local).transpose(1, 2)  # (B, (N+1) D, L/P)
    z = _short_conv(op, z, group)  # (B, (N+1) D, L/P)
    *x, v = z.split(D, dim=1)  # N gates and the value, each (B, D, L/P)
    h = op.filters(L)[:, mine]  # (n_filters, D/P, L): the full length, this rank's channels
    b = op.bias[:, mine]  # (n_filters, D/P)
    conv = monarch.fftconv if resolve_backend(op.backend, v.device) == "monarch" else fftconv
    z = v  # z^1 = v
    for n in range(op.order):  # Definition 3.1: z^{n+1} = x^n * (h^n conv z^n)
        j = op.filter_of_step[n]
        if j is not None:  # S_h^{n+1} z = h conv z + b z, on the whole length of D/P channels
            z_ch = sequence_to_channels(z, group)  # (B, D/P, L)
            z_ch = conv(z_ch, h[j].to(z.dtype), b[j].to(z.dtype))  # (B, D/P, L)
            z = channels_to_sequence(z_ch, group)  # (B, D, L/P)
        z = x[n] * z  # the gate, position by position: (B, D, L/P)
    return op.out_proj(z.transpose(1, 2))  # (B, L/P, D)


# ------------------------------------------------------------------------------------- traffic
def bytes_moved(
    B: int,
    L: int,
    C: int,
    P: int,
    order: int,
    dtype: torch.dtype = torch.float32,
    identity_first: bool = False,
) -> int:
    """Bytes each rank sends (and receives) in the all-to-alls of one forward pass.

    Each long convolution reshards its ``(B, C, L/P)`` block twice (sequence -> channels and
    back); each time a rank keeps ``1/P`` of the block and sends the other ``(P - 1)/P``:
    ``2 * n_conv * B * C * (L/P) * (P - 1)/P * itemsize``, with ``n_conv = order`` long
    convolutions (``order - 1`` with ``identity_first``, the official layout). All ranks send at
    once, so the whole group moves ``P`` times this; the backward pass moves the same again. The
    halo of the short convolution (``K - 1`` positions of ``(N + 1) C`` channels) is not counted.
    A floor on the communication time: this over the per-GPU all-to-all bandwidth.
    """
    for value, name in zip((B, L, C, P, order), ("B", "L", "C", "P", "order"), strict=True):
        check_positive_int(value, name)
    if C % P:
        raise ValueError(f"C={C} channels must be divisible by P={P} ranks")
    if identity_first and order < 2:
        raise ValueError("identity_first needs order >= 2 (order 1 would hold no filter)")
    n_conv = order - 1 if identity_first else order
    itemsize = torch.empty((), dtype=dtype).element_size()
    per_block = B * C * _block(L, P) * itemsize  # one rank's (B, C, L/P)
    return 2 * n_conv * per_block * (P - 1) // P
