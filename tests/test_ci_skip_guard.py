"""The CI skip rule of tests/conftest.py, run on a throw-away suite in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

SUITE = '''
import pytest

def test_runs() -> None:
    pass

def test_gpio_hardware() -> None:
    pytest.skip("no GPIO chip here")

@pytest.mark.xfail(reason="known", strict=True)
def test_known_bug() -> None:
    raise AssertionError
'''


def run_suite(tmp_path: Path, *, ci: str | None,
              allow: str = "") -> subprocess.CompletedProcess[str]:
    conftest = CONFTEST.read_text(encoding="utf-8")
    marker = "SKIP_ALLOWLIST: dict[str, str] = {\n"
    assert marker in conftest
    (tmp_path / "conftest.py").write_text(conftest.replace(marker, marker + allow),
                                          encoding="utf-8")
    (tmp_path / "test_suite.py").write_text(SUITE, encoding="utf-8")
    env = {key: value for key, value in os.environ.items()
           if key not in {"CI", "HYPOTHESIS_PROFILE"}}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_skip_fails_the_run_under_ci(tmp_path: Path) -> None:
    result = run_suite(tmp_path, ci="true")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "skips not on the CI allow-list" in result.stdout
    assert "test_suite.py::test_gpio_hardware: Skipped: no GPIO chip here" in result.stdout
    assert "test_known_bug" not in result.stdout.split("allow-list")[1]  # xfail ran


def test_a_skip_is_only_reported_outside_ci(tmp_path: Path) -> None:
    result = run_suite(tmp_path, ci=None)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "allow-list" not in result.stdout


def test_an_allow_listed_skip_passes_under_ci(tmp_path: Path) -> None:
    entry = '    "test_suite.py::test_gpio_*": "needs a real GPIO chip",\n'
    result = run_suite(tmp_path, ci="true", allow=entry)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "allow-list" not in result.stdout
