"""One contact query for the whole world against one query per drone; the active mask of physics_step."""

import numpy as np
import pytest

from ltc_drones.sim import QuadrotorParams, RigidBodyState, SimClock, Simulation


def test_drone_contacts_matches_contact_bodies_of_each_drone():
    p = QuadrotorParams()
    sim = Simulation(p, 4, SimClock(240, 30))
    starts = [
        RigidBodyState.at_rest([0.0, 0.0, 1.0]),
        RigidBodyState.at_rest([0.05, 0.0, 1.01]),  # overlaps drone 0
        RigidBodyState.at_rest([3.0, 0.0, 0.005]),  # on the ground
        RigidBodyState.at_rest([6.0, 0.0, 2.0]),  # touches nothing
    ]
    sim.reset(starts, np.random.default_rng(0))
    world = sim.world
    assert world.drone_contacts() == {}  # nothing was stepped yet: no contact points
    sim.physics_step(np.full((4, 4), p.hover_rpm))
    touching = world.drone_contacts()
    per_drone = {i: world.contact_bodies(i) for i in range(4) if world.contact_bodies(i)}
    assert touching == per_drone
    ids = world.drone_ids
    assert touching[0] == {ids[1]} and touching[1] == {ids[0]} and touching[2] == {world.ground_id}
    assert 3 not in touching


def test_inactive_drone_is_held_and_pushes_no_downwash():
    p = QuadrotorParams()
    sim = Simulation(p, 2, SimClock(240, 30))
    above = RigidBodyState.at_rest([0.0, 0.0, 5.8])
    below = RigidBodyState.at_rest([0.0, 0.0, 5.0])
    rpm = [np.full(4, p.hover_rpm), None]  # a parked drone needs no command
    sim.reset([below, above], np.random.default_rng(0))
    for _ in range(24):
        sim.physics_step(rpm, [True, False])
    # the drone above is parked: held against gravity, and the one below hovers in still air
    assert sim.states[1].pos_m[2] == pytest.approx(5.8, abs=1e-6)
    alone = Simulation(p, 1, SimClock(240, 30))
    alone.reset([below], np.random.default_rng(0))
    for _ in range(24):
        alone.physics_step(rpm[:1])
    assert np.array_equal(sim.states[0].pos_m, alone.states[0].pos_m)
