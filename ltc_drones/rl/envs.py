"""Training envs for stable-baselines3: the vector backend, PyBullet worker processes, any Gymnasium id.

Every training env is an SB3 ``VecEnv`` wrapped as ``VecNormalize(VecMonitor(envs))``: the monitor
records raw episode returns and lengths, the normaliser scales observations (its statistics ship with
the agent, see :func:`normalization_spec`) and rewards (training only).

SB3 resets a finished env within the step that ended it and returns the final observation in
``info["terminal_observation"]`` (with ``info["TimeLimit.truncated"]`` for time limits, whose value
PPO bootstraps); Gymnasium 1.x vector envs such as ``ltc_drones.tasks.make_env(task, backend="vector")`` reset it
on the *next* step instead. :class:`VectorEnvAdapter` converts one into the other.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecMonitor, VecNormalize


class VectorEnvAdapter(VecEnv):
    """A Gymnasium ``VectorEnv`` with next-step autoreset (the vector backend) as an SB3 ``VecEnv``.

    When an env ends, it is reset at once (``reset(options={"reset_mask": ...})``, drawing the next
    episode from that env's own generator), its final observation goes to ``info["terminal_observation"]``
    and ``info`` carries ``is_success`` and ``TimeLimit.truncated``. ``seed(s)`` sets the seed of the next
    full ``reset`` (the vector env spawns one generator per env from it).
    """

    def __init__(self, venv: gym.vector.VectorEnv) -> None:
        mode = venv.metadata.get("autoreset_mode")
        if mode != AutoresetMode.NEXT_STEP:
            raise ValueError(f"VectorEnvAdapter needs a next-step autoreset vector env, got autoreset_mode={mode!r}")
        self.venv = venv  # before VecEnv.__init__, which reads render_mode through get_attr
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None

    def seed(self, seed: int | None = None) -> list[int | None]:
        self._seed = seed
        return [seed] * self.num_envs

    def reset(self) -> np.ndarray:
        obs, _ = self.venv.reset(seed=self._seed)
        self._seed = None
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, reward, terminated, truncated, info = self.venv.step(self._actions)
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            success = info.get("is_success", np.zeros(self.num_envs, dtype=bool))
            obs = obs.copy()
            ended = np.flatnonzero(done)
            for i in ended:
                infos[i] = {"terminal_observation": obs[i].copy(), "is_success": bool(success[i]),
                            "TimeLimit.truncated": bool(truncated[i] and not terminated[i])}
            fresh, _ = self.venv.reset(options={"reset_mask": done})
            obs[ended] = fresh[ended]
        return obs, np.asarray(reward, dtype=np.float32), done, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.venv, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * len(list(self._get_indices(indices)))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))


def make_gym_env(env_id: str) -> gym.Env:
    """``gymnasium.make(env_id)`` with its Box actions rescaled to [-1, 1] (what the core policies output).

    Raises:
        ValueError: the env's actions are not a bounded 1-D Box or its observations not a 1-D Box.
    """
    env = gym.make(env_id)
    act, obs = env.action_space, env.observation_space
    if not isinstance(act, spaces.Box) or len(act.shape) != 1 or not np.all(np.isfinite(act.low)) \
            or not np.all(np.isfinite(act.high)):
        env.close()
        raise ValueError(f"--env-id {env_id}: the policies here output bounded continuous actions, but its action "
                         f"space is {act}; choose an env with a bounded Box action space (e.g. Pendulum-v1)")
    if not isinstance(obs, spaces.Box) or len(obs.shape) != 1:
        env.close()
        raise ValueError(f"--env-id {env_id}: observations must be a 1-D Box (a state vector), got {obs}")
    if np.any(act.low != -1.0) or np.any(act.high != 1.0):
        ones = np.ones(act.shape, dtype=act.dtype)
        env = gym.wrappers.RescaleAction(env, -ones, ones)
    return env


def gym_env_dt_s(env: gym.Env) -> float:
    """Seconds per step of a Gymnasium env: its ``dt`` attribute, else ``1 / metadata["render_fps"]``, else 1."""
    base = env.unwrapped
    dt = getattr(base, "dt", None)
    if isinstance(dt, int | float) and dt > 0:
        return float(dt)
    fps = base.metadata.get("render_fps")
    return 1.0 / float(fps) if isinstance(fps, int | float) and fps > 0 else 1.0


def make_vec_env(backend: str, n_envs: int, *, task: str = "", obs: str = "kin", act: str = "vel",
                 scenario: str = "nominal", env_id: str | None = None, seed: int | None = None) -> VecEnv:
    """``n_envs`` envs as an SB3 ``VecEnv`` (not yet normalised or monitored).

    Args:
        backend: ``vector`` (batched drones), ``pybullet`` (one process per env; in-process for one)
            or ``gym`` (``env_id`` through :func:`make_gym_env`).
        seed: the vector env's seed, or the first reset seed of env 0 (env i gets ``seed + i``).
    """
    if backend == "vector":
        from ..tasks import make_env

        venv: VecEnv = VectorEnvAdapter(make_env(task, backend="vector", num_envs=n_envs, obs=obs, act=act,
                                                 scenario=scenario))
    else:
        if backend == "gym":
            assert env_id is not None
            fn = partial(make_gym_env, env_id)
        elif backend == "pybullet":
            from ..envs import make_env

            fn = partial(make_env, task, obs=obs, act=act, scenario=scenario)
        else:
            raise ValueError(f"unknown backend {backend!r}; valid: vector, pybullet, gym")
        fns = [fn] * n_envs
        venv = DummyVecEnv(fns) if n_envs == 1 else SubprocVecEnv(fns)
    venv.seed(seed)
    return venv


class FrozenRunningMeanStd(RunningMeanStd):
    """Running statistics that no longer update (observation statistics of a warm-started agent)."""

    def update(self, arr: np.ndarray) -> None:
        return None


def normalize(venv: VecEnv, *, norm_obs: bool, norm_reward: bool, gamma: float, obs_mode: str) -> VecNormalize:
    """``VecNormalize(VecMonitor(venv))``: observation vectors (never images) and rewards."""
    monitored = VecMonitor(venv)
    keys = ["kin"] if obs_mode == "rgb_kin" else None
    return VecNormalize(monitored, norm_obs=norm_obs and obs_mode != "rgb", norm_reward=norm_reward, gamma=gamma,
                        norm_obs_keys=keys)


def _obs_stats(vn: VecNormalize) -> dict[str, RunningMeanStd]:
    return dict(vn.obs_rms) if isinstance(vn.obs_rms, dict) else {"kin": vn.obs_rms}


def normalization_spec(vn: VecNormalize) -> dict[str, Any] | None:
    """The observation normalisation as JSON for the agent (``None`` if observations are not normalised).

    ``{"keys": {"kin": {"mean": [...], "var": [...], "count": n}}, "epsilon": e, "clip": c}``: an agent
    maps its state vector ``x`` (the ``kin`` observation, or the ``kin`` entry of a dict) to
    ``clip((x - mean) / sqrt(var + epsilon), -clip, clip)`` as float32, exactly as ``VecNormalize`` does.
    """
    if not vn.norm_obs:
        return None
    keys = {k: {"mean": rms.mean.tolist(), "var": rms.var.tolist(), "count": float(rms.count)}
            for k, rms in _obs_stats(vn).items()}
    return {"keys": keys, "epsilon": float(vn.epsilon), "clip": float(vn.clip_obs)}


def set_observation_stats(vn: VecNormalize, spec: dict[str, Any] | None, frozen: bool) -> None:
    """Load observation statistics written by :func:`normalization_spec` (``frozen``: never update them)."""
    if spec is None:
        vn.norm_obs = False
        return
    vn.clip_obs, vn.epsilon = spec["clip"], spec["epsilon"]
    stats = {}
    for key, s in spec["keys"].items():
        rms = FrozenRunningMeanStd(shape=np.shape(s["mean"])) if frozen else RunningMeanStd(shape=np.shape(s["mean"]))
        rms.mean, rms.var, rms.count = np.asarray(s["mean"], float), np.asarray(s["var"], float), s["count"]
        stats[key] = rms
    vn.obs_rms = stats if isinstance(vn.observation_space, spaces.Dict) else stats["kin"]
    if isinstance(vn.observation_space, spaces.Dict):
        vn.norm_obs_keys = list(stats)
    vn.norm_obs = True


def reward_stats(vn: VecNormalize) -> dict[str, float]:
    """The return statistics of reward scaling (JSON)."""
    return {"mean": float(vn.ret_rms.mean), "var": float(vn.ret_rms.var), "count": float(vn.ret_rms.count)}


def set_reward_stats(vn: VecNormalize, stats: dict[str, float]) -> None:
    vn.ret_rms.mean, vn.ret_rms.var, vn.ret_rms.count = (np.float64(stats["mean"]), np.float64(stats["var"]),
                                                          stats["count"])
