"""Scenarios: the settings of a task and of its named distribution shifts, read from YAML.

A task's nominal scenario lives in ``envs/tasks/<task>.yaml``; a named shift in
``envs/shifts/<name>.yaml`` overrides only the keys it names. ``load_scenario(task, "dim-light")``
gives the task's nominal settings with that shift applied; a path to a YAML file works the same
way (its keys override the task's nominal ones). Unknown keys and out-of-range values raise
:class:`ScenarioError` naming the key and the fix.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TASKS = ("hover", "fly-to-target", "follow-target", "hiking")
SHAPES = ("sphere", "box", "cylinder")
GROUND_TEXTURES = ("none", "checker", "stripes")


class ScenarioError(ValueError):
    """A scenario name, file, key or value is invalid."""


def scenario_root() -> Path:
    """The folder holding ``tasks/`` and ``shifts/`` (``$LTC_DRONES_SCENARIOS`` overrides it)."""
    from ltc_drones.resources import scenario_root as _scenario_root

    return _scenario_root()


def _rgba(value, key: str) -> tuple[float, float, float, float]:
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
    target_color: tuple[float, float, float, float] = (0.9, 0.1, 0.1, 1.0)
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
    distractor_colors: tuple[tuple[float, float, float, float], ...] = (
        (0.1, 0.3, 0.9, 1.0), (0.95, 0.85, 0.1, 1.0), (0.6, 0.2, 0.7, 1.0), (0.95, 0.95, 0.95, 1.0),
    )
    light_ambient: float = 0.6
    light_diffuse: float = 0.35
    light_direction: tuple[float, float, float] = (0.4, -0.3, 1.0)
    ground_color: tuple[float, float, float, float] = (0.45, 0.55, 0.4, 1.0)
    ground_texture: str = "none"
    camera_noise_std: float = 0.0
    brightness: float = 0.0
    contrast: float = 1.0
    wind_mean_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wind_gust_std_mps: float = 0.0
    wind_gust_tau_s: float = 1.0
    bounds_xy_m: float = 12.0
    bounds_z_m: float = 4.0

    def __post_init__(self) -> None:  # noqa: C901 - a flat list of checks reads best
        if self.task not in TASKS:
            raise ScenarioError(f"unknown task {self.task!r}; valid tasks: {', '.join(TASKS)}")
        positive = ("episode_len_s", "target_size_m", "success_radius_m", "hold_tolerance_m", "distractor_size_m",
                    "start_distance_scale", "bounds_xy_m", "bounds_z_m", "wind_gust_tau_s", "contrast")
        for key in positive:
            if not getattr(self, key) > 0:
                raise ScenarioError(f"{key} must be positive, got {getattr(self, key)}")
        checks = [
            ("start_bearing_deg", 0.0, 30.0), ("max_lost_s", 0.0, 60.0), ("hold_s", 0.0, self.episode_len_s),
            ("light_ambient", 0.0, 2.0), ("light_diffuse", 0.0, 2.0), ("camera_noise_std", 0.0, 128.0),
            ("brightness", -128.0, 128.0), ("wind_gust_std_mps", 0.0, 5.0), ("contrast", 0.0, 4.0),
        ]
        for key, lo, hi in checks:
            v = getattr(self, key)
            if not lo <= v <= hi:
                raise ScenarioError(f"{key} must lie in [{lo}, {hi}], got {v}")
        if not 1 <= self.num_markers <= 8:
            raise ScenarioError(f"num_markers must lie in [1, 8], got {self.num_markers}")
        if not 0 <= self.distractors <= 12:
            raise ScenarioError(f"distractors must lie in [0, 12], got {self.distractors}")
        for key in ("target_shape", "distractor_shape"):
            if getattr(self, key) not in SHAPES:
                raise ScenarioError(f"{key} must be one of {SHAPES}, got {getattr(self, key)!r}")
        if self.ground_texture not in GROUND_TEXTURES:
            raise ScenarioError(f"ground_texture must be one of {GROUND_TEXTURES}, got {self.ground_texture!r}")
        if max(abs(v) for v in self.wind_mean_mps) > 5.0 or len(self.wind_mean_mps) != 3:
            raise ScenarioError(f"wind_mean_mps must be 3 components within ±5 m/s, got {self.wind_mean_mps}")

    @property
    def start_distance_range_m(self) -> tuple[float, float]:
        lo, hi = self.start_distance_m
        return lo * self.start_distance_scale, hi * self.start_distance_scale

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(Scenario)}
_RANGES = {
    "start_height_m": (0.3, 3.0), "start_distance_m": (0.0, 15.0), "target_height_m": (0.2, 3.5),
    "target_speed_mps": (0.0, 3.0), "follow_distance_m": (0.0, 10.0), "marker_spacing_m": (0.5, 10.0),
}


def _coerce(key: str, value: Any) -> Any:
    if key in _RANGES:
        return _range(value, key, *_RANGES[key])
    if key in ("target_color", "ground_color"):
        return _rgba(value, key)
    if key == "distractor_colors":
        return tuple(_rgba(c, key) for c in value)
    if key in ("light_direction", "wind_mean_mps"):
        return tuple(float(v) for v in value)
    if key in ("num_markers", "distractors"):
        if int(value) != value:
            raise ScenarioError(f"{key} must be a whole number, got {value}")
        return int(value)
    if key in ("name", "task", "description", "target_shape", "distractor_shape", "ground_texture"):
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key} must be a number, got {value!r}") from None


def scenario_from_dict(settings: dict[str, Any], base: Scenario | None = None) -> Scenario:
    """Build a scenario from ``settings`` overriding ``base`` (validated)."""
    unknown = sorted(set(settings) - set(_FIELDS))
    if unknown:
        raise ScenarioError(
            f"unknown scenario key(s) {unknown}; valid keys: {', '.join(sorted(_FIELDS))}"
        )
    values = {k: _coerce(k, v) for k, v in settings.items()}
    try:
        return dataclasses.replace(base, **values) if base is not None else Scenario(**values)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(str(exc)) from exc


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


def available_scenarios() -> list[str]:
    """Names usable as ``scenario=``: ``nominal`` and every shift file."""
    shifts = sorted(p.stem for p in (scenario_root() / "shifts").glob("*.yaml"))
    return ["nominal", *shifts]


def load_scenario(task: str, scenario: str | os.PathLike | Scenario = "nominal") -> Scenario:
    """The nominal scenario of ``task`` with the named shift (or YAML file) applied."""
    if isinstance(scenario, Scenario):
        if scenario.task != task:
            raise ScenarioError(f"scenario {scenario.name!r} is for task {scenario.task!r}, not {task!r}")
        return scenario
    if task not in TASKS:
        raise ScenarioError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    root = scenario_root()
    nominal_path = root / "tasks" / f"{task}.yaml"
    if not nominal_path.is_file():
        raise ScenarioError(
            f"nominal scenario file {nominal_path} is missing; set LTC_DRONES_SCENARIOS to the repo's envs/ folder"
        )
    nominal = scenario_from_dict({**_read_yaml(nominal_path), "name": "nominal", "task": task})
    name = os.fspath(scenario)
    if name == "nominal":
        return nominal
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = root / "shifts" / f"{name}.yaml"
        if not path.is_file():
            raise ScenarioError(
                f"unknown scenario {name!r}; valid names: {', '.join(available_scenarios())}, or a path to a YAML file"
            )
    overlay = _read_yaml(path)
    if overlay.get("task", task) != task:
        raise ScenarioError(f"scenario file {path} is for task {overlay['task']!r}, not {task!r}")
    overlay.pop("task", None)
    overlay.setdefault("name", path.stem)
    return scenario_from_dict(overlay, base=nominal)
