"""A trained agent: a policy with its env spec, keeping its own recurrent state between steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..models import Policy
from ..tasks import agent_observation_space, is_team_env, task_spec, team_size
from .checkpoint import CheckpointError
from .normalizer import ObservationNormalizer


def observation_spec(space) -> dict[str, Any]:
    """A JSON description of an observation space, to compare checkpoints with envs."""
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        return {k: observation_spec(v) for k, v in sorted(space.spaces.items())}
    return {"shape": list(space.shape), "dtype": str(space.dtype)}


def env_spec_of(env, task: str, scenario: str) -> dict[str, Any]:
    """What a checkpoint records of the env it was trained in; for a multi-agent env, one agent's observation
    space and ``num_drones`` (the policy flies each agent; it may fly teams of another size)."""
    base = env.unwrapped
    spec = {"task": task, "env_id": task_spec(task).env_id if is_team_env(env) else (env.spec.id if env.spec else None),
            "obs": base.obs_mode, "act": base.act_mode, "scenario": scenario, "ctrl_hz": base.clock.ctrl_hz,
            "physics_hz": base.clock.physics_hz, "observation_space": observation_spec(agent_observation_space(env))}
    if is_team_env(env):
        spec["num_drones"] = team_size(env)
    return spec


def _multi_owner(env):
    """The multi-agent env behind ``env`` (itself, or the env of an ``agent_view_env`` handle), else None."""
    if is_team_env(env):
        return env
    owner = getattr(getattr(env, "unwrapped", None), "env", None)
    return owner if is_team_env(owner) else None


class Agent:
    """A trained policy that acts in closed loop (a :class:`~ltc_drones.control.protocol.Controller`).

    ``reset(num_envs)`` once, then ``act(obs, episode_start)`` every control step: one observation
    gives one action ``(4,)``; a batch of ``num_envs`` observations (a Gymnasium vector env) gives
    ``(num_envs, 4)``. The recurrent state is kept between calls; ``episode_start`` (one bool per env)
    clears it for the envs whose episode begins with this observation. An agent trained on a
    multi-agent task flies every agent of a team as such a batch (``reset(num_drones)``; see
    :func:`ltc_drones.envs.rollout.run_episode`), each with its own recurrent state.

    Args:
        policy: the network.
        env_spec: the env it was trained for (task, obs/act modes, control rate, observation space).
        source: where it was loaded from (for error messages).
    """

    def __init__(self, policy: Policy, env_spec: dict[str, Any], source: str = "") -> None:
        self.policy = policy.eval()
        self.env_spec = env_spec
        self.source = source
        self.dt_s = 1.0 / env_spec["ctrl_hz"]
        self.normalizer = ObservationNormalizer.from_spec(env_spec.get("obs_normalization"))
        self.reset()

    @property
    def obs_mode(self) -> str:
        return self.env_spec["obs"]

    def reset(self, num_envs: int = 1) -> None:
        """Zero the recurrent state for ``num_envs`` parallel episodes."""
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = num_envs
        self.state = self.policy.initial_state(num_envs)

    def check_env(self, env) -> None:
        """Raise :class:`CheckpointError` if ``env`` is not the kind of env this agent was trained for.

        ``env`` is a single-agent env, a multi-agent env, or one agent's handle on a multi-agent env
        (:func:`ltc_drones.envs.multi.rollout.agent_view_env`). An agent trained on a multi-agent task
        is refused on a single-agent env and vice versa, even where the observation spaces agree (``rgb``):
        the tasks differ. Agents of a multi-agent task fly teams of any size (the policy is per agent).
        """
        owner = _multi_owner(env)
        task = self.env_spec.get("task")
        team = task_spec(task).team
        if team and owner is None:
            raise CheckpointError(
                f"agent {self.source} was trained on the multi-agent task {task!r} (one policy flying each of "
                f"{self.env_spec.get('num_drones')} drones) and flies multi-agent envs only, not the single-agent "
                f"{type(env.unwrapped).__name__}; fly it in ltc_drones.tasks.make_env({task!r}, num_drones=N)"
            )
        if owner is not None and not team:
            raise CheckpointError(
                f"agent {self.source} was trained on the single-agent task {task!r} and does not fly the "
                f"multi-agent {owner.TASK!r} env; train one there with ltc-drones train --task {owner.TASK}"
            )
        base = env.unwrapped if owner is None else owner
        have = observation_spec(agent_observation_space(env if owner is None else owner))
        want = self.env_spec["observation_space"]
        if have != want:
            raise CheckpointError(
                f"agent {self.source} expects observations {want} (obs={self.obs_mode!r}) but the env gives {have} "
                f"(obs={base.obs_mode!r})"
            )
        if base.act_mode != self.env_spec["act"]:
            raise CheckpointError(
                f"agent {self.source} acts in mode {self.env_spec['act']!r}, env uses {base.act_mode!r}"
            )
        if base.clock.ctrl_hz != self.env_spec["ctrl_hz"]:
            raise CheckpointError(
                f"agent {self.source} was trained at {self.env_spec['ctrl_hz']} Hz, env runs at {base.clock.ctrl_hz} Hz"
            )

    def act(self, obs, episode_start=None) -> np.ndarray:
        """Action(s) for ``obs``: one observation -> ``(4,)``, a batch of ``num_envs`` -> ``(num_envs, 4)``.

        Args:
            obs: one observation, or a batch of ``num_envs`` (arrays, or a dict of arrays for ``rgb_kin``).
            episode_start: None, or one bool per env: True clears that env's recurrent state first.
        """
        if self.normalizer is not None:  # a PPO agent's saved observation normalisation (VecNormalize)
            obs = self.normalizer(obs)
        single = self._is_single(obs)
        batched = _add_batch(obs) if single else obs
        n = 1 if single else len(np.asarray(obs["kin"] if isinstance(obs, dict) else obs))
        if n != self.num_envs:
            raise ValueError(f"agent {self.source} was reset for {self.num_envs} env(s) but got {n} observation(s); "
                             f"call reset(num_envs={n}) first")
        starts = None
        if episode_start is not None:
            starts = np.asarray(episode_start, dtype=bool).reshape(-1)
            if starts.shape != (n,):
                raise ValueError(f"episode_start must hold one bool per env ({n}), got shape {np.shape(episode_start)}")
        action, self.state = self.policy.act(batched, self.state, episode_start=starts, dt=self.dt_s)
        out = action.numpy().astype(np.float32)
        return out[0] if single else out

    def _is_single(self, obs) -> bool:
        kin_ndim = 1
        if isinstance(obs, dict):
            return np.asarray(obs["kin"]).ndim == kin_ndim
        arr = np.asarray(obs)
        return arr.ndim == (3 if self.obs_mode == "rgb" else kin_ndim)


def _add_batch(obs):
    if isinstance(obs, dict):
        return {k: torch.as_tensor(np.asarray(v)[None]) for k, v in obs.items()}
    return torch.as_tensor(np.asarray(obs)[None])
