"""Exact resumption from any interruption, clean failures, seeded default data, DAgger takeover."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from ltc_drones.agents.checkpoint import read_checkpoint
from ltc_drones.control import SpinInPlace
from ltc_drones.envs import make_env
from ltc_drones.tasks import make_expert
from ltc_drones.training import DatasetError, TrainConfig, dagger, resume_run, start_run
from ltc_drones.training.collect import labelled_episode
from ltc_drones.training.runner import Trainer, ensure_demonstrations


class Interrupted(Exception):
    """Stands in for a kill (Ctrl-C, a lost machine) in the middle of a DAgger round."""


def metrics(folder):
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time/wall_s"} for r in rows]


def test_resume_inside_the_dagger_round_after_an_early_stop_matches_an_uninterrupted_run(
        tiny, tmp_path, monkeypatch):
    cfg = tiny(algo="dagger", iterations=400, eval_every=4, patience=1, lr=3e-2,
               dagger_rounds=1, dagger_episodes=2, dagger_beta=0.0, finetune_iterations=4, eval_episodes=1)
    full = start_run(cfg, progress=False, folder=tmp_path / "full")
    bc_rows = [r for r in metrics(tmp_path / "full") if r.get("phase") == "bc"]
    assert bc_rows[-1]["step"] < cfg.iterations  # behaviour cloning stopped early

    real_write = dagger.write_episode

    def write_then_die(folder, index, arrays):
        if index == 1:
            raise Interrupted
        return real_write(folder, index, arrays)

    monkeypatch.setattr(dagger, "write_episode", write_then_die)
    with pytest.raises(Interrupted):
        start_run(cfg, progress=False, folder=tmp_path / "split")
    state = read_checkpoint(tmp_path / "split" / "last.pt")["train"]["state"]
    assert state["phase"] == "collect" and state["round"] == 0  # the phase change after the early stop was saved
    monkeypatch.setattr(dagger, "write_episode", real_write)
    resumed = resume_run(tmp_path / "split", progress=False)

    assert metrics(tmp_path / "split") == metrics(tmp_path / "full")
    drop = {"run", "wall_time_s"}
    assert {k: v for k, v in resumed.items() if k not in drop} == {k: v for k, v in full.items() if k not in drop}
    for name in ("last.pt", "best.pt"):
        a, b = (read_checkpoint(tmp_path / run / name)["state_dict"] for run in ("full", "split"))
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_folder(tiny, tmp_path, monkeypatch):
    out = tmp_path / "runs"
    with pytest.raises(DatasetError):  # set-up fails: demonstrations of another task
        start_run(tiny(out=str(out), task="hover"), progress=False)
    assert list(out.iterdir()) == []

    def boom(self, *args):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(Trainer, "train_phase", boom)
    with pytest.raises(RuntimeError, match="out of memory"):
        start_run(tiny(out=str(out)), progress=False)
    assert list(out.iterdir()) == []
    given = tmp_path / "given"  # a folder the caller made keeps what it held, loses what the run wrote
    given.mkdir()
    (given / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError):
        start_run(tiny(out=str(out)), progress=False, folder=given)
    assert [p.name for p in given.iterdir()] == ["notes.txt"]


def test_a_run_that_fails_after_a_checkpoint_keeps_its_folder_to_resume(tiny, tmp_path, monkeypatch):
    cfg = tiny(algo="dagger", iterations=4, eval_every=2, dagger_rounds=1, dagger_episodes=1,
               finetune_iterations=2, eval_episodes=1)

    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Trainer, "dagger_round", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        start_run(cfg, progress=False, folder=tmp_path / "run")
    assert (tmp_path / "run" / "last.pt").is_file()
    monkeypatch.undo()
    assert resume_run(tmp_path / "run", progress=False)["step"] == 6


def test_default_data_folder_names_the_seed_and_a_foreign_folder_is_refused_naming_data(
        kin_demos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert TrainConfig(seed=3).default_data_folder != TrainConfig(seed=4).default_data_folder
    assert "seed3" in TrainConfig(seed=3).default_data_folder
    # kin_demos were collected with base seed 0: the folder of seed 5 must not take them.
    cfg5 = TrainConfig(task="fly-to-target", obs="kin", seed=5, demo_episodes=4)
    shutil.copytree(kin_demos, cfg5.default_data_folder)
    with pytest.raises(DatasetError, match="base_seed: folder has 0, asked for 5.*--data"):
        ensure_demonstrations(cfg5, progress=False)
    # Seed 0's folder holding 10 episodes: a run asking for 4 uses those 4 (the collection is complete).
    cfg0 = TrainConfig(task="fly-to-target", obs="kin", seed=0, demo_episodes=4, out=str(tmp_path / "runs"),
                       core_config={"units": 8}, arch="ltc")
    shutil.copytree(kin_demos, cfg0.default_data_folder)
    ensure_demonstrations(cfg0, progress=False)
    trainer = Trainer(cfg0, tmp_path / "runs", progress=False)
    assert len(trainer.dataset) == 4
    trainer.close()


class CountingExpert:
    def __init__(self, expert):
        self.expert, self.calls = expert, 0

    def reset(self, num_envs=1):
        self.expert.reset(num_envs)

    def act(self, obs=None, episode_start=None):
        self.calls += 1
        return self.expert.act(obs, episode_start)


def test_dagger_takeover_asks_the_expert_once_per_step_and_flies_its_label():
    env = make_env("fly-to-target", obs="kin", act="ctbr")  # a ctbr expert has integrator state
    expert = CountingExpert(make_expert(env))
    learner = SpinInPlace(env)  # loses the target, so the expert takes over again and again
    [ep] = labelled_episode(env, expert, seed=2, learner=learner, beta=0.0, takeover_steps=3)
    steps = len(ep["label"])
    assert expert.calls == steps
    took_over = np.all(ep["executed"] == ep["label"], axis=1)
    assert 0 < took_over.sum() < steps  # both flew
    # Replaying the learner alone on the same states gives its actions wherever the expert did not fly.
    spin = np.abs(ep["executed"][~took_over, 3])
    assert np.all(spin > 0.5)


def test_manifest_states_the_vector_size_of_the_observation():
    from ltc_drones.training import CollectSpec

    for obs in ("kin", "rgb", "rgb_kin"):
        space = make_env("fly-to-target", obs=obs).observation_space
        want = {"kin": space.shape[0] if obs == "kin" else 0, "rgb": 0,
                "rgb_kin": space["kin"].shape[0] if obs == "rgb_kin" else 0}[obs]
        assert CollectSpec("fly-to-target", obs).manifest()["kin_dim"] == want


def test_rows_logged_after_the_last_checkpoint_are_dropped_on_resume(tiny, tmp_path):
    cfg = tiny()
    start_run(cfg, progress=False, folder=tmp_path / "full")
    start_run(cfg, progress=False, folder=tmp_path / "split", stop_at_step=25)
    with open(tmp_path / "split" / "metrics.jsonl", "a") as f:  # a process killed between logging and saving
        f.write(json.dumps({"step": 30, "losses/val": 123.0}) + "\n")
    resume_run(tmp_path / "split", progress=False)
    assert metrics(tmp_path / "split") == metrics(tmp_path / "full")


def test_resuming_a_run_killed_before_its_first_checkpoint_starts_clean(tiny, tmp_path):
    cfg = tiny(iterations=10, eval_every=5)
    full = start_run(cfg, progress=False, folder=tmp_path / "full")
    killed = tmp_path / "killed"  # what a SIGKILL before the first checkpoint leaves: no cleanup ran
    killed.mkdir()
    (killed / "config.json").write_text(json.dumps(cfg.to_dict()))
    (killed / "metrics.jsonl").write_text(json.dumps({"step": 5, "losses/val": 9.0}) + "\n")
    assert resume_run(killed, progress=False)["step"] == full["step"]
    assert metrics(killed) == metrics(tmp_path / "full")


def test_extending_a_finished_dagger_run_matches_a_run_with_more_rounds(tiny, tmp_path):
    cfg = tiny(algo="dagger", iterations=4, eval_every=2, dagger_rounds=1, dagger_episodes=1,
               dagger_beta=0.0, finetune_iterations=2, eval_episodes=1)
    two = start_run(dataclasses.replace(cfg, dagger_rounds=2), progress=False, folder=tmp_path / "two")
    start_run(cfg, progress=False, folder=tmp_path / "one")
    with pytest.raises(ValueError, match="only be extended"):
        resume_run(tmp_path / "one", progress=False, dagger_rounds=0)
    extended = resume_run(tmp_path / "one", progress=False, dagger_rounds=2)

    assert json.loads((tmp_path / "one" / "config.json").read_text())["dagger_rounds"] == 2
    assert (tmp_path / "one" / "dagger" / "round_01").is_dir()
    assert extended["step"] == two["step"]
    # The finished run's closing evaluation stays in its log; beside it the weights are those of a 2-round run.
    assert [r["round"] for r in extended["rounds"]] == [0, 1, 1, 2]
    a, b = (read_checkpoint(tmp_path / run / "last.pt")["state_dict"] for run in ("one", "two"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_only_a_dagger_run_can_be_extended(tiny, tmp_path):
    start_run(tiny(algo="bc", iterations=2, eval_every=2), progress=False, folder=tmp_path / "bc")
    with pytest.raises(ValueError, match="extends a DAgger run"):
        resume_run(tmp_path / "bc", progress=False, dagger_rounds=3)
