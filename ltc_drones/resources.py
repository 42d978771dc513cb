"""Where the package finds its shipped data (scenarios, agents) and its per-user cache.

The repository's top-level ``envs/`` and ``agents/`` folders are the sources of the shipped data. The
build maps them into the package as ``ltc_drones._data.envs`` and ``ltc_drones._data.agents``
(``[tool.setuptools.package-dir]`` in ``pyproject.toml``), so a wheel carries them and an editable
install (``pip install -e .``) reads them in place; both are read with :mod:`importlib.resources`.
Standard library only, so every subpackage may use it.

Environment variables:
    ``LTC_DRONES_SCENARIOS``: a folder holding ``tasks/`` and ``shifts/`` used instead of the shipped one.
    ``LTC_DRONES_CACHE``: the cache folder (default ``$XDG_CACHE_HOME/ltc_drones`` or ``~/.cache/ltc_drones``).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Literal

DataName = Literal["envs", "agents"]
DATA_NAMES: tuple[str, ...] = ("envs", "agents")
DEFAULT_AGENT_NAME = "fly-to-target__ltc-ncp__rgb"
AGENT_FILE = "agent.pt"


class ResourceError(FileNotFoundError):
    """Shipped data or an agent cannot be found."""


def _source_checkout_folder(name: str) -> Path | None:
    """``<checkout>/<name>`` when the package runs from a source checkout that was never installed."""
    root = Path(__file__).resolve().parents[1]
    folder = root / name
    return folder if (root / "pyproject.toml").is_file() and folder.is_dir() else None


def data_root(name: DataName) -> Path:
    """The folder of one kind of shipped data: ``"envs"`` (scenario files) or ``"agents"`` (trained agents).

    Raises:
        ValueError: ``name`` is not one of :data:`DATA_NAMES`.
        ResourceError: the data package is missing (the package was neither built nor installed with it).
    """
    if name not in DATA_NAMES:
        raise ValueError(f"unknown shipped data {name!r}; choose one of {DATA_NAMES}")
    try:
        folder = importlib.resources.files(f"ltc_drones._data.{name}")
    except ModuleNotFoundError:
        fallback = _source_checkout_folder(name)
        if fallback is None:
            raise ResourceError(
                f"the shipped data package ltc_drones._data.{name} is missing; reinstall ltc_drones "
                "(`pip install .` or `pip install -e .` from the source checkout)") from None
        return fallback
    if not isinstance(folder, Path):
        raise ResourceError(f"ltc_drones._data.{name} is not on the file system ({folder!r}); install the "
                            "package unzipped with pip instead of importing it from a zip archive")
    return folder


def scenario_root() -> Path:
    """The folder holding ``tasks/`` and ``shifts/``: ``$LTC_DRONES_SCENARIOS`` if set, else the shipped one."""
    override = os.environ.get("LTC_DRONES_SCENARIOS")
    if override:
        return Path(override)
    return data_root("envs")


def agents_root() -> Path:
    """The folder holding the shipped agents, one sub-folder per agent."""
    return data_root("agents")


def shipped_agent_names() -> list[str]:
    """Names of the shipped agents (sub-folders of :func:`agents_root` holding an ``agent.pt``), sorted."""
    return sorted(p.name for p in agents_root().iterdir() if (p / AGENT_FILE).is_file())


def shipped_agent(name: str) -> Path:
    """The checkpoint file (``agent.pt``) of the shipped agent ``name``; its model card is ``README.md`` beside it.

    Raises:
        ResourceError: no shipped agent has that name (the message lists the shipped names).
    """
    path = agents_root() / name / AGENT_FILE
    if not path.is_file():
        raise ResourceError(f"no shipped agent named {name!r}; shipped agents: {', '.join(shipped_agent_names())}")
    return path


def default_agent_path() -> Path:
    """The checkpoint of the default shipped agent (:data:`DEFAULT_AGENT_NAME`)."""
    return shipped_agent(DEFAULT_AGENT_NAME)


def cache_dir() -> Path:
    """The per-user cache folder (not created here): ``$LTC_DRONES_CACHE``, else ``$XDG_CACHE_HOME/ltc_drones``,
    else ``~/.cache/ltc_drones``."""
    override = os.environ.get("LTC_DRONES_CACHE")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # XDG: relative values are ignored
    return base / "ltc_drones"
