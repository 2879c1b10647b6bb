"""The page of a running demo site (`meterkit demo --serve --port N --users FILE`) in
headless Chromium: values appear and update, a plot draws its data points, an admin logs
in and acknowledges an alarm, and the acknowledgement reaches the history's audit log."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from .browser import chromium, require_chromium, series_pixels

ROOT = Path(__file__).resolve().parents[3]
WAIT = 90  # bounded waits for the site's simulated clock and the browser, not a speed check


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _meterkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway", *args]


@contextlib.contextmanager
def running_demo(folder: Path, users: Path) -> Iterator[str]:
    """The demo site serving its page; yields the page's URL; interrupted on exit."""
    command = _meterkit("demo", "--serve", "--port", str(_free_port()), "--users", str(users),
                        "--dir", str(folder / "site"), "--speed", "300", "--for", "240")
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: Queue[str] = Queue()
    assert process.stdout is not None
    def forward() -> None:
        for line in process.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=WAIT)
            except Empty:
                raise AssertionError(f"the demo printed no page URL: {seen}") from None
            seen.append(line)
            found = re.search(r"web page at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                break
            assert process.poll() is None, f"the demo ended: {seen}"
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)


def test_demo_page_in_a_browser(tmp_path: Path) -> None:
    require_chromium()
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    users = tmp_path / "users.toml"
    created = subprocess.run(_meterkit("web-user", str(users), "operator", "--level", "admin"),
                             input="a demo password\n", text=True, capture_output=True,
                             cwd=ROOT, check=False)
    assert created.returncode == 0, created.stderr

    with running_demo(tmp_path, users) as url, chromium(tmp_path / "profile") as browser:
        wait = WebDriverWait(browser, WAIT, poll_frequency=0.5,
                             # Chromium may report a replaced row as "Node with given id
                             # does not belong to the document" (a plain WebDriverException).
                             ignored_exceptions=(StaleElementReferenceException,
                                                 WebDriverException))

        def values() -> dict[str, str]:
            return {row.get_attribute("data-point") or "": row.find_element(
                        By.CSS_SELECTOR, "td.value").text
                    for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-point]")}

        browser.get(url)
        snapshot: dict[str, str] = {}

        def shown(_: object) -> bool:
            # read inside wait.until: the page's script replaces rows while we read them
            snapshot.clear()
            snapshot.update(values())
            return len(snapshot) >= 5

        wait.until(shown)  # points appear as the site reads them
        first = dict(snapshot)
        changed: list[str] = []

        def some_value_changed(_: object) -> bool:
            now = values()
            changed[:] = [p for p, v in now.items() if p in first and v != first[p]]
            return bool(changed)

        wait.until(some_value_changed)  # and update without a reload
        point = changed[0]
        stored = {row[0] for row in sqlite3.connect(tmp_path / "site" / "history.sqlite")
                  .execute("SELECT DISTINCT point FROM readings")}
        wait.until(shown)
        assert set(snapshot) <= stored  # the page shows the names stored in the history

        browser.get(f"{url}point?name={point}&range=day")
        chart = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#chart[data-points]"))
        assert int(chart.get_attribute("data-points") or 0) >= 2
        assert browser.save_screenshot(str(tmp_path / "demo-plot.png"))
        drawn = series_pixels(browser)
        assert drawn > 50, drawn

        browser.get(url + "login")
        browser.find_element(By.ID, "user").send_keys("operator")
        browser.find_element(By.ID, "password").send_keys("a demo password")
        browser.find_element(By.ID, "login-submit").click()
        wait.until(lambda b: "operator (admin)" in b.find_element(By.TAG_NAME, "header").text)

        def an_acknowledge_button(b: object) -> Any:
            buttons = browser.find_elements(By.CSS_SELECTOR, "button.acknowledge")
            if not buttons:
                browser.refresh()  # alarms are rendered with the page
            return buttons[0] if buttons else False

        button = wait.until(an_acknowledge_button)
        row = button.find_element(By.XPATH, "ancestor::tr")
        alarm_id = row.get_attribute("data-alarm")
        button.click()
        wait.until(lambda b: "acknowledged" in b.find_element(
            By.CSS_SELECTOR, f'tr[data-alarm="{alarm_id}"] td.state').text
            if b.find_elements(By.CSS_SELECTOR, f'tr[data-alarm="{alarm_id}"]') else True)

    with contextlib.closing(sqlite3.connect(tmp_path / "site" / "history.sqlite")) as db:
        audit = [row[0] for row in db.execute("SELECT message FROM audit")]
    assert f"operator acknowledged alarm {alarm_id}" in audit
    assert any("operator (admin) logged in" in message for message in audit)
