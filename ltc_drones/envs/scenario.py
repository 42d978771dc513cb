"""Scenarios: the settings of a task and of its graded distribution shifts, read from YAML.

A task's nominal scenario lives in ``envs/tasks/<task>.yaml``. A shift lives in
``envs/shifts/<name>.yaml`` and has severity levels 1-5, each an overlay of scenario keys on the
task's nominal settings; it is selected as ``"<name>@<level>"`` (``"fog@3"``), and level 0 is the
nominal scenario, as in the corruption benchmarks of image classification (Hendrycks & Dietterich,
ICLR 2019). A bare shift name selects the file's ``default_level`` (the level that the former
single-level file became). A path to a YAML file works too: a flat overlay of scenario keys, or a
graded file selected as ``"<path>@<level>"``. Unknown keys, shifts and levels and out-of-range
values raise :class:`ScenarioError` naming the entry and the valid choices.

Shift file format::

    description: Fog blends the onboard image towards a fog colour with distance.
    kind: image
    default_level: 3
    levels:
      1: {fog_density_per_m: 0.03}
      ...
      5: {fog_density_per_m: 0.25}
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..tasks import TASKS, UnknownTaskError, task_spec

SHAPES = ("sphere", "box", "cylinder")
GROUND_TEXTURES = ("none", "grass")
GROUND_PATTERNS = ("none", "checker", "stripes")
LEVELS = (1, 2, 3, 4, 5)
"""Severity levels of every shift; level 0 is the nominal scenario."""
SHIFT_FILE_KEYS = ("description", "kind", "default_level", "levels")
SHIFT_KINDS = ("image", "physical")
"""``image``: changes only what the camera sees (a privileged expert cannot notice it); ``physical``:
changes the dynamics or the solid world (the default when a file does not say)."""

RGBA = tuple[float, float, float, float]
OCCLUDER_GAP_M = 0.06
"""Gap between the target's surface and the occluder posts' axes."""
OCCLUDER_CLEARANCE_M = 0.16
"""Room left inside the success radius beyond the posts: the drone's radius (0.06 m) and 0.1 m."""


class ScenarioError(ValueError):
    """A scenario name, file, key or value is invalid."""


def _check_task(task: str) -> None:
    if task in TASKS:  # the task key itself (a Gymnasium id is not a scenario's task)
        return
    try:
        spec = task_spec(task)
    except UnknownTaskError as exc:
        raise ScenarioError(str(exc)) from None
    raise ScenarioError(f"scenario files name tasks by key, not Gymnasium id: use {spec.name!r}, not {task!r}")


def scenario_root() -> Path:
    """The folder holding ``tasks/`` and ``shifts/`` (``$LTC_DRONES_SCENARIOS`` overrides it)."""
    from ltc_drones.resources import scenario_root as _scenario_root

    return _scenario_root()


def _rgba(value, key: str) -> RGBA:
    seq = tuple(float(v) for v in value)
    if len(seq) == 3:
        seq = (*seq, 1.0)
    if len(seq) != 4 or not all(0.0 <= v <= 1.0 for v in seq):
        raise ScenarioError(f"{key} must be [r, g, b] or [r, g, b, a] with values in [0, 1], got {value}")
    return seq  # type: ignore[return-value]


def _range(value, key: str, lo: float, hi: float) -> tuple[float, float]:
    pair = tuple(float(v) for v in value)
    if len(pair) != 2 or pair[0] > pair[1] or pair[0] < lo or pair[1] > hi:
        raise ScenarioError(f"{key} must be [min, max] with {lo} <= min <= max <= {hi}, got {value}")
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class Scenario:
    """Every setting a scenario file may change (units in the names)."""

    name: str = "nominal"
    task: str = "fly-to-target"
    description: str = ""
    episode_len_s: float = 15.0
    start_height_m: tuple[float, float] = (0.9, 1.3)
    start_distance_m: tuple[float, float] = (1.5, 4.0)
    start_distance_scale: float = 1.0
    start_bearing_deg: float = 15.0
    target_height_m: tuple[float, float] = (0.7, 1.5)
    target_shape: str = "sphere"
    target_size_m: float = 0.4
    target_color: RGBA = (0.9, 0.1, 0.1, 1.0)
    target_speed_mps: tuple[float, float] = (0.3, 1.0)
    success_radius_m: float = 0.5
    follow_distance_m: tuple[float, float] = (0.4, 2.0)
    max_lost_s: float = 2.0
    hold_tolerance_m: float = 0.1
    hold_s: float = 2.0
    num_markers: int = 3
    marker_spacing_m: tuple[float, float] = (1.5, 3.0)
    distractors: int = 0
    distractor_shape: str = "box"
    distractor_size_m: float = 0.4
    distractor_colors: tuple[RGBA, ...] = (
        (0.1, 0.3, 0.9, 1.0), (0.95, 0.85, 0.1, 1.0), (0.6, 0.2, 0.7, 1.0), (0.95, 0.95, 0.95, 1.0),
    )
    light_ambient: float = 0.6
    light_diffuse: float = 0.35
    light_direction: tuple[float, float, float] = (0.4, -0.3, 1.0)
    # The world's context (scene.py, scenery.py, textures.py).
    ground_color: RGBA = (0.36, 0.52, 0.26, 1.0)
    """Summer ground colour; ``season`` moves it towards autumn and snow."""
    ground_texture: str = "grass"
    ground_pattern: str = "none"
    ground_pattern_mix: float = 0.0
    """Weight of ``ground_pattern`` (a black-and-white checker or stripes) blended over the ground, 0..1."""
    sky_color: RGBA = (0.42, 0.62, 0.9, 1.0)
    foliage_color: RGBA = (0.18, 0.42, 0.14, 1.0)
    """Summer foliage colour of the trees; ``season`` moves it towards autumn and snow."""
    season: float = 0.0
    """0 summer, 0.5 autumn, 1 winter (snow): ground, foliage and horizon colours."""
    scenery_objects: int = 16
    """Trees, rocks or buildings placed around (never in) the flight corridor; 0 for an empty world."""
    urban_fraction: float = 0.0
    """Share of the scenery that is urban blocks instead of trees and rocks (0 forest, 1 city)."""
    # Image and physical shifts (effects.py).
    camera_noise_std: float = 0.0
    brightness: float = 0.0
    contrast: float = 1.0
    fog_density_per_m: float = 0.0
    """Fog: a pixel at distance d is blended towards ``fog_color`` by 1 - exp(-density · d)."""
    fog_color: RGBA = (0.78, 0.8, 0.82, 1.0)
    occluders: int = 0
    """Solid posts on an arc in front of the target (seen from the start) that partly hide it."""
    occluder_radius_m: float = 0.03
    wind_mean_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wind_gust_std_mps: float = 0.0
    wind_gust_tau_s: float = 1.0
    latency_steps: int = 0
    """Actions take effect this many control steps after they are given."""
    motor_weakness: float = 0.0
    """Fraction of one rotor's maximum thrust that is lost (the rotor is drawn per episode)."""
    bounds_xy_m: float = 12.0
    bounds_z_m: float = 4.0
    # Multi-agent tasks (envs/multi).
    formation_radius_m: float = 1.2
    """MultiFollow: the followers' slots lie on an arc of this radius behind the leader."""
    formation_spacing_m: float = 0.7
    """MultiFollow: distance between neighbouring slots (a chord of the arc); MultiFlyToTarget: start spacing."""
    formation_height_step_m: float = 0.3
    """MultiFollow: height difference between neighbouring slots (the whole stack spans at most
    ``FORMATION_HEIGHT_SPAN_M``), so each follower sees the leader at its own image row."""

    def __post_init__(self) -> None:  # noqa: C901 - a flat list of checks reads best
        _check_task(self.task)
        positive = ("episode_len_s", "target_size_m", "success_radius_m", "hold_tolerance_m", "distractor_size_m",
                    "start_distance_scale", "bounds_xy_m", "bounds_z_m", "wind_gust_tau_s", "contrast",
                    "occluder_radius_m", "formation_radius_m", "formation_spacing_m")
        for key in positive:
            if not getattr(self, key) > 0:
                raise ScenarioError(f"{key} must be positive, got {getattr(self, key)}")
        checks = [
            ("start_bearing_deg", 0.0, 30.0), ("max_lost_s", 0.0, 60.0), ("hold_s", 0.0, self.episode_len_s),
            ("light_ambient", 0.0, 2.0), ("light_diffuse", 0.0, 2.0), ("camera_noise_std", 0.0, 128.0),
            ("brightness", -128.0, 128.0), ("wind_gust_std_mps", 0.0, 5.0), ("contrast", 0.0, 4.0),
            ("ground_pattern_mix", 0.0, 1.0), ("season", 0.0, 1.0), ("urban_fraction", 0.0, 1.0),
            ("fog_density_per_m", 0.0, 2.0), ("occluder_radius_m", 0.0, 0.1), ("motor_weakness", 0.0, 0.6),
        ]
        for key, lo, hi in checks:
            v = getattr(self, key)
            if not lo <= v <= hi:
                raise ScenarioError(f"{key} must lie in [{lo}, {hi}], got {v}")
        if not 0.0 <= self.formation_height_step_m <= 1.0:
            raise ScenarioError(f"formation_height_step_m must lie in [0, 1], got {self.formation_height_step_m}")
        counts = [("num_markers", 1, 8), ("distractors", 0, 12), ("scenery_objects", 0, 24), ("occluders", 0, 8),
                  ("latency_steps", 0, 15)]
        for key, lo, hi in counts:
            if not lo <= getattr(self, key) <= hi:
                raise ScenarioError(f"{key} must lie in [{lo}, {hi}], got {getattr(self, key)}")
        choices = [("target_shape", SHAPES), ("distractor_shape", SHAPES), ("ground_texture", GROUND_TEXTURES),
                   ("ground_pattern", GROUND_PATTERNS)]
        for key, valid in choices:
            if getattr(self, key) not in valid:
                raise ScenarioError(f"{key} must be one of {valid}, got {getattr(self, key)!r}")
        reach = self.target_size_m / 2 + OCCLUDER_GAP_M + self.occluder_radius_m + OCCLUDER_CLEARANCE_M
        if self.occluders and reach > self.success_radius_m:
            raise ScenarioError(f"occluder posts must stand inside the success radius so that the straight path "
                                f"stays free: need target_size_m / 2 + {OCCLUDER_GAP_M} + occluder_radius_m + "
                                f"{OCCLUDER_CLEARANCE_M} <= success_radius_m, got {reach:.3f} > "
                                f"{self.success_radius_m}; use a smaller target or thinner posts")
        if max(abs(v) for v in self.wind_mean_mps) > 5.0 or len(self.wind_mean_mps) != 3:
            raise ScenarioError(f"wind_mean_mps must be 3 components within ±5 m/s, got {self.wind_mean_mps}")

    @property
    def start_distance_range_m(self) -> tuple[float, float]:
        lo, hi = self.start_distance_m
        return lo * self.start_distance_scale, hi * self.start_distance_scale

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_DEFAULT = Scenario()
_FIELDS = {f.name: f for f in dataclasses.fields(Scenario)}
_RANGES = {
    "start_height_m": (0.3, 3.0), "start_distance_m": (0.0, 15.0), "target_height_m": (0.2, 3.5),
    "target_speed_mps": (0.0, 3.0), "follow_distance_m": (0.0, 10.0), "marker_spacing_m": (0.5, 10.0),
}
_COLORS = ("target_color", "ground_color", "sky_color", "foliage_color", "fog_color")
_INTS = ("num_markers", "distractors", "scenery_objects", "occluders", "latency_steps")
_STRINGS = ("name", "task", "description", "target_shape", "distractor_shape", "ground_texture", "ground_pattern")


def _coerce(key: str, value: Any) -> Any:
    if key in _RANGES:
        return _range(value, key, *_RANGES[key])
    if key in _COLORS:
        return _rgba(value, key)
    if key == "distractor_colors":
        return tuple(_rgba(c, key) for c in value)
    if key in ("light_direction", "wind_mean_mps"):
        return tuple(float(v) for v in value)
    if key in _INTS:
        if isinstance(value, bool) or int(value) != value:
            raise ScenarioError(f"{key} must be a whole number, got {value}")
        return int(value)
    if key in _STRINGS:
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key} must be a number, got {value!r}") from None


def scenario_from_dict(settings: dict[str, Any], base: Scenario | None = None, where: str = "") -> Scenario:
    """Build a scenario from ``settings`` overriding ``base`` (validated); ``where`` prefixes errors."""
    prefix = f"{where}: " if where else ""
    unknown = sorted(set(settings) - set(_FIELDS))
    if unknown:
        raise ScenarioError(f"{prefix}unknown scenario key(s) {unknown}; valid keys: {', '.join(sorted(_FIELDS))}")
    try:
        values = {k: _coerce(k, v) for k, v in settings.items()}
        return dataclasses.replace(base, **values) if base is not None else Scenario(**values)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{prefix}{exc}") from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path} must hold a mapping of scenario keys, got {type(data).__name__}")
    return data


@dataclass(frozen=True)
class Shift:
    """A graded shift file: a description and one overlay of scenario keys per severity level."""

    name: str
    path: Path
    description: str
    kind: str
    default_level: int
    levels: dict[int, dict[str, Any]]


def _parse_shift(data: dict[str, Any], path: Path, name: str) -> Shift:
    unknown = sorted(set(data) - set(SHIFT_FILE_KEYS))
    if unknown:
        raise ScenarioError(f"{path}: unknown shift-file key(s) {unknown}; a shift file holds "
                            f"{', '.join(SHIFT_FILE_KEYS)} (scenario keys go inside `levels: {{1: {{...}}, ...}}`)")
    levels = data.get("levels")
    if not isinstance(levels, dict) or sorted(levels, key=str) != sorted(LEVELS, key=str):
        got = sorted(levels, key=str) if isinstance(levels, dict) else levels
        raise ScenarioError(f"{path}: `levels` must map each severity level {list(LEVELS)} to an overlay of "
                            f"scenario keys, got levels {got}")
    for level, overlay in levels.items():
        if not isinstance(overlay, dict) or not overlay:
            raise ScenarioError(f"{path} level {level}: must be a non-empty mapping of scenario keys, got {overlay!r}")
        reserved = sorted(set(overlay) & {"name", "task", "description"})
        if reserved:
            raise ScenarioError(f"{path} level {level}: {reserved} cannot be set per level (the file names the shift)")
        scenario_from_dict(overlay, base=_DEFAULT, where=f"{path} level {level}")  # every level, not only the one asked
    default = data.get("default_level", 3)
    if default not in LEVELS:
        raise ScenarioError(f"{path}: default_level must be one of {list(LEVELS)}, got {default!r}")
    kind = data.get("kind", "physical")
    if kind not in SHIFT_KINDS:
        raise ScenarioError(f"{path}: kind must be one of {list(SHIFT_KINDS)}, got {kind!r}")
    return Shift(name, path, str(data.get("description", "")), kind, int(default),
                 {int(k): v for k, v in levels.items()})


def read_shift(path: Path) -> Shift:
    """Read and check a graded shift file (its scenario keys are checked when a level is loaded)."""
    return _parse_shift(_read_yaml(path), path, path.stem)


def _shift_paths() -> list[Path]:
    return sorted((scenario_root() / "shifts").glob("*.yaml"))


def available_shifts(kind: str | None = None) -> dict[str, tuple[int, ...]]:
    """Every shipped shift (of ``kind``, see :data:`SHIFT_KINDS`, if given) and its severity levels,
    ``{"fog": (1, 2, 3, 4, 5), ...}``; level 0 is nominal."""
    if kind is not None and kind not in SHIFT_KINDS:
        raise ScenarioError(f"unknown shift kind {kind!r}; valid kinds: {', '.join(SHIFT_KINDS)}")
    shifts = [read_shift(p) for p in _shift_paths()]
    return {s.name: tuple(sorted(s.levels)) for s in shifts if kind in (None, s.kind)}


def available_scenarios(with_levels: bool = False) -> list[str]:
    """Names usable as ``scenario=``: ``nominal`` and every shift.

    Args:
        with_levels: list every ``name@level`` (levels 1-5) instead of the bare shift names, which
            select each shift's ``default_level``.
    """
    shifts = available_shifts()
    if not with_levels:
        return ["nominal", *shifts]
    return ["nominal", *(f"{name}@{level}" for name, levels in shifts.items() for level in levels)]


def _valid_names() -> str:
    listing = ", ".join(f"{name}@{min(levels)}-{max(levels)}" for name, levels in available_shifts().items())
    return f"nominal, {listing} (level 0 is nominal), or a path to a YAML file"


def _split_level(name: str) -> tuple[str, int | None]:
    if "@" not in name:
        return name, None
    base, _, level = name.rpartition("@")
    if not level.strip().isdigit():
        raise ScenarioError(f"scenario {name!r}: the severity after '@' must be a whole number 0-5, "
                            f"as in '{base}@3'; valid scenarios: {_valid_names()}")
    return base, int(level)


def load_scenario(task: str, scenario: str | os.PathLike | Scenario = "nominal") -> Scenario:
    """The nominal scenario of ``task`` with a shift at a severity level (or a YAML file) applied.

    Args:
        task: a task of :data:`ltc_drones.tasks.TASKS`.
        scenario: ``"nominal"``; ``"<shift>@<level>"`` with level 0 (nominal) to 5; a bare shift name
            (its ``default_level``); a path to a YAML overlay, or ``"<path>@<level>"`` for a graded file;
            or a :class:`Scenario` of this task, returned as it is.

    Raises:
        ScenarioError: unknown task, shift, level or key, or a value out of range; the message names
            the entry and the valid choices.
    """
    if isinstance(scenario, Scenario):
        if scenario.task != task:
            raise ScenarioError(f"scenario {scenario.name!r} is for task {scenario.task!r}, not {task!r}")
        return scenario
    _check_task(task)
    root = scenario_root()
    nominal_path = root / "tasks" / f"{task}.yaml"
    if not nominal_path.is_file():
        raise ScenarioError(
            f"nominal scenario file {nominal_path} is missing; set LTC_DRONES_SCENARIOS to the repo's envs/ folder"
        )
    nominal = scenario_from_dict({**_read_yaml(nominal_path), "name": "nominal", "task": task}, where=str(nominal_path))
    name = os.fspath(scenario)
    if name == "nominal":
        return nominal
    is_file = Path(name).suffix in (".yaml", ".yml") and Path(name).is_file()
    base_name, level = (name, None) if is_file else _split_level(name)
    path = Path(base_name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        data = _read_yaml(path)
        if "levels" not in data:
            if level is not None:
                raise ScenarioError(f"{path} is a flat overlay of scenario keys, not a graded shift file (no "
                                    f"`levels:`); select it without '@{level}'")
            return _flat_overlay(data, path, task, nominal)
        shift = _parse_shift(data, path, path.stem)
    else:
        path = root / "shifts" / f"{base_name}.yaml"
        if base_name == "nominal" or not path.is_file():
            raise ScenarioError(f"unknown scenario {name!r}; valid: {_valid_names()}")
        shift = read_shift(path)
    level = shift.default_level if level is None else level
    if level != 0 and level not in shift.levels:
        raise ScenarioError(f"shift {shift.name!r} has no level {level} (in {name!r}); valid levels: 0 (nominal), "
                            f"{', '.join(map(str, sorted(shift.levels)))}, as in '{shift.name}@3'")
    label = f"{shift.name}@{level}"
    if level == 0:
        return dataclasses.replace(nominal, name=label)
    description = f"{shift.description} (severity {level} of {max(shift.levels)})".strip()
    return scenario_from_dict({**shift.levels[level], "name": label, "description": description}, base=nominal,
                              where=f"{path} level {level}")


def _flat_overlay(overlay: dict[str, Any], path: Path, task: str, nominal: Scenario) -> Scenario:
    if overlay.get("task", task) != task:
        raise ScenarioError(f"scenario file {path} is for task {overlay['task']!r}, not {task!r}")
    overlay = {k: v for k, v in overlay.items() if k != "task"}
    overlay.setdefault("name", path.stem)
    return scenario_from_dict(overlay, base=nominal, where=str(path))
