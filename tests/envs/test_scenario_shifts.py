"""Graded shifts: every shift file has levels 1-5 that move monotonically away from nominal; loading
refuses unknown shifts, levels and keys with messages that name the entry and the valid choices."""

import dataclasses
import math

import pytest

from ltc_drones.envs.scenario import (
    LEVELS,
    TASKS,
    Scenario,
    ScenarioError,
    available_scenarios,
    available_shifts,
    load_scenario,
    read_shift,
    scenario_root,
)

SHIFTS = sorted(available_shifts())
REQUIRED = {"camera-noise", "dim-light", "distractors", "far-start", "ground-texture", "target-color", "wind-gusts",
            "fog", "occluders", "target-size", "latency", "motor-weakness", "season", "scenery"}


def distance(a, b) -> float:
    """How far a setting is from its nominal value: |a - b| for numbers and vectors, 0/1 for names."""
    if isinstance(a, str):
        return float(a != b)
    if isinstance(a, tuple):
        return math.dist(a, b)
    return abs(a - b)


def test_every_required_shift_exists_with_levels_1_to_5():
    assert REQUIRED <= set(SHIFTS), f"missing shifts: {sorted(REQUIRED - set(SHIFTS))}"
    assert all(levels == LEVELS for levels in available_shifts().values())


def test_shifts_say_whether_they_can_affect_a_privileged_expert():
    physical = set(available_shifts("physical"))
    assert {"wind-gusts", "latency", "motor-weakness", "far-start", "occluders", "scenery"} <= physical
    assert physical.isdisjoint(available_shifts("image"))
    assert physical | set(available_shifts("image")) == set(SHIFTS)
    with pytest.raises(ScenarioError, match="valid kinds: image, physical"):
        available_shifts("optical")


@pytest.mark.parametrize("shift", SHIFTS)
def test_shift_parameters_move_monotonically_away_from_nominal(shift):
    nominal = load_scenario("fly-to-target")
    keys = sorted({k for overlay in read_shift(scenario_root() / "shifts" / f"{shift}.yaml").levels.values()
                   for k in overlay})
    scenarios = [load_scenario("fly-to-target", f"{shift}@{level}") for level in (0, *LEVELS)]
    for key in keys:
        d = [distance(getattr(s, key), getattr(nominal, key)) for s in scenarios]
        assert d[0] == 0.0
        assert all(b >= a - 1e-12 for a, b in zip(d, d[1:], strict=False)), f"{shift}: {key} not monotone: {d}"
    for lower, higher in zip(scenarios, scenarios[1:], strict=False):
        steps = [distance(getattr(higher, k), getattr(nominal, k)) - distance(getattr(lower, k), getattr(nominal, k))
                 for k in keys]
        assert max(steps) > 0, f"{shift}: {higher.name} is no more severe than {lower.name}"


@pytest.mark.parametrize("task", TASKS)
def test_level_zero_is_nominal_for_every_shift(task):
    nominal = load_scenario(task)
    for shift in SHIFTS:
        zero = load_scenario(task, f"{shift}@0")
        assert zero.name == f"{shift}@0"
        assert dataclasses.replace(zero, name="nominal") == nominal


def test_bare_name_selects_the_default_level():
    assert load_scenario("hover", "camera-noise") == load_scenario("hover", "camera-noise@3")
    assert load_scenario("hover", "camera-noise").camera_noise_std == 20.0  # the former single-level file
    assert load_scenario("hover", "ground-texture").name == "ground-texture@5"


def test_every_listed_scenario_loads_and_names_itself():
    names = available_scenarios(with_levels=True)
    assert len(names) == 1 + 5 * len(SHIFTS) and "fog@5" in names
    for name in names:
        assert load_scenario("hiking", name).name == name
    assert available_scenarios() == ["nominal", *SHIFTS]


@pytest.mark.parametrize("name, match", [
    ("fog@6", r"shift 'fog' has no level 6.*valid levels: 0 \(nominal\), 1, 2, 3, 4, 5"),
    ("fog@-1", r"'fog@-1'.*whole number 0-5"),
    ("fog@x", r"'fog@x'.*whole number 0-5"),
    ("nosuch@1", r"unknown scenario 'nosuch@1'; valid: nominal, camera-noise@1-5, .*fog@1-5"),
    ("nosuch", r"unknown scenario 'nosuch'"),
    ("nominal@2", r"unknown scenario 'nominal@2'"),
])
def test_unknown_shift_or_level_is_refused_with_the_choices(name, match):
    with pytest.raises(ScenarioError, match=match):
        load_scenario("fly-to-target", name)


def test_graded_file_given_as_a_path(tmp_path):
    path = tmp_path / "haze.yaml"
    path.write_text("description: haze\nlevels:\n" + "".join(
        f"  {k}: {{fog_density_per_m: {0.01 * k}}}\n" for k in LEVELS))
    s = load_scenario("fly-to-target", f"{path}@4")
    assert s.name == "haze@4" and s.fog_density_per_m == pytest.approx(0.04)
    assert load_scenario("fly-to-target", str(path)).fog_density_per_m == pytest.approx(0.03)  # default level 3
    flat = tmp_path / "flat.yaml"
    flat.write_text("fog_density_per_m: 0.2\n")
    assert load_scenario("fly-to-target", str(flat)).fog_density_per_m == 0.2
    with pytest.raises(ScenarioError, match="flat overlay.*without '@2'"):
        load_scenario("fly-to-target", f"{flat}@2")


def levels_text(**per_level) -> str:
    """A shift file's ``levels:`` block with fog densities 0.1 * level unless ``per_level`` overrides a level."""
    return "levels:\n" + "".join(f"  {k}: {per_level.get(f'l{k}', f'{{fog_density_per_m: {0.1 * k:.1f}}}')}\n"
                                  for k in LEVELS)


@pytest.mark.parametrize("text, match", [
    (levels_text(l1="{fog_density: 0.1}"), r"level 1: unknown scenario key.*fog_density'"),
    ("levels:\n  1: {fog_density_per_m: 0.1}\n  2: {fog_density_per_m: 0.2}\n",
     r"level \[1, 2, 3, 4, 5\].*got levels \[1, 2\]"),
    ("severity: 3\n" + levels_text(), r"unknown shift-file key\(s\) \['severity'\]"),
    (levels_text(l4="{fog_density_per_m: 9.0}"), r"level 4: fog_density_per_m must lie in"),
    (levels_text(l2="{}"), r"level 2: must be a non-empty mapping"),
    ("default_level: 7\n" + levels_text(), r"default_level must be one of \[1, 2, 3, 4, 5\]"),
    ("kind: optical\n" + levels_text(), r"kind must be one of \['image', 'physical'\]"),
])
def test_bad_graded_file_names_the_file_level_and_key(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=match):
        load_scenario("fly-to-target", f"{path}@3")


def test_scenario_values_are_validated():
    with pytest.raises(ScenarioError, match="latency_steps must lie in"):
        Scenario(latency_steps=99)
    with pytest.raises(ScenarioError, match="ground_pattern must be one of"):
        Scenario(ground_pattern="plaid")
    with pytest.raises(ScenarioError, match="occluder posts must stand inside the success radius"):
        Scenario(occluders=2, target_size_m=0.6)
    Scenario(occluders=2, target_size_m=0.6, success_radius_m=0.7)  # room enough
