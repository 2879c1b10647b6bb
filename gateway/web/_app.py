"""The gateway's web page: an aiohttp application over a :class:`WebSource`.

Pages are rendered by Jinja2 with autoescaping; the browser script (static/app.js) only
refreshes values and draws plots with the vendored uPlot, so the Content-Security-Policy
allows scripts from this origin alone. Actions are POST forms carrying the session's CSRF
token and need an admin login.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from ._config import WebConfig
from ._i18n import LANGUAGES, TEXTS, pick_language
from ._sessions import Session, SessionStore
from ._source import PointView, WebSource
from ._users import User, load_users, verify_password

__all__ = ["RANGES", "create_app"]

_HERE = Path(__file__).parent
SESSION_COOKIE = "meterkit_session"
LANGUAGE_COOKIE = "meterkit_lang"
RANGES = {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7),
          "month": dt.timedelta(days=31)}
_LOG_LIMIT = 200

_SOURCE: web.AppKey[WebSource] = web.AppKey("source", WebSource)
_CONFIG = web.AppKey("config", WebConfig)
_SESSIONS = web.AppKey("sessions", SessionStore)
_USERS = web.AppKey("users", dict)
_TEMPLATES = web.AppKey("templates", jinja2.Environment)
_CLOCK = web.AppKey("clock", object)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # exact, and never in exponent notation
    return "" if value is None else str(value)


def _age_seconds(point: PointView, now: dt.datetime) -> int:
    return max(0, int((now - point.time).total_seconds()))


def _now(request: web.Request) -> dt.datetime:
    clock: Callable[[], float] = request.app[_CLOCK]  # type: ignore[assignment]
    return dt.datetime.fromtimestamp(clock(), dt.timezone.utc)


def _session(request: web.Request) -> Session | None:
    store = request.app[_SESSIONS]
    return store.get(request.cookies.get(SESSION_COOKIE), time.monotonic())


def _language(request: web.Request) -> str:
    return pick_language(request.query.get("lang"), request.cookies.get(LANGUAGE_COOKIE),
                         request.headers.get("Accept-Language"))


def _render(request: web.Request, template: str, status: int = 200,
            **context: Any) -> web.Response:
    language = _language(request)
    session = _session(request)
    page = request.app[_TEMPLATES].get_template(template).render(
        t=TEXTS[language], lang=language,
        other_lang=next(code for code in LANGUAGES if code != language),
        session=session, logins=bool(request.app[_USERS]),
        refresh_seconds=request.app[_CONFIG].refresh_seconds, **context)
    response = web.Response(text=page, content_type="text/html", status=status)
    if request.query.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, samesite="Strict", max_age=365 * 86400)
    return response


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Login beyond loopback, and headers that keep the page in its own origin."""
    config = request.app[_CONFIG]
    open_paths = ("/login", "/static/")
    if config.login_required_to_view and _session(request) is None and \
            not request.path.startswith(open_paths):
        if request.path.startswith("/api/"):
            raise web.HTTPUnauthorized(text="log in first")
        raise web.HTTPFound("/login")
    response = await handler(request)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _meters(points: list[PointView]) -> list[tuple[str, list[PointView]]]:
    grouped: dict[str, list[PointView]] = {}
    for point in points:
        grouped.setdefault(point.meter, []).append(point)
    return list(grouped.items())


async def _index(request: web.Request) -> web.Response:
    source = request.app[_SOURCE]
    points = source.current_values()
    return _render(request, "index.html", meters=_meters(points), now=_now(request),
                   alarms=source.alarms(), format_value=_format_value, age=_age_seconds)


async def _point_page(request: web.Request) -> web.Response:
    name = request.query.get("name", "")
    window = request.query.get("range", "day")
    if window not in RANGES:
        window = "day"
    known = {point.point: point for point in request.app[_SOURCE].current_values()}
    if name not in known:
        return _render(request, "message.html", status=404, key="unknown_point")
    return _render(request, "point.html", point=known[name], window=window,
                   ranges=tuple(RANGES), format_value=_format_value)


def _current_json(request: web.Request) -> list[dict[str, object]]:
    now = _now(request)
    return [{"point": p.point, "meter": p.meter, "value": _format_value(p.value),
             "unit": p.unit, "time": p.time.isoformat(), "age_s": _age_seconds(p, now),
             "quality": list(p.quality)} for p in request.app[_SOURCE].current_values()]


async def _api_current(request: web.Request) -> web.Response:
    return web.json_response(_current_json(request))


async def _api_series(request: web.Request) -> web.Response:
    name = request.query.get("point", "")
    window = RANGES.get(request.query.get("range", "day"))
    if window is None:
        raise web.HTTPBadRequest(text=f"range must be one of {', '.join(RANGES)}")
    until = _now(request)
    series = request.app[_SOURCE].series(name, until - window, until)
    if series is None:
        raise web.HTTPNotFound(text=f"unknown point {name!r}")
    return web.json_response({
        "point": series.point, "unit": series.unit,
        "times": [t.timestamp() for t in series.times], "values": list(series.values)})


async def _logs(request: web.Request) -> web.Response:
    source = request.app[_SOURCE]
    return _render(request, "logs.html",
                   deliveries=source.logs(("delivery",), _LOG_LIMIT),
                   audit=source.logs((), _LOG_LIMIT))


async def _configuration(request: web.Request) -> web.Response:
    return _render(request, "config.html", text=request.app[_SOURCE].configuration())


async def _login_page(request: web.Request) -> web.Response:
    if not request.app[_USERS]:
        return _render(request, "message.html", status=404, key="login_needed")
    return _render(request, "login.html", failed=False)


async def _login(request: web.Request) -> web.Response:
    users: dict[str, User] = request.app[_USERS]
    store = request.app[_SESSIONS]
    source = request.app[_SOURCE]
    form = await request.post()
    name = str(form.get("user", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    now = time.monotonic()
    peer = request.remote or "?"
    if store.locked_out(name, now):
        source.audit("login", f"login refused for {name!r} from {peer}: too many failures")
        return _render(request, "login.html", status=429, failed=True)
    user = users.get(name)
    if user is None or not verify_password(password, user.password_hash):
        store.failed(name, now)
        source.audit("login", f"failed login for {name!r} from {peer}")
        return _render(request, "login.html", status=403, failed=True)
    token = store.open(user.name, user.level, now)
    source.audit("login", f"{user.name} ({user.level}) logged in from {peer}")
    response = web.HTTPFound("/")
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict",
                        secure=request.secure, max_age=int(store.lifetime))
    raise response


def _admin_action(request: web.Request, form: Any) -> Session:
    store = request.app[_SESSIONS]
    session = _session(request)
    if session is None or not store.csrf_ok(session, str(form.get("csrf", ""))):
        raise web.HTTPForbidden(text="log in first (or the form is stale: reload the page)")
    if not session.is_admin:
        raise web.HTTPForbidden(text=TEXTS[_language(request)]["forbidden"])
    return session


async def _logout(request: web.Request) -> web.Response:
    form = await request.post()
    session = _session(request)
    if session is not None and request.app[_SESSIONS].csrf_ok(session, str(form.get("csrf"))):
        request.app[_SESSIONS].close(request.cookies.get(SESSION_COOKIE))
        request.app[_SOURCE].audit("login", f"{session.user} logged out")
    response = web.HTTPFound("/")
    response.del_cookie(SESSION_COOKIE)
    raise response


async def _acknowledge(request: web.Request) -> web.Response:
    form = await request.post()
    session = _admin_action(request, form)
    alarm_id = str(form.get("alarm_id", ""))
    source = request.app[_SOURCE]
    if source.acknowledge(alarm_id, session.user):
        source.audit("acknowledge", f"{session.user} acknowledged alarm {alarm_id}")
    raise web.HTTPFound("/#alarms")


async def _backup(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    session = _admin_action(request, form)
    source = request.app[_SOURCE]
    archive = source.backup()
    if archive is None:
        return _render(request, "message.html", status=404, key="no_backup")
    source.audit("backup", f"{session.user} downloaded a configuration backup")
    stamp = _now(request).strftime("%Y%m%dT%H%M%SZ")
    return web.Response(body=archive, content_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="meterkit-backup-{stamp}.bin"'})


def create_app(source: WebSource, config: WebConfig | None = None, *,
               clock: Callable[[], float] = time.time) -> web.Application:
    """The web application for ``source``; serve it with :func:`serve` or aiohttp's runners.

    ``clock`` gives the wall time (seconds since the epoch) for ages and plot windows.
    """
    config = config or WebConfig()
    app = web.Application(middlewares=[_guard], client_max_size=64 * 1024)
    app[_SOURCE] = source
    app[_CONFIG] = config
    app[_SESSIONS] = SessionStore()
    app[_USERS] = load_users(config.users_file) if config.users_file is not None else {}
    app[_TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined)
    app[_CLOCK] = clock
    app.router.add_get("/", _index)
    app.router.add_get("/point", _point_page)
    app.router.add_get("/logs", _logs)
    app.router.add_get("/config", _configuration)
    app.router.add_get("/login", _login_page)
    app.router.add_post("/login", _login)
    app.router.add_post("/logout", _logout)
    app.router.add_post("/alarms/acknowledge", _acknowledge)
    app.router.add_post("/backup", _backup)
    app.router.add_get("/api/current", _api_current)
    app.router.add_get("/api/series", _api_series)
    app.router.add_static("/static/", _HERE / "static")
    return app
