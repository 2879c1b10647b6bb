"""The page over real HTTP on 127.0.0.1 (aiohttp server, aiohttp client)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.web import WebConfig, WebConfigError, create_app, save_user, start_page

from .memory_source import MemorySource, sample_source

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)


def _clock() -> float:
    return NOW.timestamp()


def _serve(source: MemorySource, config: WebConfig,
           body: Callable[[aiohttp.ClientSession, str], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        page = await start_page(source, config, clock=_clock)
        try:
            jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 (an IP address)
            async with aiohttp.ClientSession(cookie_jar=jar) as client:
                return await body(client, page.url.rstrip("/"))
        finally:
            await page.stop()
    return asyncio.run(run())


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    save_user(path, "admin", "admin", "correct horse")
    save_user(path, "viewer", "viewer", "battery staple")
    return path


def test_index_shows_every_point_with_value_unit_and_age() -> None:
    source = sample_source(NOW)

    async def body(client: aiohttp.ClientSession, url: str) -> str:
        async with client.get(url + "/") as response:
            assert response.status == 200
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            return await response.text()

    page = _serve(source, WebConfig(port=0), body)
    for point in source.current_values():
        row = re.search(rf'<tr data-point="{re.escape(point.point)}">(.*?)</tr>', page, re.S)
        assert row, point.point
        assert f'>{point.value}<' in row.group(1)
        assert f'>{point.unit}<' in row.group(1)
        assert ">900 s<" in row.group(1)  # the last reading is 15 minutes old
    assert "heat above limit" in page
    assert "Acknowledge" not in page.split('id="alarms"')[1].split("</table>")[0].split(
        "<tbody>")[1]  # no action button without an admin login


def test_point_names_and_texts_are_escaped() -> None:
    source = MemorySource()
    source.add("site/<script>alert(1)</script>/x", "<b>", NOW, 1)  # type: ignore[arg-type]

    async def body(client: aiohttp.ClientSession, url: str) -> str:
        async with client.get(url + "/") as response:
            return await response.text()

    page = _serve(source, WebConfig(port=0), body)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_api_series_gives_the_window_and_refuses_unknown_points() -> None:
    source = sample_source(NOW)

    async def body(client: aiohttp.ClientSession, url: str) -> tuple[Any, int, int]:
        async with client.get(url + "/api/series",
                              params={"point": "site/flat3/heat/total_kwh",
                                      "range": "day"}) as response:
            series = await response.json()
        async with client.get(url + "/api/series", params={"point": "nope"}) as response:
            unknown = response.status
        async with client.get(url + "/api/series", params={
                "point": "site/flat3/heat/total_kwh", "range": "year"}) as response:
            bad_range = response.status
        return series, unknown, bad_range

    series, unknown, bad_range = _serve(source, WebConfig(port=0), body)
    expected = source.readings["site/flat3/heat/total_kwh"]
    assert series["times"] == [t.timestamp() for t, _ in expected]
    assert series["values"] == [float(v) for _, v in expected]
    assert series["unit"] == "kWh"
    assert (unknown, bad_range) == (404, 400)


def test_german_page_by_query_and_by_browser_language() -> None:
    source = sample_source(NOW)

    async def body(client: aiohttp.ClientSession, url: str) -> tuple[str, str, str]:
        async with client.get(url + "/", headers={"Accept-Language": "de-DE,de;q=0.9"}) as r:
            by_header = await r.text()
        async with client.get(url + "/", params={"lang": "de"}) as r:
            by_query = await r.text()
        async with client.get(url + "/") as r:  # the cookie remembers the choice
            remembered = await r.text()
        return by_header, by_query, remembered

    for page in _serve(source, WebConfig(port=0), body):
        assert "Aktuelle Werte" in page and 'lang="de"' in page


def test_acknowledge_needs_an_admin_login_and_the_csrf_token(users: Path) -> None:
    source = sample_source(NOW)
    form = {"alarm_id": "flat3-heat-high"}

    async def login(client: aiohttp.ClientSession, url: str, user: str, password: str) -> str:
        async with client.post(url + "/login", data={"user": user, "password": password}) as r:
            assert r.status == 200, await r.text()
            page = await r.text()
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match
        return match.group(1)

    async def body(client: aiohttp.ClientSession, url: str) -> list[int]:
        statuses = []
        async with client.post(url + "/alarms/acknowledge", data=form) as r:
            statuses.append(r.status)  # anonymous
        token = await login(client, url, "viewer", "battery staple")
        async with client.post(url + "/alarms/acknowledge", data={**form, "csrf": token}) as r:
            statuses.append(r.status)  # viewer
        client.cookie_jar.clear()
        token = await login(client, url, "admin", "correct horse")
        async with client.post(url + "/alarms/acknowledge", data=form) as r:
            statuses.append(r.status)  # admin without the token
        async with client.post(url + "/alarms/acknowledge",
                               data={**form, "csrf": token + "x"}) as r:
            statuses.append(r.status)  # admin with a wrong token
        assert source.acknowledged_by == []
        async with client.post(url + "/alarms/acknowledge", data={**form, "csrf": token}) as r:
            statuses.append(r.status)
        return statuses

    statuses = _serve(source, WebConfig(port=0, users_file=users), body)
    assert statuses == [403, 403, 403, 403, 200]
    assert source.acknowledged_by == [("flat3-heat-high", "admin")]
    kinds = [(e.kind, e.message) for e in source.log]
    assert ("acknowledge", "admin acknowledged alarm flat3-heat-high") in kinds
    assert any(kind == "login" and "viewer (viewer) logged in" in text for kind, text in kinds)


def test_failed_logins_are_audited_and_throttled(users: Path) -> None:
    source = sample_source(NOW)

    async def body(client: aiohttp.ClientSession, url: str) -> list[int]:
        statuses = []
        for _ in range(6):
            async with client.post(url + "/login",
                                   data={"user": "admin", "password": "guess"}) as r:
                statuses.append(r.status)
        async with client.post(url + "/login",
                               data={"user": "admin", "password": "correct horse"}) as r:
            statuses.append(r.status)  # locked out even with the right password
        return statuses

    statuses = _serve(source, WebConfig(port=0, users_file=users), body)
    assert statuses == [403] * 5 + [429, 429]
    failures = [e.message for e in source.log if e.kind == "login"]
    assert sum("failed login for 'admin'" in m for m in failures) == 5
    assert sum("too many failures" in m for m in failures) == 2


def test_backup_download_is_for_admins_only(users: Path) -> None:
    source = sample_source(NOW)

    async def body(client: aiohttp.ClientSession, url: str) -> tuple[int, bytes, str]:
        async with client.post(url + "/backup") as r:
            anonymous = r.status
        async with client.post(url + "/login",
                               data={"user": "admin", "password": "correct horse"}) as r:
            token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert token
        async with client.post(url + "/backup", data={"csrf": token.group(1)}) as r:
            return anonymous, await r.read(), r.headers["Content-Disposition"]

    anonymous, archive, disposition = _serve(source, WebConfig(port=0, users_file=users), body)
    assert anonymous == 403
    assert archive == source.backup_bytes
    assert "meterkit-backup-20261203T120000Z" in disposition


def test_beyond_loopback_every_page_needs_a_login(users: Path) -> None:
    with pytest.raises(WebConfigError, match="users_file"):
        WebConfig(host="0.0.0.0", port=0)
    config = WebConfig(host="0.0.0.0", port=0, users_file=users)
    source = sample_source(NOW)

    async def body(client: aiohttp.ClientSession, url: str) -> tuple[int, str, int]:
        async with client.get(url + "/api/current") as r:
            api = r.status
        async with client.get(url + "/") as r:
            landed = str(r.url)
        async with client.post(url + "/login",
                               data={"user": "viewer", "password": "battery staple"}) as r:
            return api, landed, r.status

    async def run() -> tuple[int, str, int]:
        # The rule follows the configured binding; the test itself listens on loopback.
        server = TestServer(create_app(source, config, clock=_clock), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as c:
                return await body(c, str(server.make_url("")).rstrip("/"))
        finally:
            await server.close()

    api, landed, after_login = asyncio.run(run())
    assert api == 401
    assert landed.endswith("/login")
    assert after_login == 200


def test_tls_when_a_certificate_is_configured(tmp_path: Path) -> None:
    from tests.exporters.delivery_support import make_pki

    pki = make_pki(tmp_path)
    config = WebConfig(port=0, tls_cert=pki.server_chain_file, tls_key=pki.server_key_file)
    source = sample_source(NOW)

    async def run() -> tuple[str, int, str]:
        page = await start_page(source, config, clock=_clock)
        try:
            connector = aiohttp.TCPConnector(ssl=pki.client_context())
            async with aiohttp.ClientSession(connector=connector) as client, \
                    client.get(page.url) as response:
                return page.url, response.status, await response.text()
        finally:
            await page.stop()

    url, status, text = asyncio.run(run())
    assert url.startswith("https://127.0.0.1:")
    assert status == 200 and "site/flat3/heat/total_kwh" in text
    with pytest.raises(WebConfigError, match="set both"):
        WebConfig(tls_cert=pki.server_chain_file)
    with pytest.raises(WebConfigError, match="cannot load"):
        WebConfig(tls_cert=pki.ca_file, tls_key=pki.server_key_file).ssl_context()
