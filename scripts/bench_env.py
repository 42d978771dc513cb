"""Env steps per second against the raw PyBullet ceiling (single drone, 240/30 Hz, resets included).

Usage: python scripts/bench_env.py [--steps 6000] [--task fly-to-target] [--repeats 3]

Prints, for ``kin``/``rpm``, ``kin``/``vel`` and ``rgb``/``vel`` at 64×48, the median env steps/s over
``--repeats`` runs of ``--steps`` random actions (episodes reset as they end), beside the same loop
of raw PyBullet stepping (4 rotor forces + a yaw torque + state reads per physics step), and the
ratio of each to that ceiling. Single thread, one process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pybullet as pb

from ltc_drones.envs import make_env
from ltc_drones.sim import QuadrotorParams


def bench_env(task: str, obs: str, act: str, steps: int, seed: int = 0) -> float:
    env = make_env(task, obs=obs, act=act)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    t0 = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def bench_raw_pybullet(steps: int, episode_steps: int = 30, seed: int = 0) -> float:
    """The ceiling: one drone body, four rotor forces and a yaw torque per physics step."""
    params = QuadrotorParams()
    rng = np.random.default_rng(seed)
    cid = pb.connect(pb.DIRECT)
    pb.setGravity(0, 0, -params.gravity_mps2, physicsClientId=cid)
    pb.setTimeStep(1 / 240, physicsClientId=cid)
    pb.createMultiBody(0, pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=cid), physicsClientId=cid)
    col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=0.06, height=0.025, physicsClientId=cid)
    body = pb.createMultiBody(params.mass_kg, col, -1, [0, 0, 1], physicsClientId=cid)
    pb.changeDynamics(body, -1, linearDamping=0, angularDamping=0, physicsClientId=cid)
    rotors = [tuple(r) for r in params.rotor_pos_body_m]
    rpms = rng.uniform(0.0, params.max_rpm, size=(steps, 4))
    t0 = time.perf_counter()
    for k in range(steps):
        if k % episode_steps == 0:
            pb.resetBasePositionAndOrientation(body, [0, 0, 1], [0, 0, 0, 1], physicsClientId=cid)
            pb.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=cid)
        f = params.kf * rpms[k] ** 2
        tz = float(params.km * (rpms[k] ** 2) @ params.rotor_dirs)
        for _ in range(8):
            for i in range(4):
                pb.applyExternalForce(body, -1, (0, 0, f[i]), rotors[i], pb.LINK_FRAME, physicsClientId=cid)
            pb.applyExternalTorque(body, -1, (0, 0, tz), pb.LINK_FRAME, physicsClientId=cid)
            pb.stepSimulation(physicsClientId=cid)
            pb.getBasePositionAndOrientation(body, physicsClientId=cid)
            pb.getBaseVelocity(body, physicsClientId=cid)
    rate = steps / (time.perf_counter() - t0)
    pb.disconnect(cid)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--task", default="fly-to-target")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    raw = statistics.median(bench_raw_pybullet(args.steps) for _ in range(args.repeats))
    rows = [("raw PyBullet, 4 rotor forces (ceiling)", raw)]
    for obs, act in (("kin", "rpm"), ("kin", "vel"), ("rgb", "vel")):
        steps = args.steps if obs == "kin" else max(args.steps // 4, 500)
        rate = statistics.median(bench_env(args.task, obs, act, steps) for _ in range(args.repeats))
        rows.append((f"{args.task} obs={obs} act={act}" + (" 64x48" if obs == "rgb" else ""), rate))
    print(f"{'loop':48s} {'steps/s':>10s} {'vs ceiling':>10s}")
    for name, rate in rows:
        print(f"{name:48s} {rate:10.0f} {rate / raw:10.2f}")


if __name__ == "__main__":
    main()
