"""Package layout (everything else is in ``pyproject.toml``).

The repository's top-level ``envs/`` (scenario files) and ``agents/`` (trained agents) folders are the sources
of the shipped data; they are mapped into the package as ``ltc_drones._data.envs`` and
``ltc_drones._data.agents``, so wheels carry them and editable installs read them in place
(``ltc_drones/resources.py`` reads them with ``importlib.resources``). The package list is computed here
because a ``find`` directive in ``pyproject.toml`` cannot add mapped packages.
"""

from setuptools import find_namespace_packages, find_packages, setup

DATA_FOLDERS = {"ltc_drones._data.envs": "envs", "ltc_drones._data.agents": "agents"}
DATA_FILES = ["*.yaml", "*.pt", "*.json", "*.md"]


def data_packages() -> list[str]:
    """Each data folder and its sub-folders (setuptools copies package data per package, one folder each)."""
    return [sub for package, folder in DATA_FOLDERS.items()
            for sub in (package, *(f"{package}.{name}" for name in find_namespace_packages(where=folder)))]


setup(
    packages=[*find_packages(include=["ltc_drones", "ltc_drones.*"]), *data_packages()],
    package_dir=DATA_FOLDERS,
    package_data={"ltc_drones": ["py.typed", "models/*.c"], **dict.fromkeys(data_packages(), DATA_FILES)},
)
