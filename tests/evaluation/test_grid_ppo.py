"""PPO rows of the benchmark: a ``train: {algo: ppo}`` grid is validated like an imitation one, has no data
cells, and its training cell runs our PPO runner and leaves an agent that the evaluation cells fly."""

import json

import pytest
import torch

from ltc_drones.benchmark.grid import GridError, grid_from_dict

torch.set_num_threads(1)

PPO_GRID = {
    "name": "tiny-ppo", "task": "fly-to-target", "obs": "kin", "archs": ["cfc", "lstm"], "seeds": [0, 1],
    "train": {"algo": "ppo", "envs": 8, "n_steps": 32, "minibatches": 2, "n_epochs": 1, "total_steps": 512,
              "eval_every_steps": 256, "eval_episodes": 4, "core_config": {"units": 8}},
    "episodes": 2, "shifts": ["wind-gusts"], "levels": [5],
}


def test_a_ppo_grid_has_no_data_cells_and_trains_without_dependencies():
    grid = grid_from_dict(PPO_GRID)
    cells = {c.id: c for c in grid.cells()}
    assert grid.rl
    assert not [c for c in cells.values() if c.kind == "data"]
    assert sorted(c for c in cells if c.startswith("train__")) == [
        "train__cfc__seed0", "train__cfc__seed1", "train__lstm__seed0", "train__lstm__seed1"]
    assert cells["train__cfc__seed1"].needs == ()
    assert cells["eval__lstm__seed1__wind-gusts"].needs == ("train__lstm__seed1",)


@pytest.mark.parametrize(("change", "message"), [
    ({"train": {"algo": "ppo", "iterations": 100}}, r"\['iterations'\] are not PPO settings.*total_steps"),
    ({"train": {"algo": "ppo", "totl_steps": 100}}, r"\['totl_steps'\] are not PPO settings"),
    ({"train": {"algo": "ppo", "env_id": "Pendulum-v1"}}, r"\['env_id'\] are not PPO settings"),
    ({"demo_episodes": 10}, "PPO trains without demonstrations"),
    ({"train": {"algo": "ppo", "total_steps": 0}}, "total_steps=0 is invalid"),
    ({"obs": "rgb", "train": {"algo": "ppo", "backend": "vector"}}, "--obs rgb needs --backend pybullet"),
    ({"train": {"algo": "ppo", "arch": "gru"}}, "train may not set"),
])
def test_bad_ppo_train_blocks_are_refused_naming_the_key(change, message):
    with pytest.raises(GridError, match=message):
        grid_from_dict({**PPO_GRID, **change})


def test_a_ppo_grid_cell_trains_an_agent_that_the_eval_cell_flies(tmp_path):
    pytest.importorskip("sb3_contrib")
    from ltc_drones import load_agent
    from ltc_drones.benchmark.cells import run_cell

    grid = grid_from_dict({**PPO_GRID, "archs": ["cfc"], "seeds": [0]})
    cells = {c.id: c for c in grid.cells()}
    results, work = tmp_path / "results", tmp_path / "work"
    record = run_cell(grid.to_dict(), cells["train__cfc__seed0"], str(results), str(work))
    assert record == json.loads((results / "cells" / "train__cfc__seed0.json").read_text())
    assert record["algo"] == "ppo" and record["arch"] == "cfc" and record["steps"] >= 512
    assert [e["step"] for e in record["selection"]] == [256, 512]
    assert record["best_step"] in (256, 512) and 0.0 <= record["best_success"] <= 1.0
    agent = load_agent(work / record["agent"])
    assert agent.policy.config.core == "cfc" and agent.env_spec["obs"] == "kin"
    assert "obs_normalization" in agent.env_spec  # the PPO agent carries its observation statistics
    assert record["parameters"] == sum(p.numel() for p in agent.policy.parameters() if p.requires_grad)
    # a finished run is not trained again: the cell's record comes out the same
    assert run_cell(grid.to_dict(), cells["train__cfc__seed0"], str(results), str(work)) == record
    ev = run_cell(grid.to_dict(), cells["eval__cfc__seed0__nominal"], str(results), str(work))
    flown = ev["scenarios"]["nominal"]
    assert len(flown["success"]) == 2 and flown["seeds"] == sorted(set(flown["seeds"]))
