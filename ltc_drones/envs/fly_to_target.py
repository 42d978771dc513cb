"""FlyToTarget: reach a target that starts in view."""

from __future__ import annotations

import numpy as np

from ..sim.state import RigidBodyState
from .base import DroneEnv
from .target_hooks import InterventionTarget


class FlyToTargetEnv(InterventionTarget, DroneEnv):
    """Fly to a target object that starts in the onboard camera's view.

    ## Description
    A Crazyflie 2.x ("X") starts in hover at flying height with a random heading. A visual-only
    target (nominal: a red 0.4 m sphere) is placed 1.5–4 m ahead, within ±15° of the heading and
    inside the camera's field of view. The episode succeeds when the drone's centre comes within
    0.5 m of the target's centre.

    ## Action space
    ``Box(-1, 1, (4,), float32)``; its meaning depends on ``act`` (see ``ltc_drones.envs.actions``):

    | act | 0 | 1 | 2 | 3 |
    |-----|---|---|---|---|
    | vel (default) | vx, ±2 m/s (body-yaw frame) | vy, ±2 m/s | vz, ±1 m/s | yaw rate, ±1.5 rad/s |
    | ctbr | collective thrust 0..max | roll rate ±8 rad/s | pitch rate ±8 rad/s | yaw rate ±3 rad/s |
    | rpm | rotor 0, 0..21703 rpm | rotor 1 | rotor 2 | rotor 3 |

    ## Observation space
    ``obs="kin"``: ``Box(-10, 10, (16,), float32)`` (entries clipped to ±10; privileged: it holds the goal)

    | index | what | unit / scale |
    |-------|------|--------------|
    | 0-2 | target position relative to the drone, body frame | m / 5 |
    | 3-5 | linear velocity, body frame | (m/s) / 2 |
    | 6-8 | gravity direction, body frame | unit vector |
    | 9-11 | body rates | (rad/s) / 10 |
    | 12-15 | previous action | normalised |

    ``obs="rgb"``: onboard forward camera, ``Box(0, 255, (48, 64, 3), uint8)`` by default (50° vertical
    field of view). ``obs="rgb_kin"``: ``Dict(rgb=<the image>, kin=Box(-10, 10, (13,), float32))`` whose
    vector is proprioception only, never the goal: entries 3-15 of the table above (``base.PROPRIO_DIM``).

    ## Rewards
    ``r_t = w_progress · (d_{t−1} − d_t) + w_heading · (c_t − c_{t−1}) + w_success · [success] − w_crash · [crash]``

    with ``d`` the distance to the target (m) and ``c`` the cosine of the target's horizontal bearing
    off the drone's heading (1 straight ahead); ``[crash]`` marks a step ending in contact, tilt > 80°
    or out of bounds, and such a step is never a success. Defaults ``progress=1, heading=0.5,
    success=10, crash=10`` (``reward_weights=``); ``info`` reports each term as ``reward_<name>``.
    Progress and heading are potential-based: over an episode they sum to
    ``w_progress · (d_0 − d_T) + w_heading · (c_T − c_0)``, whatever its length. From the same start
    an episode that succeeds (``d_T ≤ 0.5 m``) therefore earns more than one that never does
    (``d_T > 0.5 m``) whenever ``w_success > 2 · w_heading``.

    ## Starting state
    Hover (at rest, rotors at hover speed) 0.9–1.3 m high within ±1 m of the origin, random heading;
    the target as described above.

    ## Episode end
    * terminated, success: within ``success_radius_m`` (0.5 m) of the target;
    * terminated, failure: any contact (ground, another body), tilt > 80°, or leaving the bounds
      (|x|, |y| > 12 m, z > 4 m);
    * truncated: 15 s elapsed (450 steps at 30 Hz).

    ## Arguments
    ``obs``, ``act``, ``scenario`` (``"nominal"``, a shift name from ``envs/shifts``, or a YAML path),
    ``render_mode`` (``"rgb_array"``: a 320×240 chase view), ``physics_hz`` (240), ``ctrl_hz`` (30; physics must
    be a multiple), ``camera`` (``CameraConfig``), ``params`` (``QuadrotorParams``), ``forces`` (``ForceConfig``),
    ``velocity_limits``, ``gains``, ``reward_weights``.

    ## Interventions
    ``move_target(pos_m)`` and ``set_target_visible(bool)`` change the target between steps
    (:class:`~ltc_drones.envs.target_hooks.InterventionTarget`, used by causal diagnostics).

    ## Version history
    * v0: initial version.
    """

    TASK = "fly-to-target"

    def _build_task(self) -> None:
        s = self.scenario
        self.target_id = self.sim.world.add_visual_body(s.target_shape, s.target_size_m, s.target_color)
        self.target_ids = [self.target_id]

    def _task_reset(self, rng: np.random.Generator) -> RigidBodyState:
        start = self._start_state(rng)
        self.target_pos_m = self._point_in_view(rng, start, self.scenario.start_distance_range_m)
        self.set_target_visible(True)
        return start

    @property
    def goal_pos_m(self) -> np.ndarray:
        return self.target_pos_m

    def _task_outcome(self) -> tuple[bool, bool]:
        return self._distance_m <= self.scenario.success_radius_m, False
