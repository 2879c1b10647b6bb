"""The gateway's web page: current values, history plots, alarms and logs in the browser.

Served by aiohttp over a :class:`WebSource` that the gateway implements (its history,
alarms engine and audit log); English and German; read-only on 127.0.0.1 by default,
with logins (salted scrypt hashes, viewer and admin levels) and CSRF-protected actions
for acknowledging alarms and downloading backups. Needs the ``web`` extra
(``pip install 'meterkit[web]'``).
"""

try:
    import aiohttp as _aiohttp  # noqa: F401
    import jinja2 as _jinja2  # noqa: F401
except ImportError as _missing:
    raise ImportError(
        f"the web page needs aiohttp and Jinja2 ({_missing.name} is missing): "
        "pip install 'meterkit[web]'") from _missing

from ._app import RANGES, create_app
from ._config import WebConfig, WebConfigError
from ._serve import RunningPage, start_page
from ._source import AlarmView, LogEntry, PlotSeries, PointView, WebSource
from ._users import (
    LEVELS,
    User,
    UsersFileError,
    hash_password,
    load_users,
    save_user,
    verify_password,
)

__all__ = [
    "LEVELS",
    "RANGES",
    "AlarmView",
    "LogEntry",
    "PlotSeries",
    "PointView",
    "RunningPage",
    "User",
    "UsersFileError",
    "WebConfig",
    "WebConfigError",
    "WebSource",
    "create_app",
    "hash_password",
    "load_users",
    "save_user",
    "start_page",
    "verify_password",
]
