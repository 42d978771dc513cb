"""LTC ``time_unit_s``: the initial dynamics at dt = time_unit_s equal ncps's at one unit per step."""

import pytest
import torch

from ltc_drones.models import make_core
from ltc_drones.models.base import CoreConfigError


@pytest.mark.parametrize("positive", ["softplus", "clip"])
def test_time_unit_rescales_initial_dynamics_exactly(positive):
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        unit = make_core("ltc-ncp", 5, 4, positive=positive)
        torch.manual_seed(0)
        fast = make_core("ltc-ncp", 5, 4, positive=positive, time_unit_s=1 / 30)
        x = torch.randn(2, 7, 5)
        y_unit, h_unit = unit(x, None, 1.0)
        y_fast, h_fast = fast(x, None, 1 / 30)
        assert torch.allclose(y_unit, y_fast, atol=1e-10) and torch.allclose(h_unit, h_fast, atol=1e-10)
        # ...and the default initialisation at 30 Hz responds far less within those steps.
        y_slow, _ = unit(x, None, 1 / 30)
        assert y_slow.std() < 0.5 * y_fast.std()
    finally:
        torch.set_default_dtype(torch.float32)


def test_time_unit_must_be_positive():
    with pytest.raises(CoreConfigError, match="time_unit_s"):
        make_core("ltc", 3, 2, time_unit_s=0.0)
