"""The built wheel works on its own: shipped scenarios, every env and the default agent from the installed files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "ltc_drones", "envs", "agents")

# Runs in a fresh interpreter with only the installed wheel's copy of ltc_drones importable first.
CHILD = r"""
import json, sys
import torch
torch.set_num_threads(1)
import gymnasium
import ltc_drones
from ltc_drones import resources
from ltc_drones.envs import available_scenarios
from ltc_drones.tasks import SINGLE_TASKS, task_spec

report = {"file": ltc_drones.__file__, "scenario_root": str(resources.scenario_root()),
          "scenarios": available_scenarios(), "agent_path": str(resources.default_agent_path()), "envs": {}}
for task in SINGLE_TASKS:
    env = gymnasium.make(task_spec(task).env_id, obs="kin")
    obs, info = env.reset(seed=0)
    report["envs"][task] = list(obs.shape)
    env.close()
agent = ltc_drones.load_agent(resources.default_agent_path())
report["agent_source"] = agent.source
json.dump(report, sys.stdout)
"""


def _pip(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    proc = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, f"pip {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built offline from a copy of the sources (so no build/ folder lands in the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(root / "dist"), ".", cwd=src)
    (found,) = (root / "dist").glob("ltc_drones-*.whl")
    return found


def test_wheel_carries_every_module_and_the_shipped_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "ltc_drones").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules - names == set(), "modules missing from the wheel (see setup.py's package list)"
    for folder in ("envs", "agents"):
        shipped = {f"ltc_drones/_data/{p.relative_to(REPO).as_posix()}" for p in (REPO / folder).rglob("*")
                   if p.is_file() and p.suffix in (".yaml", ".pt", ".json", ".md")}
        assert shipped, f"the repository's {folder}/ folder holds no data files"
        assert shipped - names == set(), f"{folder}/ files missing from the wheel"


def test_installed_wheel_runs_from_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    _pip("install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel), cwd=tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("LTC_DRONES_SCENARIOS", "PYTHONPATH")}
    env.update(PYTHONPATH=str(target), LTC_DRONES_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=outside, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])

    def inside_target(path: str) -> bool:
        return Path(path).resolve().is_relative_to(target.resolve())

    assert inside_target(report["file"]), report["file"]
    assert inside_target(report["scenario_root"]), report["scenario_root"]
    shifts = {p.stem for p in (REPO / "envs" / "shifts").glob("*.yaml")}
    assert shifts, "the repository's envs/shifts/ holds no shift files"
    assert set(report["scenarios"]) == {"nominal", *shifts}
    from ltc_drones.tasks import SINGLE_TASKS

    assert set(report["envs"]) == set(SINGLE_TASKS)
    assert all(len(shape) == 1 and shape[0] > 0 for shape in report["envs"].values()), report["envs"]
    assert inside_target(report["agent_path"]) and inside_target(report["agent_source"]), report
