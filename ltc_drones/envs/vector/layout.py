"""Episode layouts of the vector env: start poses, targets, hold points, markers, target paths, gusts.

The same distributions as the PyBullet tasks (``_start_state``, ``_point_in_view`` and each task's
``_task_reset`` in :mod:`ltc_drones.envs`), drawn differently: each env index owns one
``np.random.Generator``, and a new episode takes one block of uniforms and one block of standard
normals from it (a fixed number per task and scenario, so an episode never depends on how the
previous one was flown), then everything is computed for all resetting envs at once. Where the
PyBullet env redraws a target until the camera sees it (up to 100 tries), this draws
:data:`VIEW_CANDIDATES` candidates and keeps the first one in view. The noise that drives
FollowTarget's turn rate and the wind gusts is drawn for the whole episode at reset.
So a seed gives the same kind of worlds as the PyBullet env, not the same worlds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...sim.explicit import quat_to_rot, rotate, rotate_back, yaw_of, yaw_quat
from ..camera import CameraConfig
from ..scenario import Scenario

VIEW_CANDIDATES = 16
"""Candidate points drawn per target; the first the camera sees is kept (the last one if none is seen)."""
PATH_HEADING_JITTER_RAD = 0.5
PATH_Z_OMEGA_RADPS = (0.15, 0.4)
"""FollowTarget's path: heading offset from straight away (±), height oscillation rate (as ``paths.SmoothPath``)."""


class ViewCone:
    """Visibility test of the onboard camera, batched (as :meth:`envs.camera.OnboardCamera.sees`)."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        p = math.radians(config.pitch_deg)
        fwd, up = np.array([math.cos(p), 0.0, -math.sin(p)]), np.array([math.sin(p), 0.0, math.cos(p)])
        self._fwd, self._up, self._left = fwd[:, None], up[:, None], np.cross(up, fwd)[:, None]
        self._offset = np.asarray(config.offset_body_m, dtype=float)[:, None]
        self._tan_h = math.tan(math.radians(config.hfov_deg) / 2)
        self._tan_v = math.tan(math.radians(config.vfov_deg) / 2)

    def sees(self, pos_m: np.ndarray, R: np.ndarray, point_m: np.ndarray) -> np.ndarray:
        """Whether each point (3, B) is in the image of the camera on drones at ``pos_m`` (3, B), ``R`` (3, 3, B)."""
        eye = pos_m + rotate(R, np.broadcast_to(self._offset, pos_m.shape))
        d = rotate_back(R, point_m - eye)
        depth = (d * self._fwd).sum(axis=0)
        ahead = depth > max(self.config.near_m, 1e-6)
        safe = np.where(ahead, depth, 1.0)
        u = -(d * self._left).sum(axis=0) / (safe * self._tan_h)
        v = (d * self._up).sum(axis=0) / (safe * self._tan_v)
        return ahead & (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)


@dataclass
class Layout:
    """What B new episodes start from (arrays component first; B = number of resetting envs).

    Attributes:
        pos_m: drone start positions (3, B); the drones start at rest, level.
        yaw_rad: start headings (B,).
        goals_m: the goal points (K, 3, B): Hover's hold point or FlyToTarget's / FollowTarget's
            target (K = 1), Hiking's markers in order (K = ``num_markers``).
        path: FollowTarget's path parameters (name → (B,) array), else empty.
        turn_noise: FollowTarget's turn-rate noise, standard normals (B, T), else ``None``.
        gust_mps: initial wind gusts (3, B).
        gust_noise: standard normals (B, T, 3) driving the gusts, ``None`` without gusts.
        weak_rotor: the weak rotor of each episode (B,), 0 without motor weakness.
    """

    pos_m: np.ndarray
    yaw_rad: np.ndarray
    goals_m: np.ndarray
    path: dict[str, np.ndarray]
    turn_noise: np.ndarray | None
    gust_mps: np.ndarray
    gust_noise: np.ndarray | None
    weak_rotor: np.ndarray


class LayoutSampler:
    """Draws the layouts of new episodes of one task, one generator per env.

    Args:
        task: task key (``"hover"``, ``"fly-to-target"``, ``"follow-target"``, ``"hiking"``).
        scenario: the task's settings.
        camera: the onboard camera, for the "target in view" rules.
        episode_steps: control steps in an episode (the length of the pre-drawn noise).
    """

    def __init__(self, task: str, scenario: Scenario, camera: CameraConfig, episode_steps: int) -> None:
        self.task, self.scenario, self.view = task, scenario, ViewCone(camera)
        self.steps = episode_steps
        self.num_goals = scenario.num_markers if task == "hiking" else 1
        points = 0 if task == "hover" else self.num_goals
        # Uniforms: start (4), hold distance (1), 3 per candidate point, the path (3), the weak rotor (1).
        self._nu = 4 + 1 + 3 * VIEW_CANDIDATES * points + 3 + 1
        self._gusts = scenario.wind_gust_std_mps > 0
        # Normals: hold direction (3), turn noise (T), initial gust (3) and gust noise (3 T).
        self._nz = 3 + (episode_steps if task == "follow-target" else 0) + (3 + 3 * episode_steps) * self._gusts

    def draw(self, rngs: list[np.random.Generator]) -> Layout:
        """Layouts of new episodes, one per generator (each draws a fixed number of values)."""
        u = np.stack([rng.random(self._nu) for rng in rngs]).T  # (nu, B)
        z = np.stack([rng.standard_normal(self._nz) for rng in rngs]).T  # (nz, B)
        s, b = self.scenario, len(rngs)
        pos = np.stack([-1.0 + 2.0 * u[0], -1.0 + 2.0 * u[1], _uniform(u[2], s.start_height_m)])
        yaw_in = -math.pi + 2.0 * math.pi * u[3]
        R = quat_to_rot(yaw_quat(yaw_in))
        heading = yaw_of(R)
        k = 5
        goals = np.zeros((self.num_goals, 3, b))
        if self.task == "hover":
            d = _uniform(u[4], s.start_distance_range_m)
            direction = z[0:3] / np.sqrt((z[0:3] * z[0:3]).sum(axis=0))
            goals[0] = pos + d * direction
        else:
            goals[0] = self._point_in_view(u[k:k + 3 * VIEW_CANDIDATES], pos, R, pos, heading, s.start_distance_range_m)
            k += 3 * VIEW_CANDIDATES
            prev = pos
            for m in range(1, self.num_goals):  # Hiking: each marker seen from the previous one, facing along the leg
                leg = goals[m - 1] - prev
                heading = np.arctan2(leg[1], leg[0])
                view_R = quat_to_rot(yaw_quat(heading))
                prev = goals[m - 1]
                goals[m] = self._point_in_view(u[k:k + 3 * VIEW_CANDIDATES], prev, view_R, prev, yaw_of(view_R),
                                               s.marker_spacing_m)
                k += 3 * VIEW_CANDIDATES
        path: dict[str, np.ndarray] = {}
        turn_noise = None
        j = 3
        if self.task == "follow-target":
            away = goals[0, :2] - pos[:2]
            lo, hi = s.target_height_m
            z_mid, z_amp = 0.5 * (lo + hi), 0.5 * (hi - lo)
            rel = np.clip((goals[0, 2] - z_mid) / max(z_amp, 1e-9), -1.0, 1.0)
            path = {
                "heading_rad": np.arctan2(away[1], away[0]) + _uniform(u[k], (-PATH_HEADING_JITTER_RAD,
                                                                              PATH_HEADING_JITTER_RAD)),
                "speed_mps": _uniform(u[k + 1], s.target_speed_mps),
                "turn_rate_radps": np.zeros(b),
                "z_mid_m": np.full(b, z_mid),
                "z_amp_m": np.full(b, z_amp),
                "z_phase_rad": np.arcsin(rel),
                "z_omega_radps": _uniform(u[k + 2], PATH_Z_OMEGA_RADPS),
            }
            turn_noise = z[j:j + self.steps].T.copy()
            j += self.steps
        gust = np.zeros((3, b))
        gust_noise = None
        if self._gusts:
            gust = s.wind_gust_std_mps * z[j:j + 3]
            gust_noise = z[j + 3:j + 3 + 3 * self.steps].T.reshape(b, self.steps, 3).copy()
        weak = np.minimum((u[-1] * 4).astype(np.intp), 3) if s.motor_weakness > 0 else np.zeros(b, dtype=np.intp)
        return Layout(pos, yaw_in, goals, path, turn_noise, gust, gust_noise, weak)

    def _point_in_view(self, u: np.ndarray, pos: np.ndarray, R: np.ndarray, origin: np.ndarray, heading: np.ndarray,
                       dist_range: tuple[float, float]) -> np.ndarray:
        """For each env, the first of the candidate points (``u``: 3 uniforms per candidate, (3 C, B)) that
        lies ``dist_range`` from ``origin`` within ``start_bearing_deg`` of ``heading`` at a target height and
        that the camera on the drone at ``pos``, ``R`` sees (as ``DroneEnv._point_in_view``)."""
        s = self.scenario
        b = pos.shape[1]
        chosen = np.zeros((3, b))
        found = np.zeros(b, dtype=bool)
        for c in range(VIEW_CANDIDATES):
            d = _uniform(u[3 * c], dist_range)
            a = heading + np.radians(_uniform(u[3 * c + 1], (-s.start_bearing_deg, s.start_bearing_deg)))
            p = np.stack([origin[0] + d * np.cos(a), origin[1] + d * np.sin(a), _uniform(u[3 * c + 2],
                                                                                        s.target_height_m)])
            take = ~found & (self.view.sees(pos, R, p) | (c == VIEW_CANDIDATES - 1))
            chosen[:, take] = p[:, take]
            found |= take
            if found.all():
                break
        return chosen


def _uniform(u: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """Uniform draws on ``[lo, hi)`` from uniforms on [0, 1) (as ``Generator.uniform``)."""
    lo, hi = bounds
    return lo + (hi - lo) * u
