"""gateway: the reference application that wires meterkit's libraries together.

Thin by design: everything reusable lives in ``mbus``, ``wmbus``, ``s0``, ``alarms``
and ``exporters``. Today it holds the simulated site of ``make demo``
(:func:`gateway.site.run_site`) and the ``meterkit demo`` command.
"""

from .site import SiteReport, run_site

__all__ = ["SiteReport", "run_site"]
