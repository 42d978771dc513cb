"""ltc_drones: closed-loop drone control with liquid neural networks."""
__version__ = "0.1.0"
