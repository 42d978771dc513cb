"""Shipping agents: ``agents/<name>/`` folders holding the weights, the record of their test scores and a model card
(:mod:`.ship`), the cards' prose and tables (:mod:`.cards`). ``ltc-drones ship RUN --name NAME`` calls
:func:`ship_run` or :func:`ship_benchmark_cell`."""

from .ship import agent_folder, resolve_source, ship_benchmark_cell, ship_run, write_agent_folder

__all__ = ["agent_folder", "resolve_source", "ship_benchmark_cell", "ship_run", "write_agent_folder"]
