"""Context parallelism (hyena_lab.distributed) on CPU processes with gloo, P = 2 and P = 4.

One spawn of 4 processes (the DDP test's way, tests/test_lm_ddp.py) runs every case twice: on
all 4 ranks (P = 4), then on the group of global ranks 1 and 3 (P = 2, which also checks that a
group's ranks are mapped to global ranks for the halo's sends). The group's rank 0 writes the
measured errors to a JSON file that the tests below read.

Tolerances, all float64 (eps = 2.2e-16):

* outputs, ``F64_SAME_ALGEBRA`` (1e-12): the context-parallel pass does the single device's
  arithmetic on the same numbers, only cut differently: each channel's FFT convolution runs over
  the whole L in both (the resharding moves values, it rounds nothing), so what differs is the
  blocking of ``in_proj``/``out_proj`` matrix products and of the short convolution over fewer
  positions, a few eps per output; the FFT round-off over L (~ 7 log2(2L) eps ~ 8e-15 at L = 16,
  ``checks.fft_rel_bound``) is the same in both and bounds any difference from reordering.
* gradients, ``F64_FFT_CHAIN`` (1e-10): the backward pass adds a parameter's per-rank shares
  (filters, biases, projections) in another order than the single device's sums, and runs the
  backward FFTs of the chain; the chain's bound (see ``checks``) covers it with a wide margin,
  while a missing share or a wrong channel slice is an O(1) error.
* causality: perturbing the last rank's inputs moves earlier outputs only by FFT round-off
  (the FFT path is causal up to round-off, ``conv.fftconv``): < ``F64_FFT_CHAIN`` relative,
  while the last rank's outputs move by O(1) (> 1e-3), so the check can fail.
"""

import datetime
import json
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from hyena_lab import distributed as cp
from hyena_lab.checks import F64_FFT_CHAIN, F64_SAME_ALGEBRA, rel_err
from hyena_lab.operator import HyenaOperator

B, L, D = 2, 16, 4  # L/P = 8 or 4 positions per rank; D/P = 2 or 1 channels per rank
WORLDS = (2, 4)
PAIR = (1, 3)  # the global ranks of the P = 2 group
#: name -> HyenaOperator options: both layouts (paper / official = identity_first), orders 1-3,
#: short filters of odd and even width (K = 1 needs no halo, K = 5 a halo of all L/P = 4 at P = 4)
CASES = {
    "paper-N2-K3": dict(order=2, short_filter_order=3),
    "paper-N3-K4": dict(order=3, short_filter_order=4),
    "paper-N1-K2": dict(order=1, short_filter_order=2),
    "paper-N2-K1-monarch": dict(order=2, short_filter_order=1, backend="monarch"),
    "official-N2-K3": dict(order=2, short_filter_order=3, identity_first=True),
    "official-N3-K5": dict(order=3, short_filter_order=5, identity_first=True),
}


def _op(d: int = D, l_max: int = L, **kw) -> HyenaOperator:
    torch.manual_seed(0)
    return HyenaOperator(d, l_max, filter_args=dict(filter_order=8), **kw).double()


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _grads(loss: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    got = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, got, strict=True)]


def _run_case(op: HyenaOperator, rank: int, world: int, group) -> dict[str, float]:
    """Rank's part of one case: output, gradients and causality against the single device."""
    u, w = _randn(B, L, D, seed=1), _randn(B, L, D, seed=2)  # input and the loss's weights
    params = [p for p in op.parameters() if p.requires_grad]
    u_ref = u.clone().requires_grad_()
    y_ref = op(u_ref)  # the single device, on every rank
    g_ref = _grads((y_ref * w).sum(), [u_ref, *params])

    u_local = cp.shard_sequence(u, rank, world).clone().requires_grad_()
    y_local = cp.context_parallel_forward(op, u_local, group)  # (B, L/P, D)
    loss = (y_local * cp.shard_sequence(w, rank, world)).sum()  # this rank's share of the loss
    g_u, *g_params = _grads(loss, [u_local, *params])
    for g in g_params:  # each rank holds its share of every parameter's gradient
        dist.all_reduce(g, group=group)
    y = cp.gather_sequence(y_local.detach(), group)
    g_u = cp.gather_sequence(g_u, group)

    u_late = u.clone()
    u_late[:, L - L // world :] += _randn(B, L // world, D, seed=3)  # perturb the last rank
    with torch.no_grad():
        u_late_local = cp.shard_sequence(u_late, rank, world)
        y_late = cp.gather_sequence(cp.context_parallel_forward(op, u_late_local, group), group)
    early = slice(0, L - L // world)
    return {
        "out": rel_err(y, y_ref),
        "grad_u": rel_err(g_u, g_ref[0]),
        "grad_params": max(rel_err(g, r) for g, r in zip(g_params, g_ref[1:], strict=True)),
        "grad_norm": min(float(g.norm()) for g in g_ref),
        "early_change": rel_err(y_late[:, early], y[:, early]),
        "late_change": rel_err(y_late[:, early.stop :], y[:, early.stop :]),
    }


def _error(fn) -> str | None:
    """The message of the ValueError ``fn()`` raises, or None."""
    try:
        fn()
    except ValueError as err:
        return str(err)
    return None


def _collectives(rank: int, world: int, group) -> dict:
    """The building blocks against slices of the whole tensor, and bad shards."""
    z = _randn(B, 3 * world, L, seed=4)  # (B, C, L), C = 3P channels
    n, c = L // world, 3  # positions and channels per rank
    z_local = z[..., rank * n : (rank + 1) * n]  # (B, C, L/P)
    z_ch = cp.sequence_to_channels(z_local, group)
    halo = cp.halo_exchange(z_local, 2, group)
    before = (
        z[..., rank * n - 2 : rank * n]
        if rank
        else torch.zeros(B, 3 * world, 2, dtype=torch.float64)
    )
    x_local = _randn(B, n, D, seed=5 + rank).requires_grad_()
    c_all = _randn(B, L, D, seed=9)  # the same on every rank
    (g_x,) = torch.autograd.grad((cp.gather_sequence(x_local, group) * c_all).sum(), x_local)

    sent = []  # bytes this rank sends to the others in the resharding all-to-alls

    def counting(pieces, group):
        if all(p.ndim == 3 and p.shape[1] == D // world for p in pieces):
            sent.append(
                sum(p.numel() * p.element_size() for j, p in enumerate(pieces) if j != rank)
            )
        return all_to_all(pieces, group)

    all_to_all, cp._all_to_all = cp._all_to_all, counting
    u_local = cp.shard_sequence(_randn(B, L, D, seed=1), rank, world)
    try:
        with torch.no_grad():
            cp.context_parallel_forward(_op(order=3), u_local, group)  # paper layout, N = 3
    finally:
        cp._all_to_all = all_to_all
    u = _randn(B, L, D, seed=1)
    uneven = u[:, : L // world - (rank == world - 1)]  # the last rank holds one position fewer
    worst = torch.stack([  # per rank, then the largest over the ranks
        (z_ch - z[:, rank * c : (rank + 1) * c]).abs().max(),
        (cp.channels_to_sequence(z_ch, group) - z_local).abs().max(),
        (halo - before).abs().max(),
        (g_x - world * c_all[:, rank * n : (rank + 1) * n]).abs().max(),
        torch.tensor(float(sum(sent)), dtype=torch.float64),
        torch.tensor(-float(sum(sent)), dtype=torch.float64),
    ]).detach()  # fmt: skip
    dist.all_reduce(worst, dist.ReduceOp.MAX, group=group)
    names = ["to_channels", "round_trip", "halo", "gather_grad"]
    return {
        **dict(zip(names, worst[:4].tolist(), strict=True)),
        "bytes_sent": (worst[4].item(), -worst[5].item()),  # the most and least of any rank
        "uneven": _error(lambda: cp.context_parallel_forward(_op(), uneven, group)),
        "d_model": _error(lambda: cp.context_parallel_forward(_op(d=3), u[:, :n, :3], group)),
        "l_max": _error(lambda: cp.context_parallel_forward(_op(l_max=L - 1), u[:, :n], group)),
        "halo_width": _error(
            lambda: cp.context_parallel_forward(_op(short_filter_order=n + 2), u[:, :n], group)
        ),
    }


def _results(world: int, group) -> dict:
    """Every case and the building blocks on ``group``'s ``world`` ranks."""
    rank = dist.get_rank(group)
    results = {name: _run_case(_op(**kw), rank, world, group) for name, kw in CASES.items()}
    return results | {"collectives": _collectives(rank, world, group)}


def _worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=datetime.timedelta(seconds=60))  # fmt: skip
    try:
        results = {world: _results(world, None)}
        pair = dist.new_group(PAIR)  # every rank takes part in creating it
        if rank in PAIR:
            results[len(PAIR)] = _results(len(PAIR), pair)
        if rank == PAIR[0]:  # rank 0 of the pair holds both (every rank has the same results)
            with open(out, "w") as f:
                json.dump(results, f)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def all_runs(tmp_path_factory) -> dict[str, dict]:
    out = str(tmp_path_factory.mktemp("cp") / "results.json")
    mp.spawn(_worker, args=(max(WORLDS), _free_port(), out), nprocs=max(WORLDS), join=True)
    with open(out) as f:
        return json.load(f)  # keys "4" and "2" (JSON keys are strings)


@pytest.fixture(params=WORLDS, ids=lambda p: f"P{p}")
def runs(request, all_runs) -> tuple[int, dict]:
    return request.param, all_runs[str(request.param)]


@pytest.mark.parametrize("case", CASES)
def test_context_parallel_output_equals_the_single_device(runs, case):
    assert runs[1][case]["out"] < F64_SAME_ALGEBRA


@pytest.mark.parametrize("case", CASES)
def test_gradients_summed_over_ranks_equal_the_single_device(runs, case):
    r = runs[1][case]
    assert r["grad_norm"] > 1e-3  # every gradient compared is far from zero
    assert r["grad_u"] < F64_FFT_CHAIN
    assert r["grad_params"] < F64_FFT_CHAIN


@pytest.mark.parametrize("case", CASES)
def test_the_last_ranks_inputs_do_not_reach_earlier_ranks(runs, case):
    r = runs[1][case]
    assert r["early_change"] < F64_FFT_CHAIN
    assert r["late_change"] > 1e-3


def test_the_resharding_and_the_halo_move_the_right_slices(runs):
    r = runs[1]["collectives"]
    assert r["to_channels"] == 0.0 and r["round_trip"] == 0.0  # values moved, none computed
    assert r["halo"] == 0.0  # the previous rank's last 2 positions; zeros on rank 0
    assert r["gather_grad"] < F64_SAME_ALGEBRA  # every rank's copy sends its gradient back


def test_bytes_moved_counts_what_the_all_to_alls_send(runs):
    world, r = runs
    most, least = r["collectives"]["bytes_sent"]
    assert most == least == cp.bytes_moved(B, L, D, world, 3, torch.float64)


def test_bad_shards_raise_on_every_rank(runs):
    world, r = runs
    c = r["collectives"]
    assert "same batch and L/P positions" in c["uneven"]
    assert f"d_model=3 must be divisible by the number of ranks P={world}" in c["d_model"]
    assert f"more than the operator's l_max={L - 1}" in c["l_max"]
    assert "halo of the short convolution needs" in c["halo_width"]


def test_shard_sequence_cuts_the_length_into_equal_blocks():
    u = _randn(B, 12, D, seed=0)
    blocks = [cp.shard_sequence(u, r, 3) for r in range(3)]
    assert all(b.shape == (B, 4, D) for b in blocks)
    assert torch.equal(torch.cat(blocks, dim=1), u)
    with pytest.raises(ValueError, match="L=12 must be divisible by the number of ranks P=5"):
        cp.shard_sequence(u, 0, 5)
    with pytest.raises(ValueError, match=r"rank must be in 0\.\.2"):
        cp.shard_sequence(u, 3, 3)
    with pytest.raises(ValueError, match=r"\(batch, seq_len, d_model\)"):
        cp.shard_sequence(u[0], 0, 3)


def test_bytes_moved_by_hand():
    # B=1, L=8, C=4, P=2, float32: one rank's block (1, 4, 4) is 64 bytes, half of it leaves;
    # two all-to-alls per long convolution, two convolutions: 2 * 2 * 32 = 128 bytes
    assert cp.bytes_moved(1, 8, 4, 2, 2) == 128
    assert cp.bytes_moved(1, 8, 4, 2, 2, identity_first=True) == 64  # one convolution
    assert cp.bytes_moved(1, 8, 4, 2, 2, torch.bfloat16) == 64
    assert cp.bytes_moved(1, 8, 4, 1, 2) == 0  # one rank sends nothing
    assert cp.bytes_moved(1, 8, 4, 4, 2) == 2 * 2 * 32 * 3 // 4  # (1, 4, 2) blocks, 3/4 leave
    with pytest.raises(ValueError, match="C=6 channels must be divisible by P=4"):
        cp.bytes_moved(1, 8, 6, 4, 2)
    with pytest.raises(ValueError, match="L=9 must be divisible"):
        cp.bytes_moved(1, 9, 4, 2, 2)
