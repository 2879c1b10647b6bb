"""gateway: the reference data logger built on meterkit's libraries (``meterkit run``).

One TOML site file describes the buses, meters, points, derived values, alarms, exports
and outputs (:func:`load_site`, checked with every error naming file, table and key).
Inside, a sans-IO core -- the :class:`Scheduler` told the time, the :class:`Pipeline`
(readings -> derived values -> alarms) -- and thin asyncio drivers around it
(:func:`serve_site`, :func:`run_site`). The history lives in :mod:`gateway.history`.
The guide is docs/gateway.rst.
"""

from ._commands import RunReport, run_site, serve_site
from ._derived import DerivedEngine
from ._drivers import Clock, SiteRunner
from ._errors import GatewayError, SiteError, StateFileError
from ._pipeline import Pipeline, Step
from ._plan import plan_text, site_plan
from ._runtime import Runtime
from ._schedule import CalendarTimer, ExportDue, ReadoutDue, Scheduler, calendar_period, next_slot
from ._site_file import Site, load_site, parse_duration, parse_site

__all__ = [
    "CalendarTimer",
    "Clock",
    "DerivedEngine",
    "ExportDue",
    "GatewayError",
    "Pipeline",
    "ReadoutDue",
    "RunReport",
    "Runtime",
    "Scheduler",
    "Site",
    "SiteError",
    "SiteRunner",
    "StateFileError",
    "Step",
    "calendar_period",
    "load_site",
    "next_slot",
    "parse_duration",
    "parse_site",
    "plan_text",
    "run_site",
    "serve_site",
    "site_plan",
]
