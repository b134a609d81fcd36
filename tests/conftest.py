"""Shared test settings: a headless matplotlib backend and the hypothesis profiles.

``handbook`` (the default, what ``make test`` and CI run): derandomised, so that every machine
draws the same examples, and no example database, so that nothing left behind by one run changes
the next. ``fuzz`` (``make fuzz``): fresh random examples, many of them
(``HYPOTHESIS_MAX_EXAMPLES``, default 1000 per property), to find what the derandomised run does
not draw.
"""

import os

import matplotlib
import pytest
import torch
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
if not torch.cuda.is_available():
    # the Triton kernels (hyena_lab.kernels) run in Triton's CPU interpreter without a GPU; it
    # must be chosen before triton is first imported, by whichever test file comes first
    os.environ.setdefault("TRITON_INTERPRET", "1")

settings.register_profile(
    "handbook",
    deadline=None,
    max_examples=40,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    deadline=None,
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "1000")),
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "handbook"))


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny tensors (avoids OpenMP contention on a shared CPU);
    a module asks for it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def poisoned_kernels(monkeypatch):
    """Every buffer the Triton kernels allocate starts as NaN (``hyena_lab.kernels.POISON``), so
    an element a kernel forgets to write fails the comparison instead of passing on whatever the
    memory held; a kernel test module asks for it with ``pytest.mark.usefixtures``."""
    from hyena_lab import kernels

    monkeypatch.setattr(kernels, "POISON", True)
