"""PPO tests: one torch thread; skipped without the rl extra (stable-baselines3, sb3-contrib)."""

import importlib.util

import pytest
import torch

if importlib.util.find_spec("sb3_contrib") is None or importlib.util.find_spec("stable_baselines3") is None:
    collect_ignore_glob = ["test_*.py"]  # pip install 'ltc_drones[rl]' to run them


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)
