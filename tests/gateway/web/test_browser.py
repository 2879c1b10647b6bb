"""The page in a real browser (headless Chromium): values appear and update, a plot draws
its data points, an admin logs in and acknowledges an alarm."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from gateway.web import WebConfig, save_user

from .browser import chromium, series_pixels, served_in_thread, while_reloading
from .memory_source import sample_source

# Bounded waits for the browser's own pace (polling, not a speed assertion).
WAIT = 30


def test_values_update_plot_draws_and_admin_acknowledges(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    source = sample_source(now)
    users = tmp_path / "users.toml"
    save_user(users, "admin", "admin", "correct horse")
    heat = "site/flat3/heat/total_kwh"
    config = WebConfig(port=0, users_file=users, refresh_seconds=1)

    with served_in_thread(source, config) as url, chromium(tmp_path / "profile") as browser:
        wait = WebDriverWait(browser, WAIT)
        browser.get(url)
        cell = browser.find_element(By.CSS_SELECTOR, f'tr[data-point="{heat}"] td.value')
        assert cell.text == "1095.5"

        source.add(heat, "kWh", now, Decimal("2000.25"))  # a new reading arrives
        wait.until(while_reloading(lambda b: b.find_element(
            By.CSS_SELECTOR, f'tr[data-point="{heat}"] td.value').text == "2000.25"))

        browser.find_element(By.LINK_TEXT, heat).click()
        chart = wait.until(while_reloading(
            lambda b: b.find_element(By.CSS_SELECTOR, "#chart[data-points]")))
        # 97 readings; the oldest (exactly a day before ``now``) is out of the day window.
        assert chart.get_attribute("data-points") == "96"
        screenshot = tmp_path / "plot.png"
        assert browser.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 5000
        # The series colour on the plot's canvas: the line and points were drawn.
        drawn = series_pixels(browser)
        assert drawn > 500, drawn

        browser.get(url + "login")
        browser.find_element(By.ID, "user").send_keys("admin")
        browser.find_element(By.ID, "password").send_keys("correct horse")
        browser.find_element(By.ID, "login-submit").click()
        wait.until(while_reloading(
            lambda b: "admin (admin)" in b.find_element(By.TAG_NAME, "header").text))
        browser.find_element(By.CSS_SELECTOR,
                             'tr[data-alarm="flat3-heat-high"] button.acknowledge').click()
        # "active, unacknowledged" until the page after the acknowledgement shows.
        wait.until(while_reloading(lambda b: b.find_element(
            By.CSS_SELECTOR, 'tr[data-alarm="flat3-heat-high"] td.state'
        ).text.split()[-1] == "acknowledged"))
    assert source.acknowledged_by == [("flat3-heat-high", "admin")]
