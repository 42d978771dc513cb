"""Parameter counts of wired cores leave out the synapses their wiring masks: exactly the scalars that
receive no gradient."""

import pytest
import torch

from ltc_drones.models import make_core


@pytest.mark.parametrize("name", ["cfc-ncp", "ltc-ncp", "cfc", "lstm"])
def test_count_equals_parameters_that_receive_gradient(name):
    torch.manual_seed(0)
    core = make_core(name, input_size=8, output_size=4).double()
    x = torch.randn(3, 5, 8, dtype=torch.float64)
    y, h = core(x, dt=1 / 30)
    (y.square().sum() + h.square().sum()).backward()
    live = sum(int((p.grad != 0).sum()) for p in core.parameters() if p.grad is not None)
    assert core.num_parameters() == live
    if name.endswith("ncp"):
        assert core.num_parameters() < sum(p.numel() for p in core.parameters())
