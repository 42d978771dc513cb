"""Imitation on multi-agent tasks: one shared policy, one shard per agent, team experts, team success."""

import json

import numpy as np
import pytest

from ltc_drones.agents import Agent, CheckpointError, env_spec_of, load_agent
from ltc_drones.control import ConstantAction
from ltc_drones.control.team_expert import TeamExpert
from ltc_drones.envs import make_env
from ltc_drones.envs.multi.rollout import agent_view_env
from ltc_drones.envs.rollout import run_episode
from ltc_drones.models import Policy, PolicyConfig
from ltc_drones.seeding import dagger_seeds, demo_seeds
from ltc_drones.tasks import make_env as make_team_env
from ltc_drones.training import CollectSpec, DatasetError, DemoDataset, TrainConfig, collect_demonstrations, start_run
from ltc_drones.training.collect import labelled_episode
from ltc_drones.training.storage import completed_episodes, load_episode, read_manifest

TASK = "multi-fly-to-target"  # kin episodes of 2 drones last about 2 s: the cheapest multi-agent task
SPEC = CollectSpec(TASK, "kin", num_drones=2, base_seed=0)


@pytest.fixture(scope="module")
def team_demos(tmp_path_factory):
    """Eight expert team episodes of two drones (16 shards), kin observations."""
    folder = tmp_path_factory.mktemp("multi") / "demos"
    collect_demonstrations(SPEC, 8, folder, workers=1, progress=False)
    return folder


def tiny_config(demos, out, **kw) -> TrainConfig:
    base = dict(task=TASK, num_drones=2, obs="kin", data=(str(demos),), iterations=40, eval_every=10, batch=8,
                window=16, warmup=4, patience=100, out=str(out), core_config={"units": 8}, arch="ltc")
    return TrainConfig(**{**base, **kw})


class CountingTeamExpert(TeamExpert):
    calls = 0

    def act(self, obs=None, episode_start=None):
        self.calls += 1
        return super().act(obs, episode_start)


def test_collection_stores_one_expert_labelled_shard_per_agent_and_refills_a_lost_one_identically(team_demos, tmp_path):
    shards = {k: load_episode(p) for k, p in completed_episodes(team_demos).items()}
    assert sorted(shards) == list(range(16))
    m = read_manifest(team_demos)
    assert (m["task"], m["num_drones"], m["kin_dim"], m["obs"], m["image_hw"]) == (TASK, 2, 22, "kin", [48, 64])
    seeds = demo_seeds(0, 8)
    for k, ep in shards.items():
        assert (int(ep["agent"]), int(ep["seed"])) == (k % 2, seeds[k // 2])  # shard 2k + i: agent i of episode k
        assert ep["obs_kin"].shape == (len(ep["label"]), 22) and len(ep["reward"]) == len(ep["label"])
        assert np.array_equal(ep["executed"], ep["label"])  # the expert flew what it labelled
        assert bool(ep["team_success"]) == all(bool(shards[2 * (k // 2) + i]["success"]) for i in range(2))
    # Replaying team episode 1 with the team expert flies the stored labels and earns the stored rewards.
    env = make_team_env(TASK, num_drones=2, obs="kin")
    flown = [[], []]
    record = run_episode(env, TeamExpert(env), seeds[1], after_step=lambda actions, _rewards, infos: [
        flown[i].append(actions[i]) for i, info in enumerate(infos) if info is not None])
    for i in range(2):
        ep = shards[2 + i]
        assert np.allclose(np.array(flown[i]), ep["label"], atol=1e-6)
        assert ep["reward"].sum() == pytest.approx(record.agent_returns[i], abs=1e-3)
        assert bool(ep["success"]) == record.agent_success[i]
    # A lost shard (agent 1 of team episode 1) is flown again, identically; the other episodes are kept.
    small = tmp_path / "small"
    collect_demonstrations(SPEC, 3, small, workers=1, progress=False)
    before = {k: load_episode(p) for k, p in completed_episodes(small).items()}
    completed_episodes(small)[3].unlink()
    again = collect_demonstrations(SPEC, 3, small, workers=1, progress=False)
    assert (again.new_episodes, again.total_episodes, again.shards_per_episode) == (1, 3, 2)
    after = {k: load_episode(p) for k, p in completed_episodes(small).items()}
    assert sorted(after) == list(range(6))
    for k in after:
        assert after[k].keys() == before[k].keys()
        assert all(np.array_equal(after[k][n], before[k][n]) for n in after[k]), k
    with pytest.raises(DatasetError, match="num_drones: folder has 2, asked for 3"):
        collect_demonstrations(CollectSpec(TASK, "kin", num_drones=3), 1, small, progress=False)


def test_bad_num_drones_and_where_the_default_data_go():
    for n in (1, 9, 2.0, True):
        with pytest.raises(ValueError, match=r"--num-drones=.* is invalid: .* from 2 to 8"):
            TrainConfig(task="multi-follow", num_drones=n)
        with pytest.raises(ValueError, match="--num-drones"):
            CollectSpec("multi-follow", "kin", num_drones=n)
    assert "multi-follow__n3__rgb__" in TrainConfig(task="multi-follow", num_drones=3, obs="rgb").default_data_folder
    # Single-agent tasks ignore the team size: same data folder as before the option existed.
    assert TrainConfig(task="hover", num_drones=5).default_data_folder == TrainConfig(task="hover").default_data_folder
    with pytest.raises(ValueError, match="valid tasks: .*multi-follow"):
        TrainConfig(task="multi-folow")


def test_shared_policy_bc_loss_falls_and_its_checkpoint_flies_each_agent_with_its_own_state(team_demos, tmp_path):
    cfg = tiny_config(team_demos, tmp_path, iterations=40, eval_every=5, lr=1e-2)
    start_run(cfg, progress=False, folder=tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    val = [r["losses/val"] for r in rows if "losses/val" in r]
    assert len(val) == 8 and val[-1] < 0.5 * val[0]
    agent = load_agent(tmp_path / "run" / "best.pt")
    spec = agent.env_spec
    assert (spec["task"], spec["num_drones"], spec["obs"], spec["ctrl_hz"]) == (TASK, 2, "kin", 30)
    assert spec["observation_space"] == {"shape": [22], "dtype": "float32"}
    # Trained with teams of two, it flies a team of three (the policy is per agent).
    env = make_team_env(TASK, num_drones=3, obs="kin")
    agent.check_env(agent_view_env(env))
    agent = load_agent(tmp_path / "run" / "best.pt", env)
    batches, actions = [], []
    record = run_episode(env, agent, seed=5, before_act=lambda batch, live: batches.append((batch.copy(), live)),
                         after_step=lambda a, _rewards, _infos: actions.append(a.copy()))
    assert record.num_agents == 3 and batches[0][0].shape == (3, 22) and actions[0].shape == (3, 4)
    # One recurrent state per agent: each agent's actions are what a lone copy of the policy, fed only that
    # agent's observations, gives (so the batch mixes nothing between agents).
    for i in range(3):
        lone = load_agent(tmp_path / "run" / "best.pt")
        lone.reset(1)
        for t, (batch, live) in enumerate(batches):
            if live[i]:
                assert np.allclose(lone.act(batch[i], np.array([t == 0])), actions[t][i], atol=1e-5), (i, t)


def test_dagger_round_flies_the_shared_learner_and_stores_expert_labelled_shards_per_agent(team_demos, tmp_path):
    cfg = tiny_config(team_demos, tmp_path, algo="dagger", iterations=10, dagger_rounds=1, dagger_episodes=1,
                      dagger_beta=0.0, finetune_iterations=5, eval_episodes=1)
    summary = start_run(cfg, progress=False, folder=tmp_path / "run")
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    assert all(r["eval_success"] in (0.0, 1.0) for r in summary["rounds"])  # team success of one episode
    folder = tmp_path / "run" / "dagger" / "round_00"
    assert read_manifest(folder)["num_drones"] == 2 and len(DemoDataset(folder)) == 2
    env = make_team_env(TASK, num_drones=2, obs="kin")
    env.reset(seed=dagger_seeds(0, 0, 1)[0])
    expert = TeamExpert(env)
    expert.reset(2)
    first_labels = expert.act()
    for k, path in completed_episodes(folder).items():
        ep = load_episode(path)
        assert (int(ep["agent"]), int(ep["seed"])) == (k, dagger_seeds(0, 0, 1)[0])
        assert not np.allclose(ep["executed"], ep["label"])  # β = 0: the learner flew every step
        assert np.all(np.abs(ep["label"]) <= 1.0) and len(ep["label"]) == len(ep["obs_kin"])
        # The expert's label at the learner's first state is what the team expert does there.
        assert np.allclose(ep["label"][0], first_labels[k], atol=1e-6)


def test_team_mixing_draws_per_agent_and_takeover_is_per_agent():
    env = make_team_env(TASK, num_drones=2, obs="kin")
    spin = (0.0, 0.0, 0.0, 1.0)  # yaw at full rate: the target leaves the view again and again
    expert = CountingTeamExpert(env)
    beta, seed = 0.5, 11
    shards = labelled_episode(env, expert, seed, learner=ConstantAction(spin), beta=beta,
                          mix_rng=np.random.default_rng(seed))
    assert expert.calls == max(len(s["label"]) for s in shards)  # asked once per step for the whole team
    first = np.random.default_rng(seed).random(2) >= beta  # the first step's draw for each agent
    for i, s in enumerate(shards):
        assert np.allclose(s["executed"][0], spin if first[i] else s["label"][0])
        learner_flew = np.all(s["executed"] == np.float32(spin), axis=1)
        assert 0 < learner_flew.sum() < len(learner_flew)  # both flew this agent
    with pytest.raises(ValueError, match="pass mix_rng"):
        labelled_episode(env, TeamExpert(env), seed, learner=ConstantAction(spin), beta=0.5)
    # HG-DAgger takeover, agent by agent: the expert flies an agent that lost its target for 3 steps.
    shards = labelled_episode(env, TeamExpert(env), seed, learner=ConstantAction(spin), beta=0.0, takeover_steps=3)
    for s in shards:
        took_over = np.all(s["executed"] == s["label"], axis=1)
        assert 0 < took_over.sum() < len(took_over)
        assert np.all(s["executed"][~took_over] == np.float32(spin))


def test_agents_of_one_kind_of_task_are_refused_on_the_other():
    def agent_for(env, task):
        policy = Policy(PolicyConfig(obs_kind="rgb", image_hw=(48, 64), core="gru", core_config={"units": 4},
                                     feature_dim=8))
        return Agent(policy, env_spec_of(env, task, "nominal"), source=task)

    single_env = make_env("fly-to-target", obs="rgb")
    multi_env = make_team_env(TASK, num_drones=2, obs="rgb")
    single, multi = agent_for(single_env, "fly-to-target"), agent_for(multi_env, TASK)
    # The rgb observation spaces are identical, yet the tasks differ: refused both ways.
    assert single.env_spec["observation_space"] == multi.env_spec["observation_space"]
    with pytest.raises(CheckpointError, match="multi-agent task 'multi-fly-to-target'.*not the single-agent"):
        multi.check_env(single_env)
    for env in (multi_env, agent_view_env(multi_env)):
        with pytest.raises(CheckpointError, match="single-agent task 'fly-to-target'.*--task multi-fly-to-target"):
            single.check_env(env)
        multi.check_env(env)
    single.check_env(single_env)
    kin_env = make_team_env(TASK, num_drones=2, obs="kin")
    with pytest.raises(CheckpointError, match="expects observations"):
        multi.check_env(kin_env)


def test_validation_keeps_the_shards_of_a_team_episode_together(team_demos):
    ds = DemoDataset(team_demos)
    train, val = ds.split(0.25, np.random.default_rng(0))
    team_train, team_val = ({ds.episodes[i].index // 2 for i in ids} for ids in (train, val))
    assert len(val) == 4 and team_train.isdisjoint(team_val) and len(train) + len(val) == 16


def test_cli_collects_trains_and_resumes_a_multi_agent_run(tmp_path, capsys):
    from ltc_drones.cli import main

    demos, runs = tmp_path / "demos", tmp_path / "runs"
    assert main(["collect", "--task", TASK, "--num-drones", "2", "--obs", "kin", "--episodes", "2", "--workers", "1",
                 "--out", str(demos)]) == 0
    assert "2 new team episodes of 2 drones" in capsys.readouterr().out
    assert len(completed_episodes(demos)) == 4
    assert main(["collect", "--task", TASK, "--num-drones", "9", "--obs", "kin", "--out", str(tmp_path / "x")]) == 2
    assert "--num-drones" in capsys.readouterr().err and not (tmp_path / "x").exists()
    args = ["train", "--task", TASK, "--num-drones", "2", "--obs", "kin", "--arch", "gru", "--iterations", "2",
            "--eval-every", "1", "--batch", "2", "--window", "4", "--warmup", "0", "--val-fraction", "0.5",
            "--data", str(demos), "--out", str(runs)]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    (folder,) = runs.iterdir()
    assert folder.name.startswith(f"{TASK}-n2__gru__bc__0__") and summary["run"] == str(folder)
    assert main(["train", "--resume", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == summary["step"] == 2
    assert load_agent(folder / "last.pt").env_spec["num_drones"] == 2
