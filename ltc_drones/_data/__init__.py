"""Shipped data. The build maps the repository's ``envs/`` and ``agents/`` folders to ``ltc_drones._data.envs``
and ``ltc_drones._data.agents`` (see ``setup.py``); read them through :mod:`ltc_drones.resources`."""
