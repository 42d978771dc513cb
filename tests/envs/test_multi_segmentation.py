"""Segmentation of multi-agent onboard views: the other drones are their own class (``SEG_DRONE``), the leader
stays the target; single-agent masks never use the drone class."""

import numpy as np

from ltc_drones.envs import make_env
from ltc_drones.envs.camera import SEG_CLASSES, SEG_DRONE, SEG_TARGET
from ltc_drones.envs.multi import multi_follow
from ltc_drones.envs.scenery import SEG_SCENERY
from ltc_drones.sim.state import RigidBodyState


def teleport(env, i: int, pos_m) -> None:
    """Put drone ``i`` at rest at ``pos_m`` with its attitude kept, and refresh the env's view of it."""
    env.sim.world.reset_drone(i, RigidBodyState.at_rest(np.asarray(pos_m, dtype=float), env.sim.states[i].quat_xyzw))
    env.sim.states[i] = env.sim.world.drone_state(i)


def test_drone_class_collides_with_no_other_class():
    assert len(set(SEG_CLASSES.values()) | {SEG_SCENERY}) == len(SEG_CLASSES) + 1


def test_a_follower_sees_the_other_drone_as_class_drone_and_the_leader_as_target():
    env = multi_follow(num_drones=2, obs="rgb")
    try:
        env.reset(seed=0)
        s = env.sim.states[0]
        _, before = env.onboard_camera(0, postprocess=False)
        assert np.any(before == SEG_TARGET) and not np.any(before == SEG_DRONE)  # the leader in view, drone_1 not
        ahead = s.pos_m + 0.5 * s.R[:, 0] + 0.15 * s.R[:, 1]  # half a metre ahead, a little to the left
        teleport(env, 1, ahead)
        rgb_seen, seen = env.onboard_camera(0, postprocess=False)
        teleport(env, 1, s.pos_m - 0.5 * s.R[:, 0])  # behind drone_0
        rgb_unseen, unseen = env.onboard_camera(0, postprocess=False)
        drone = seen == SEG_DRONE
        assert drone.sum() >= 20 and not np.any(unseen == SEG_DRONE)
        changed = np.any(rgb_seen != rgb_unseen, axis=2)
        assert changed[drone].mean() > 0.8  # the class marks where the drone is drawn
        cols = np.nonzero(drone.any(axis=0))[0]
        assert cols.mean() < seen.shape[1] / 2  # left of the image centre, where it was put
        assert np.array_equal(seen[~drone & ~changed], unseen[~drone & ~changed])  # nothing else relabelled
    finally:
        env.close()


def test_single_agent_masks_have_no_drone_class_and_the_same_classes_as_before():
    env = make_env("fly-to-target", obs="rgb")
    try:
        obs, _ = env.reset(seed=3)
        rgb, seg = env.unwrapped.onboard_camera(postprocess=False)
        assert not np.any(seg == SEG_DRONE) and np.any(seg == SEG_TARGET)
        assert set(np.unique(seg).tolist()) <= {0, 1, 2, 3, 4, SEG_SCENERY}
    finally:
        env.close()
