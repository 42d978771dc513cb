"""One saliency frame per architecture, side by side, on the same onboard images.

Usage:
    python scripts/saliency_gallery.py --out results/saliency_gallery.png \
        --agents agents/fly-to-target__ltc-ncp__rgb,agents/fly-to-target__cfc-ncp__rgb,agents/fly-to-target__lstm__rgb \
        --scenarios nominal,target-color@5 --seed 20000 --step 20

The privileged expert flies the episode (test seed ``--seed``) so that every agent sees exactly the same
images: each agent's recurrent state is warmed up on the first ``--step`` observations, then its
VisualBackProp and gradient-saliency maps of step ``--step`` are drawn over the image (rows: architectures;
columns: per scenario the image, VisualBackProp, saliency). VisualBackProp fails the randomisation sanity
check for these agents (see the benchmark's diagnostics cells), so its maps show what the conv filters
respond to, not what drives the action.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ltc_drones.agents import load_agent
from ltc_drones.diagnostics.plots import overlay
from ltc_drones.diagnostics.saliency import saliency_map
from ltc_drones.envs import make_env
from ltc_drones.envs.rollout import run_episode
from ltc_drones.plotting import pyplot, save_figure
from ltc_drones.seeding import TEST_SEED_START
from ltc_drones.tasks import make_expert


def expert_images(task: str, scenario: str, seed: int, steps: int) -> list[np.ndarray]:
    """The onboard images of the first ``steps + 1`` steps of an expert-flown episode (fewer if it ends sooner)."""
    env = make_env(task, obs="rgb", scenario=scenario)
    images: list[np.ndarray] = []
    run_episode(env, make_expert(env), seed, before_act=lambda batch, _live: images.append(batch[0]),
                max_steps=steps + 1)
    env.close()
    return images


def maps(agent, images: list[np.ndarray]) -> dict[str, np.ndarray]:
    """VisualBackProp and saliency of the last image, the state warmed up on the ones before."""
    agent.reset(1)
    for img in images[:-1]:
        agent.act(img)
    state = agent.state.clone()
    obs = images[-1][None]
    return {m: saliency_map(agent.policy, obs, state, dt=agent.dt_s, method=m)[0]
            for m in ("visual_backprop", "saliency")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", required=True)
    parser.add_argument("--scenarios", default="nominal,target-color@5")
    parser.add_argument("--seed", type=int, default=TEST_SEED_START)
    parser.add_argument("--step", type=int, default=20)
    parser.add_argument("--out", default="results/saliency_gallery.png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    agents = [load_agent(p) for p in args.agents.split(",")]
    scenarios = args.scenarios.split(",")
    task = agents[0].env_spec["task"]
    images = {s: expert_images(task, s, args.seed, args.step) for s in scenarios}
    plt = pyplot()
    cols = 3 * len(scenarios)
    fig, axes = plt.subplots(len(agents), cols, figsize=(2.1 * cols, 1.75 * len(agents) + 0.4), squeeze=False)
    for i, agent in enumerate(agents):
        for j, s in enumerate(scenarios):
            m = maps(agent, images[s])
            img = images[s][-1]
            panels = [(img, s), (overlay(img, m["visual_backprop"]), "VisualBackProp*"),
                      (overlay(img, m["saliency"]), "saliency")]
            for k, (picture, title) in enumerate(panels):
                ax = axes[i, 3 * j + k]
                ax.imshow(picture, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(title, fontsize=8)
            axes[i, 0].set_ylabel(agent.policy.config.core, fontsize=9)
    fig.suptitle(f"{task}, test seed {args.seed}, step {args.step} (expert-flown images; *fails the "
                 "randomisation sanity check)", fontsize=8)
    fig.tight_layout()
    save_figure(fig, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
