"""The training loop under torch.distributed (DDP, gloo on the CPU): 2 processes, each on its
half of every global batch, take the very steps of 1 process on the whole batch.

Float64 throughout: the two runs differ only in the order of the sums that make the gradient
(the mean over 2 x 4 windows against the mean of 2 means over 4), each rounding at most a few
units of float64's 2.2e-16 relative; AdamW normalises each update to at most ``lr`` = 1e-2
per step and the gradient clip is applied to the averaged gradient in both, so after 4 steps
the weights agree to ~1e-15 and the tolerance 1e-10 leaves a wide margin while a different
batch (the negative test) moves them by more than 1e-4.
"""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from hyena_lab.lm import TextBatches, lm_model_config, shakespeare
from hyena_lab.models import TinyLM
from hyena_lab.text import CharCorpus
from hyena_lab.train import TrainConfig, _world, train

CONFIG = TrainConfig(lr=1e-2, weight_decay=0.1, batch_size=8, max_steps=4, warmup_steps=1,
                     eval_every=100)  # fmt: skip
TOL = 1e-10  # see the module docstring


def _data() -> TextBatches:
    corpus = CharCorpus.from_text(shakespeare().vocab.decode(shakespeare().train[:20_000]))
    return TextBatches(corpus, block_size=8, valid_windows=4)


def _model() -> TinyLM:
    torch.manual_seed(0)
    config = lm_model_config("hyena", _data().corpus.vocab.size, block_size=8, d_model=8,
                             n_layers=1, filter_order=8)  # fmt: skip
    return TinyLM(config).double()


def _trained(config: TrainConfig = CONFIG) -> dict[str, torch.Tensor]:
    model = _model()
    train(model, _data(), config, progress=False)
    return model.state_dict()


def _worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)  # fmt: skip
    try:
        assert _world() == (rank, world)
        state = _trained()
        if rank == 0:
            torch.save(state, out)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_state(tmp_path_factory) -> dict[str, torch.Tensor]:
    out = str(tmp_path_factory.mktemp("ddp") / "rank0.pt")
    mp.spawn(_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    return torch.load(out, weights_only=True)


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a if a[k].is_floating_point())


def test_two_processes_take_the_steps_of_one_on_the_global_batch(ddp_state):
    single = _trained()
    assert _max_diff(ddp_state, single) < TOL
    assert _max_diff(single, _model().state_dict()) > 1e-4  # and the steps did move the weights


def test_a_different_batch_gives_different_weights(ddp_state):
    # what one rank alone sees: the global batch's first half (another batch of 4, same steps)
    half = _trained(TrainConfig(**{**CONFIG.__dict__, "batch_size": 4}))
    assert _max_diff(ddp_state, half) > 1e-4


def test_the_batch_must_split_evenly_over_the_processes(monkeypatch):
    import hyena_lab.train as train_mod

    monkeypatch.setattr(train_mod, "_world", lambda: (0, 3))
    with pytest.raises(ValueError, match="multiple of the 3 processes"):
        train(_model(), _data(), CONFIG, progress=False)
