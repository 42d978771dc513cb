"""Physics stepping of one or more quadrotors in a PyBullet world.

Owns the world, the force model, the motors and the wind; callers give rotor-speed commands
once per physics step. Nothing here knows about tasks, observations or controllers.
"""

from __future__ import annotations

import numpy as np

from .forces import ForceConfig, ForceModel, MotorModel
from .params import QuadrotorParams, SimClock
from .state import RigidBodyState
from .wind import WindConfig, WindField
from .world import PyBulletWorld


class Simulation:
    """``num_drones`` quadrotors stepped at ``clock.physics_hz``.

    Args:
        params: the vehicle (all drones share it).
        num_drones: how many drones the world holds.
        clock: physics and control rates.
        forces: which optional force terms are on.
        wind: wind statistics.
    """

    def __init__(
        self,
        params: QuadrotorParams,
        num_drones: int = 1,
        clock: SimClock | None = None,
        forces: ForceConfig | None = None,
        wind: WindConfig | None = None,
    ) -> None:
        self.params = params
        self.clock = clock or SimClock()
        self.num_drones = num_drones
        self.world = PyBulletWorld(params, num_drones, self.clock.physics_dt_s)
        self.force_model = ForceModel(params, forces)
        self.motors = [MotorModel(params, self.clock.physics_dt_s) for _ in range(num_drones)]
        self.wind = WindField(wind or WindConfig())
        self._still_air = self.wind.config.is_still
        self._all_drones = list(range(num_drones))
        self.states: list[RigidBodyState] = [self.world.drone_state(i) for i in range(num_drones)]
        self.time_s = 0.0

    def reset(self, states: list[RigidBodyState], rng: np.random.Generator) -> None:
        """Move every drone to its start state, spin rotors at hover and redraw the wind."""
        if len(states) != self.num_drones:
            raise ValueError(f"expected {self.num_drones} start states, got {len(states)}")
        for i, s in enumerate(states):
            self.world.reset_drone(i, s)
            self.motors[i].reset(np.full(4, self.params.hover_rpm))
        self.wind.reset(rng)
        self.time_s = 0.0
        self._read_states()

    def _read_states(self) -> None:
        self.states = [self.world.drone_state(i) for i in self._all_drones]

    @property
    def rotor_rpm(self) -> np.ndarray:
        """Current rotor speeds (num_drones, 4)."""
        return np.stack([m.rpm for m in self.motors])

    def physics_step(self, rpm_cmd, active: list[bool] | None = None) -> None:
        """Apply rotor commands for one physics step and advance the world.

        Args:
            rpm_cmd: rotor-speed commands (rpm), an array (num_drones, 4) or a sequence of
                ``num_drones`` arrays (4,).
            active: one bool per drone (default: all fly). An inactive drone (parked out of the
                airspace by a multi-agent env) is held against gravity, takes no part in downwash,
                and its command is ignored (it may be ``None``).
        """
        wind = None if self._still_air else self.wind.velocity_world_mps
        states, motors, world, wrench = self.states, self.motors, self.world, self.force_model.wrench
        flying = self._all_drones if active is None else [i for i in self._all_drones if active[i]]
        multi = len(flying) > 1
        positions = [states[i].pos_m.tolist() for i in flying] if multi else None  # for downwash (hot path)
        for k, i in enumerate(flying):
            s = states[i]
            others = positions[:k] + positions[k + 1:] if multi else None
            force, torque = wrench(motors[i].update(rpm_cmd[i]), s.pos_m, s.R, s.vel_world_mps, wind, others)
            world.apply_wrench(i, force, torque)
        if active is not None and len(flying) < self.num_drones:
            for i in self._all_drones:
                if not active[i]:
                    world.apply_wrench(i, states[i].R.T @ [0.0, 0.0, self.params.weight_n], [0.0, 0.0, 0.0])
        world.step()
        self.time_s += self.clock.physics_dt_s
        self._read_states()

    def advance_wind(self) -> None:
        """Advance the gust process by one control period."""
        self.wind.advance(self.clock.ctrl_dt_s)

    def crashed_into_something(self, i: int) -> bool:
        return self.world.in_contact(i)

    def close(self) -> None:
        self.world.close()
