"""Shared test settings: a headless matplotlib backend and a deterministic hypothesis profile."""

import matplotlib
import torch
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

settings.register_profile(
    "handbook",
    deadline=None,
    max_examples=40,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("handbook")

