"""Headless Chromium for the page's browser tests (Debian's chromium + chromium-driver).

Selenium is pointed at the Debian binaries so it never tries to download a driver, and
Chromium is started with the flags that keep it off the network (this machine's network
is closed: background requests would be refused, many at a time).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.web import RunningPage, WebConfig, WebSource, start_page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def require_chromium() -> None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("headless browser tests need Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver; .ci/run installs them)")


@contextmanager
def chromium(profile_dir: Path) -> Iterator[Any]:
    """A headless Chromium driven by selenium; closed on exit."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,900", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def served_in_thread(source: WebSource, config: WebConfig) -> Iterator[str]:
    """Serve the page from a background event loop; yields its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    page: RunningPage = asyncio.run_coroutine_threadsafe(
        start_page(source, config), loop).result(timeout=30)
    try:
        yield page.url
    finally:
        asyncio.run_coroutine_threadsafe(page.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def series_pixels(browser: Any) -> int:
    """How many pixels of the plot's canvas have the series colour (#1f6feb in app.js):
    more than a few hundred means the line and its points were drawn."""
    count: int = browser.execute_script("""
        const canvas = document.querySelector('#chart canvas');
        const data = canvas.getContext('2d').getImageData(
            0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (Math.abs(data[i] - 31) < 40 && Math.abs(data[i + 1] - 111) < 40 &&
              Math.abs(data[i + 2] - 235) < 40 && data[i + 3] > 100) n++;
        }
        return n;""")
    return count


def while_reloading(condition: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``condition`` for a ``WebDriverWait`` on a page that navigates (a login, a form
    posted): an element found on the page that is going may be gone before it is read.
    Selenium says so as a stale element, or Chromium's inspector as a node that "does not
    exist"; either way the wait polls again (and still fails when its time is up)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def check(browser: Any) -> Any:
        try:
            return condition(browser)
        except StaleElementReferenceException:
            return False
        except WebDriverException as error:
            if "does not exist" in str(error.msg):
                return False
            raise
    return check
