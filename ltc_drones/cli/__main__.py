"""``python -m ltc_drones.cli``: the ``ltc-drones`` command."""

from . import main

raise SystemExit(main())
