"""Suite-wide settings: the CI skip rule and the hypothesis profiles.

Under ``CI=true`` a skipped test fails the run unless its node id matches an entry of
:data:`SKIP_ALLOWLIST`, so a missing peer (mosquitto, openssl, the shared corpus) cannot
quietly turn tests off. Locally, skips are reported as usual.

Hypothesis profiles: ``ci`` (chosen by ``CI=true``) drops the per-example deadline,
which only measures how busy the shared machine is; ``soak`` (``make soak``) runs 1000
examples where a test does not set its own count; ``fuzz`` is the campaign of ``make fuzz``
(its example count comes from ``FUZZ_EXAMPLES``). ``HYPOTHESIS_PROFILE`` picks one
explicitly.
"""

from __future__ import annotations

import fnmatch
import os

import pytest
from hypothesis import HealthCheck, settings

# Node-id patterns (fnmatch) of tests allowed to skip under CI=true, each with its reason.
# An entry names a real limit of the CI machine, never a peer that .ci/run can install.
SKIP_ALLOWLIST: dict[str, str] = {
    # Empty today: every skip seen under CI=true was a missing peer or corpus, fixed in
    # .ci/run. Add e.g. "tests/s0/test_s0_gpio_hardware.py::*": "needs a real GPIO chip".
}

# CI draws the same examples on every run, so a landing is never decided by which inputs
# a random draw happened to find; searching for new failures is `make fuzz` / `make soak`.
# No profile has a deadline: a per-example time limit is a timed assertion, and it fails
# whenever the machine is busy (speed is measured in benchmarks/, never asserted here).
settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.register_profile("soak", deadline=None, print_blob=True, max_examples=1000)
settings.register_profile(
    "fuzz",
    deadline=None,
    print_blob=True,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def running_in_ci() -> bool:
    """True when the CI environment variable says so (``CI=true``, as CI services set)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif running_in_ci():
    settings.load_profile("ci")
else:
    settings.load_profile("dev")


def allowed_skip(nodeid: str) -> str | None:
    """The allow-list reason for skipping ``nodeid``, or None when it may not skip."""
    for pattern, reason in SKIP_ALLOWLIST.items():
        if fnmatch.fnmatchcase(nodeid, pattern):
            return reason
    return None


class SkipGuard:
    """Collects the skips CI does not allow and fails the session on them."""

    def __init__(self) -> None:
        self.unexpected: list[tuple[str, str]] = []

    def note(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        # xfail is not a skip: the test ran.
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        if allowed_skip(report.nodeid) is None:
            longrepr = report.longrepr
            message = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.unexpected.append((report.nodeid, message))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.note(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.note(report)  # a whole module skipped at import time

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.unexpected:
            terminalreporter.section("skips not on the CI allow-list (tests/conftest.py)",
                                     red=True)
            for nodeid, message in self.unexpected:
                terminalreporter.line(f"{nodeid}: {message}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.unexpected and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    """Under CI=true, install the skip guard."""
    if running_in_ci():
        config.pluginmanager.register(SkipGuard(), "meterkit-skip-guard")
