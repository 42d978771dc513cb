"""Shared settings for the model tests: one CPU thread (the project's tests share two cores)."""

import torch

torch.set_num_threads(1)
