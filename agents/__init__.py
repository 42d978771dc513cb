"""Trained agents, shipped as the package data ``ltc_drones._data.agents`` (see ``ltc_drones/resources.py``)."""
