import pytest
import torch

from ltc_drones.training import CollectSpec, collect_demonstrations

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def kin_demos(tmp_path_factory):
    """Ten expert FlyToTarget episodes with kin observations."""
    folder = tmp_path_factory.mktemp("demos") / "kin"
    collect_demonstrations(CollectSpec("fly-to-target", "kin", base_seed=0), 10, folder, workers=1, progress=False)
    return folder
