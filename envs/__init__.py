"""Scenario files, shipped as the package data ``ltc_drones._data.envs`` (see ``ltc_drones/resources.py``)."""
