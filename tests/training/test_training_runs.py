"""Behaviour cloning, DAgger, checkpoints, resumption and agents, on tiny budgets."""

import json
import re

import numpy as np
import pytest
import torch

from ltc_drones import load_agent
from ltc_drones.agents import CheckpointError
from ltc_drones.agents.checkpoint import read_checkpoint, save_checkpoint
from ltc_drones.cli import main as cli_main
from ltc_drones.envs import make_env
from ltc_drones.models import CORE_NAMES
from ltc_drones.training import DemoDataset, TrainConfig, resume_run, start_run
from ltc_drones.training.runner import Trainer


def weights(path):
    return read_checkpoint(path)["state_dict"]


def test_bc_loss_falls(tiny, tmp_path):
    cfg = tiny(iterations=150, eval_every=30, lr=1e-2)
    start_run(cfg, progress=False, folder=tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    val = [r["losses/val"] for r in rows if "losses/val" in r]
    assert len(val) == 5 and val[-1] < 0.7 * val[0]
    assert (tmp_path / "run" / "best.pt").is_file() and (tmp_path / "run" / "last.pt").is_file()
    assert list((tmp_path / "run" / "tb").iterdir())  # TensorBoard events


def test_resume_continues_exactly(tiny, tmp_path):
    cfg = tiny()
    full = start_run(cfg, progress=False, folder=tmp_path / "full")
    stopped = start_run(cfg, progress=False, folder=tmp_path / "split", stop_at_step=25)
    assert stopped["stopped"] and read_checkpoint(tmp_path / "split" / "last.pt")["train"]["state"]["step"] == 25
    resumed = resume_run(tmp_path / "split", progress=False)
    assert resumed["step"] == full["step"] == 40
    a, b = weights(tmp_path / "full" / "last.pt"), weights(tmp_path / "split" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_dagger_round_adds_relabelled_learner_states(tiny, tmp_path):
    cfg = tiny(algo="dagger", iterations=10, dagger_rounds=1, dagger_episodes=2,
               dagger_beta=0.0, finetune_iterations=10, eval_episodes=2)
    summary = start_run(cfg, progress=False, folder=tmp_path / "run")
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    round_data = DemoDataset(tmp_path / "run" / "dagger" / "round_00")
    assert len(round_data) == 2
    ep = round_data.episode(0)
    # β = 0: the learner flew every step, the expert labelled every visited state.
    assert not np.allclose(ep["executed"], ep["label"])
    assert np.all(np.abs(ep["label"]) <= 1.0) and len(ep["label"]) == len(ep["obs_kin"])
    # The expert's label at the learner's first state is what the expert would do there.
    env = make_env("fly-to-target", obs="kin")
    from ltc_drones.tasks import make_expert

    env.reset(seed=int(ep["seed"]))
    expert = make_expert(env)
    expert.reset()
    assert np.allclose(expert.act(), ep["label"][0], atol=1e-6)


@pytest.mark.parametrize("arch", CORE_NAMES)
def test_every_core_trains_one_step(tiny, tmp_path, arch):
    cfg = tiny(arch=arch, iterations=1, eval_every=1, core_config={})
    summary = start_run(cfg, progress=False, folder=tmp_path / arch)
    assert summary["step"] == 1
    agent = load_agent(tmp_path / arch / "last.pt")
    assert agent.act(np.zeros(16, np.float32)).shape == (4,)


def test_checkpoint_round_trip_gives_identical_actions(tiny, tmp_path):
    cfg = tiny(iterations=5)
    start_run(cfg, progress=False, folder=tmp_path / "run")
    env = make_env("fly-to-target", obs="kin")
    a1, a2 = load_agent(tmp_path / "run" / "last.pt", env), load_agent(tmp_path / "run", env)
    obs, _ = env.reset(seed=0)
    for _ in range(20):
        x, y = a1.act(obs), a2.act(obs)
        assert np.array_equal(x, y)
        obs, *_ = env.step(x)
    # The recurrent state is kept between calls: the same observation twice gives different actions.
    a1.reset()
    first, second = a1.act(obs), a1.act(obs)
    assert not np.array_equal(first, second)
    # Batched use.
    a1.reset(num_envs=3)
    assert a1.act(np.stack([obs] * 3)).shape == (3, 4)


def test_corrupt_and_mismatched_checkpoints_raise_clear_errors(tiny, tmp_path):
    cfg = tiny(iterations=2, eval_every=1)
    start_run(cfg, progress=False, folder=tmp_path / "run")
    good = tmp_path / "run" / "last.pt"
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_agent(bad)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError):
        load_agent(truncated)
    payload = torch.load(good, weights_only=True)
    payload["schema_version"] = 99
    old = tmp_path / "future.pt"
    torch.save(payload, old)
    with pytest.raises(CheckpointError, match="schema version 99.*reads version 1"):
        load_agent(old)
    with pytest.raises(CheckpointError, match=r"expects observations .*obs='kin'.* env gives .*obs='rgb'"):
        load_agent(good, make_env("fly-to-target", obs="rgb"))
    trainer_policy = load_agent(good).policy
    wrong = tmp_path / "wrong.pt"
    save_checkpoint(wrong, trainer_policy, read_checkpoint(good)["env"])
    p = torch.load(wrong, weights_only=True)
    p["state_dict"] = {k: v[..., :1] for k, v in p["state_dict"].items()}
    torch.save(p, wrong)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_agent(wrong)


@pytest.mark.parametrize("field, value, match", [("task", "fly-to-mars", "valid tasks"),
                                                   ("arch", "transformer", "valid architectures"),
                                                   ("algo", "reinforce", "valid algorithms")])
def test_bad_training_requests_raise(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})


def test_rollout_cli_writes_a_video_and_reports_each_episode(tiny, tmp_path, capsys):
    cfg = tiny(iterations=2, eval_every=1)
    start_run(cfg, progress=False, folder=tmp_path / "run")
    video = tmp_path / "out.mp4"
    rc = cli_main(["rollout", "--agent", str(tmp_path / "run" / "last.pt"), "--episodes", "2", "--video", str(video)])
    assert rc == 0 and video.stat().st_size > 1000
    out = capsys.readouterr()
    assert re.search(r"episode 0\W+seed 0", out.err + out.out) and "success" in out.out
    import imageio.v3 as iio

    frame = iio.imread(video, index=0)
    assert frame.shape[1] > frame.shape[0]  # chase view beside the onboard view


def test_trainer_refuses_data_for_another_env(tiny, tmp_path):
    from ltc_drones.training import DatasetError

    cfg = tiny(task="hover")
    with pytest.raises(DatasetError, match="env_id"):
        Trainer(cfg, tmp_path, progress=False)


def test_runs_started_in_the_same_second_get_their_own_folders(tiny, tmp_path, monkeypatch):
    from ltc_drones.training import runner

    monkeypatch.setattr(runner, "run_folder_name", lambda cfg: "same-name")
    cfg = tiny(iterations=1, eval_every=1)
    a, b = start_run(cfg, progress=False), start_run(cfg, progress=False)
    assert a["run"] != b["run"] and {p.name for p in tmp_path.iterdir()} == {"same-name", "same-name-1"}
