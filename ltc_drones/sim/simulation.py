"""Physics stepping of one or more quadrotors in a PyBullet world.

Owns the world, the force model, the motors and the wind; callers give rotor-speed commands
once per physics step. Nothing here knows about tasks, observations or controllers.

The drones' state after each physics step is read once into a :class:`~ltc_drones.sim.explicit.BatchState`
(``batch``, arrays over the N drones, what the batched controller reads); ``states[i]`` gives drone
``i``'s :class:`RigidBodyState`, built on demand from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from .explicit import BatchState
from .forces import ForceConfig, ForceModel
from .params import QuadrotorParams, SimClock
from .state import RigidBodyState
from .wind import WindConfig, WindField
from .world import PyBulletWorld


class DroneStates(Sequence):
    """The drones' :class:`RigidBodyState` of one physics step, each built when first read.

    Assigning ``states[i] = state`` writes drone ``i``'s state into the simulation's batch (after
    the world has been told of it, e.g. by ``world.reset_drone``).
    """

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._built: list[RigidBodyState | None] = [None] * sim.num_drones

    def __len__(self) -> int:
        return len(self._built)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        state = self._built[i]
        if state is None:
            flat, R = self._sim._flat, self._sim.batch.R
            state = RigidBodyState(flat[i, 0:3], flat[i, 3:7], flat[i, 7:10], flat[i, 10:13], R[:, :, i])
            self._built[i] = state
        return state

    def __iter__(self) -> Iterator[RigidBodyState]:
        return (self[i] for i in range(len(self)))

    def __setitem__(self, i: int, state: RigidBodyState) -> None:
        self._sim._write_state(i, state)
        self._built[i] = None


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
        tau = params.motor_tau_s
        self._motor_alpha = 1.0 if tau == 0 else 1.0 - math.exp(-self.clock.physics_dt_s / tau)
        self._rpm = np.full((4, num_drones), params.hover_rpm)
        self._max_rpm, self._dt_s = params.max_rpm, self.clock.physics_dt_s  # properties, read once
        self.wind = WindField(wind or WindConfig())
        self._still_air = self.wind.config.is_still
        self._all_drones = list(range(num_drones))
        self.batch = BatchState.at_rest(num_drones)
        """The drones' state after the last physics step, arrays over the drones (what the controllers read)."""
        self._read_states()
        self.time_s = 0.0

    def reset(self, states: list[RigidBodyState], rng: np.random.Generator) -> None:
        """Move every drone to its start state, spin rotors at hover and redraw the wind."""
        if len(states) != self.num_drones:
            raise ValueError(f"expected {self.num_drones} start states, got {len(states)}")
        for i, s in enumerate(states):
            self.world.reset_drone(i, s)
        self._rpm = np.full((4, self.num_drones), self.params.hover_rpm)
        self.wind.reset(rng)
        self.time_s = 0.0
        self._read_states()

    def _read_states(self) -> None:
        rows = self.world.drone_rows()
        for k, row in enumerate(rows):  # append the body rates Rᵀ ω, in Python floats (cheaper than numpy here)
            ox, oy, oz = row[10:13]
            r00, r01, r02, r10, r11, r12, r20, r21, r22 = row[13:22]
            rows[k] = row + (r00 * ox + r10 * oy + r20 * oz, r01 * ox + r11 * oy + r21 * oz,
                             r02 * ox + r12 * oy + r22 * oz)
        self._rows = rows  # Python floats, for the force terms
        self._flat = flat = np.array(rows)  # (N, 25): position, quaternion, velocity, ω, R row by row, body rates
        t, b = flat.T, self.batch  # one BatchState object, its arrays replaced at every step
        b.pos_m, b.quat_xyzw, b.vel_world_mps, b.omega_body_radps, b.R = (t[0:3], t[3:7], t[7:10], t[22:25],
                                                                          t[13:22].reshape(3, 3, -1))
        self._states = None

    @property
    def states(self) -> DroneStates:
        """Each drone's :class:`RigidBodyState` after the last physics step (built when read)."""
        if self._states is None:
            self._states = DroneStates(self)
        return self._states

    def _write_state(self, i: int, state: RigidBodyState) -> None:
        """Drone ``i``'s entries of the batch from ``state`` (the world already holds it)."""
        R = np.asarray(state.R, dtype=float)
        self._flat[i] = np.concatenate([state.pos_m, state.quat_xyzw, state.vel_world_mps, state.omega_world_radps,
                                        R.reshape(-1), R.T @ state.omega_world_radps])
        self._rows[i] = tuple(self._flat[i].tolist())

    def move_drone(self, i: int, state: RigidBodyState) -> None:
        """Put drone ``i`` at ``state`` in the world and in :attr:`states` (rotor speeds unchanged)."""
        self.world.reset_drone(i, state)
        self.states[i] = self.world.drone_state(i)

    @property
    def rotor_rpm(self) -> np.ndarray:
        """Current rotor speeds (num_drones, 4)."""
        return self._rpm.T.copy()

    def physics_step(self, rpm_cmd, active: list[bool] | None = None) -> None:
        """Apply rotor commands for one physics step and advance the world.

        Args:
            rpm_cmd: rotor-speed commands (rpm), an array (num_drones, 4) or a sequence of
                ``num_drones`` arrays (4,).
            active: one bool per drone (default: all fly). An inactive drone (parked out of the
                airspace by a multi-agent env) is held against gravity, takes no part in downwash,
                and its command is ignored (it may be ``None``).
        """
        if not isinstance(rpm_cmd, np.ndarray):
            rpm_cmd = [np.zeros(4) if r is None else r for r in rpm_cmd]
        self.physics_step_batch(np.asarray(rpm_cmd, dtype=float).T, active)

    def physics_step_batch(self, rpm_cmd: np.ndarray, active: list[bool] | None = None) -> None:
        """:meth:`physics_step` with the commands as an array (4, num_drones), rpm (the controllers' layout)."""
        cmd = np.minimum(np.maximum(rpm_cmd, 0.0), self._max_rpm)
        rpm = cmd if self._motor_alpha == 1.0 else self._rpm + self._motor_alpha * (cmd - self._rpm)
        wind = None if self._still_air else self.wind.velocity_world_mps
        world, s = self.world, self.batch
        flying = self._all_drones if active is None else [i for i in self._all_drones if active[i]]
        # The force terms per drone in Python floats: at a team's size (up to 8) several times faster than
        # the numpy form over the drones (ForceModel.wrench_batch, which the explicit backend uses).
        wrench, rows, rotors = self.force_model.wrench_of_floats, self._rows, rpm.T.tolist()
        wind = None if wind is None else wind.tolist()
        others = [rows[i][0:3] for i in flying] if len(flying) > 1 else None  # for downwash
        for k, i in enumerate(flying):  # row: position, quaternion, velocity, angular velocity, R row by row
            row = rows[i]
            force, torque = wrench(rotors[i], row[0:3], row[13:22], row[7:10], wind,
                                   others and others[:k] + others[k + 1:])
            world.apply_wrench(i, force, torque)
        if len(flying) < self.num_drones:
            held = [i for i in self._all_drones if i not in flying]
            rpm[:, held] = self._rpm[:, held]
            for i in held:
                world.apply_wrench(i, s.R[:, :, i].T @ [0.0, 0.0, self.params.weight_n], [0.0, 0.0, 0.0])
        self._rpm = rpm
        world.step()
        self.time_s += self._dt_s
        self._read_states()

    def advance_wind(self) -> None:
        """Advance the gust process by one control period."""
        self.wind.advance(self.clock.ctrl_dt_s)

    def crashed_into_something(self, i: int) -> bool:
        return self.world.in_contact(i)

    def close(self) -> None:
        self.world.close()
