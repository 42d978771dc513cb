"""PPO runs end to end (tiny budgets): train, save, reload and predict identically; fly the saved agent in
PyBullet; warm start from a behaviour-cloned agent; resume; --env-id; option refusals."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from rl_helpers import RECURRENT, SMALL
from stable_baselines3.common.vec_env import VecNormalize

from ltc_drones.agents import env_spec_of, load_agent, save_checkpoint
from ltc_drones.cli import main
from ltc_drones.envs import make_env
from ltc_drones.envs.rollout import run_episode
from ltc_drones.models import Policy, PolicyConfig
from ltc_drones.rl import PPOConfig, start_ppo_run
from ltc_drones.rl.checkpoint import load_sb3_policy, read_rl_checkpoint
from ltc_drones.rl.envs import make_gym_env
from ltc_drones.rl.runner import PPORun
from ltc_drones.training import TrainConfig

TINY = {"envs": 2, "n_steps": 16, "total_steps": 64, "minibatches": 2, "n_epochs": 1}


def configs(tmp_path: Path, arch: str = "cfc", **ppo) -> tuple[TrainConfig, PPOConfig]:
    train = TrainConfig(algo="ppo", task="hover", arch=arch, core_config={} if arch == "mlp" else SMALL,
                        feature_dim=16, eval_episodes=2, out=str(tmp_path))
    return train, PPOConfig(**{**TINY, **ppo})


def vecnormalize_obs(obs: np.ndarray, spec: dict) -> np.ndarray:
    """stable-baselines3's own VecNormalize formula with the statistics an agent saved."""
    stats = SimpleNamespace(mean=np.asarray(spec["keys"]["kin"]["mean"]), var=np.asarray(spec["keys"]["kin"]["var"]))
    fake = SimpleNamespace(epsilon=spec["epsilon"], clip_obs=spec["clip"])
    return VecNormalize._normalize_obs(fake, obs, stats).astype(np.float32)


def predict_sequence(policy, obs_seq: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Deterministic actions of an SB3 core policy over ``obs_seq`` [T, N, d] with ``starts`` [T, N]."""
    state, out = None, []
    for obs, start in zip(obs_seq, starts, strict=True):
        if policy.actor.core.state_size:
            action, state = policy.predict(obs, state, start, deterministic=True)
        else:
            action, _ = policy.predict(obs, deterministic=True)
        out.append(action)
    return np.stack(out)


@pytest.mark.parametrize("arch", (*RECURRENT, "mlp"))
def test_tiny_run_trains_saves_reloads_and_predicts_identically(tmp_path, arch):
    train, ppo = configs(tmp_path, arch)
    folder = tmp_path / "run"
    folder.mkdir()
    run = PPORun(train, ppo, folder, progress=False)
    try:
        before = {k: v.clone() for k, v in run.model.policy.actor.state_dict().items()}
        summary = run.train()
        model_policy, norm = run.model.policy, run.agent_env_spec()["obs_normalization"]
    finally:
        run.close()
    assert summary["steps"] >= ppo.total_steps and summary["final"]["episodes"] == 2
    assert any(not torch.equal(before[k], v) for k, v in model_policy.actor.state_dict().items())  # it trained
    rng = np.random.default_rng(0)
    raw = rng.normal(0.0, 1.0, (10, 3, 16)).astype(np.float32)
    starts = np.zeros((10, 3), dtype=bool)
    starts[0], starts[4, 1], starts[7, 0] = True, True, True
    expected = predict_sequence(model_policy, vecnormalize_obs(raw, norm), starts)
    reloaded = load_sb3_policy(folder / "last.pt")
    np.testing.assert_array_equal(predict_sequence(reloaded, vecnormalize_obs(raw, norm), starts), expected)
    agent = load_agent(folder / "last.pt")  # the same actor as an agent, normalising raw observations itself
    agent.reset(3)
    np.testing.assert_array_equal(np.stack([agent.act(o, s) for o, s in zip(raw, starts, strict=True)]), expected)


def test_agent_trained_on_the_vector_backend_flies_the_pybullet_env(tmp_path):
    train, ppo = configs(tmp_path)
    summary = start_ppo_run(train, ppo, progress=False)
    assert summary["backend"] == "vector"
    env = make_env("hover")
    try:
        agent = load_agent(summary["run"], env)  # refuses an env of another kind
        seen, flown = [], []
        record = run_episode(env, agent, seed=0, before_act=lambda batch, _live: seen.append(batch[0]),
                             after_step=lambda a, _rewards, _infos: flown.append(a[0]))
    finally:
        env.close()
    assert record.steps == len(flown) > 0 and (record.crashed or record.time_s >= 6.0 - 1e-9)
    # what it flew is the trained policy acting on VecNormalize-normalised observations
    policy = load_sb3_policy(Path(summary["run"]) / "best.pt")
    norm = agent.env_spec["obs_normalization"]
    starts = np.zeros((len(seen), 1), dtype=bool)
    starts[0] = True
    expected = predict_sequence(policy, vecnormalize_obs(np.stack(seen)[:, None], norm), starts)
    np.testing.assert_array_equal(np.stack(flown), expected[:, 0])


def bc_agent(tmp_path: Path) -> tuple[Path, Policy]:
    """A behaviour-cloning agent file (untrained weights: what matters is that they are copied)."""
    env = make_env("hover")
    spec = env_spec_of(env, "hover", "nominal")
    env.close()
    torch.manual_seed(5)
    policy = Policy(PolicyConfig(obs_kind="kin", obs_dim=16, core="cfc", core_config={"units": 6}, feature_dim=12))
    save_checkpoint(tmp_path / "bc.pt", policy, spec)
    return tmp_path / "bc.pt", policy


def test_init_from_copies_the_actor_of_a_behaviour_cloned_agent(tmp_path):
    path, bc = bc_agent(tmp_path)
    train, ppo = configs(tmp_path, init_from=str(path))
    train = TrainConfig(**{**train.to_dict(), "core_config": {}, "feature_dim": 32})
    folder = tmp_path / "run"
    folder.mkdir()
    run = PPORun(train, ppo, folder, progress=False)
    try:
        actor = run.model.policy.actor
        assert actor.config == bc.config  # the agent's architecture (units 6, 12 features), not the defaults
        for name, value in bc.state_dict().items():
            assert torch.equal(actor.state_dict()[name], value), name
        assert not run.venv.norm_obs  # it was cloned on raw observations
        run.train()
    finally:
        run.close()
    assert "obs_normalization" not in load_agent(folder).env_spec


def test_init_from_refuses_another_architecture_and_keeps_a_ppo_agents_statistics(tmp_path):
    path, _ = bc_agent(tmp_path)
    train, ppo = configs(tmp_path, "gru", init_from=str(path))
    with pytest.raises(ValueError, match="--arch gru"):
        PPORun(train, ppo, tmp_path, progress=False)
    first = start_ppo_run(*configs(tmp_path / "a"), progress=False)
    stats = load_agent(first["run"]).env_spec["obs_normalization"]
    second = start_ppo_run(*configs(tmp_path / "b", init_from=first["run"]), progress=False)
    assert load_agent(second["run"]).env_spec["obs_normalization"] == stats  # frozen while fine-tuning


def test_a_stopped_run_resumes_from_its_checkpoint_to_the_total(tmp_path, capsys):
    train, ppo = configs(tmp_path, total_steps=256, eval_every_steps=64)
    stopped = start_ppo_run(train, ppo, progress=False, stop_at_step=100)
    folder = Path(stopped["run"])
    rollout = ppo.envs * ppo.n_steps
    assert stopped["stopped"] and stopped["steps"] == 96  # the last update before step 100 (rollouts of 32)
    payload = read_rl_checkpoint(folder / "last.pt")
    assert payload["train"]["state"]["timesteps"] == 96
    assert main(["train", "--resume", str(folder)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert not summary["stopped"] and summary["steps"] == 256
    final = read_rl_checkpoint(folder / "last.pt")
    assert final["train"]["state"]["segment"] == 1
    # Adam's step count went on from the checkpoint's: 2 minibatches per rollout of 32 steps, 8 rollouts
    steps = {int(s["step"]) for s in final["optimizer"]["state"].values()}
    assert steps == {2 * 256 // rollout}
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [64, 128, 192, 256]  # rows after the checkpoint were not duplicated
    assert list((folder / "tb").iterdir())


def test_cli_trains_a_gymnasium_env_by_id(tmp_path, capsys):
    code = main(["train", "--algo", "ppo", "--arch", "gru", "--core-config", '{"units": 8}', "--env-id",
                 "Pendulum-v1", "--envs", "1", "--total-steps", "128", "--n-steps", "64", "--eval-episodes", "2",
                 "--out", str(tmp_path)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["env"] == "Pendulum-v1" and summary["backend"] == "gym" and summary["steps"] == 128
    final = summary["final"]
    assert final["episodes"] == 2 and final["success_rate"] is None
    assert -16.3 * 200 < final["mean_return"] < 0  # Pendulum's reward per step is in [-16.27, 0]
    folder = Path(summary["run"])
    assert json.loads((folder / "ppo.json").read_text())["env_id"] == "Pendulum-v1"
    agent = load_agent(folder)
    env = make_gym_env("Pendulum-v1")  # actions rescaled to [-1, 1], as in training
    obs, _ = env.reset(seed=0)
    agent.reset(1)
    for k in range(5):
        action = agent.act(obs, np.array([k == 0]))
        assert action.shape == (1,) and np.all(np.abs(action) <= 1.0)
        obs, *_ = env.step(action)
    env.close()


@pytest.mark.parametrize(("argv", "message"), [
    (["--algo", "ppo", "--lr", "0.01"], "--lr: imitation options"),
    (["--envs", "4"], "apply to --algo ppo only"),
    (["--algo", "ppo", "--obs", "rgb", "--backend", "vector"], "no camera"),
    (["--algo", "ppo", "--task", "multi-follow"], "single-agent tasks"),
    (["--algo", "ppo", "--env-id", "Pendulum-v1", "--backend", "pybullet"], "leave --backend at auto"),
    (["--algo", "ppo", "--env-id", "Pendulum-v1", "--task", "hover"], "--task: drone-task options"),
    (["--algo", "ppo", "--init-from", "no/such/agent"], "--init-from no/such/agent"),
    (["--algo", "ppo", "--backend", "pybullet", "--envs", "500"], "at most 64"),
])
def test_cli_refuses_bad_ppo_options_before_training(tmp_path, capsys, argv, message):
    assert main(["train", *argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
