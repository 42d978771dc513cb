"""Shipped data and the per-user cache: where they are, overrides, errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltc_drones import resources
from ltc_drones.envs.scenario import scenario_root as envs_scenario_root
from ltc_drones.envs.scene import ground_texture_png

REPO = Path(__file__).resolve().parents[1]


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("LTC_DRONES_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec ignores relative paths
    assert resources.cache_dir() == tmp_path / "home" / ".cache" / "ltc_drones"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resources.cache_dir() == tmp_path / "xdg" / "ltc_drones"
    monkeypatch.setenv("LTC_DRONES_CACHE", str(tmp_path / "mine"))
    assert resources.cache_dir() == tmp_path / "mine"


def test_ground_textures_go_to_the_per_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LTC_DRONES_CACHE", str(tmp_path / "cache"))
    path = Path(ground_texture_png("checker"))
    assert path.is_file() and path.parent == tmp_path / "cache" / "textures"


def test_scenario_root_is_the_shipped_envs_folder_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv("LTC_DRONES_SCENARIOS", raising=False)
    root = envs_scenario_root()
    assert root == resources.data_root("envs")
    assert sorted(p.name for p in (root / "shifts").glob("*.yaml")) == \
        sorted(p.name for p in (REPO / "envs" / "shifts").glob("*.yaml"))
    monkeypatch.setenv("LTC_DRONES_SCENARIOS", str(tmp_path))
    assert envs_scenario_root() == tmp_path


def test_shipped_agents(tmp_path):
    names = resources.shipped_agent_names()
    assert resources.DEFAULT_AGENT_NAME in names
    assert names == sorted(p.parent.name for p in (REPO / "agents").glob("*/agent.pt"))
    assert resources.default_agent_path() == resources.agents_root() / resources.DEFAULT_AGENT_NAME / "agent.pt"
    assert resources.default_agent_path().is_file()
    with pytest.raises(resources.ResourceError, match=names[0]):
        resources.shipped_agent("no-such-agent")
    with pytest.raises(ValueError, match="envs"):
        resources.data_root("weights")  # type: ignore[arg-type]
