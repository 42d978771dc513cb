import pytest
import torch

from ltc_drones.training import CollectSpec, TrainConfig, collect_demonstrations

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def kin_demos(tmp_path_factory):
    """Ten expert FlyToTarget episodes with kin observations."""
    folder = tmp_path_factory.mktemp("demos") / "kin"
    collect_demonstrations(CollectSpec("fly-to-target", "kin", base_seed=0), 10, folder, workers=1, progress=False)
    return folder


@pytest.fixture
def tiny(kin_demos, tmp_path):
    """``tiny(**overrides)``: a training config on ``kin_demos`` small enough to run in a second."""

    def make(**kw) -> TrainConfig:
        base = dict(task="fly-to-target", obs="kin", data=(str(kin_demos),), iterations=40, eval_every=10, batch=8,
                    window=16, warmup=4, patience=100, out=str(tmp_path), core_config={"units": 8}, arch="ltc")
        base.update(kw)
        return TrainConfig(**base)

    return make
