"""The package as a user gets it: sdist and wheel built, the wheel installed bare.

``python -m build`` makes the sdist and then the wheel from that sdist (so a file missing
from the sdist shows up here). The wheel goes into a fresh venv with its core
dependencies and no extras; every command is then run from that venv, outside the
source tree, so nothing is imported from the checkout. The build starts from a copy of
the files a fresh clone would hold.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a core dependency before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Top-level packages (the find patterns that name an existing package); a py.typed there
# covers its subpackages (PEP 561).
PACKAGES = [pattern.rstrip("*") for pattern
            in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
            if (ROOT / pattern.rstrip("*") / "__init__.py").exists()]
SCRIPTS = sorted(PYPROJECT["project"]["scripts"])
SCHEMAS = ["alarms/notification.xsd", "exporters/readings.xsd"]
# Importable only through an extra; none may be present in the bare venv.
EXTRA_MODULES = {"serial": "serial", "serial_asyncio_fast": "serial", "paho": "mqtt",
                 "paramiko": "sftp", "lxml": "xml", "gpiod": "gpio",
                 "aiohttp": "web", "jinja2": "web"}


@dataclass(frozen=True)
class Dist:
    source: Path  # the clean copy it was built from
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class BareInstall:
    bin: Path
    home: Path  # the working directory of every command: outside the source tree


def run(args: list[str | Path], *, cwd: Path, timeout: float = 600,
        stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    return subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)


def clean_source_tree(target: Path) -> Path:
    """Copy what a fresh clone would hold (tracked and new, not ignored files) to ``target``.

    Building in the checkout would reuse its ``meterkit.egg-info`` (left by the editable
    install), whose file list can add files that the configuration no longer ships.
    """
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=ROOT, capture_output=True,
                             check=True, timeout=60)
    for name in listing.stdout.decode().split("\0"):
        source = ROOT / name
        if name and source.is_file():  # a deleted but still tracked file is skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    source = clean_source_tree(tmp_path_factory.mktemp("source"))
    result = run([sys.executable, "-m", "build", "--outdir", out, source], cwd=out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("meterkit-*.tar.gz")
    (wheel,) = out.glob("meterkit-*-py3-none-any.whl")
    return Dist(source, sdist, wheel)


@pytest.fixture(scope="module")
def bare(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> BareInstall:
    home = tmp_path_factory.mktemp("bare")
    venv = home / "venv"
    result = run([sys.executable, "-m", "venv", venv], cwd=home)
    assert result.returncode == 0, result.stderr
    result = run([venv / "bin" / "python", "-m", "pip", "install", "--quiet",
                  "--disable-pip-version-check", dist.wheel], cwd=home)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return BareInstall(venv / "bin", home)


def test_sdist_holds_the_license_schemas_and_type_markers(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {"LICENSE", "README.md", "pyproject.toml", *SCHEMAS,
                *(f"{package}/py.typed" for package in PACKAGES),
                *(f"{package}/__init__.py" for package in PACKAGES)}
    assert expected <= names, sorted(expected - names)


def test_wheel_holds_the_license_schemas_and_type_markers(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
        (license_name,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        license_text = archive.read(license_name).decode()
    modules = {path.relative_to(dist.source).as_posix() for package in PACKAGES
               for path in (dist.source / package).rglob("*.py")}
    web_files = {path.relative_to(dist.source).as_posix() for folder in ("templates", "static")
                 for path in (dist.source / "gateway" / "web" / folder).rglob("*")
                 if path.is_file()}
    assert "gateway/web/static/uplot/LICENSE" in web_files
    expected = {*SCHEMAS, *modules, *web_files,
                *(f"{package}/py.typed" for package in PACKAGES)}
    assert expected <= names, sorted(expected - names)  # e.g. a subpackage not listed
    assert "License-Expression: BSD-3-Clause" in metadata
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "BSD 3-Clause License" in license_text and "2026, meterkit developers" in license_text


def test_the_bare_install_imports_every_package_and_finds_its_data(bare: BareInstall) -> None:
    script = f"""
import importlib, importlib.util, json
from importlib import resources
packages = {PACKAGES!r}
files = {{p: sorted(f.name for f in resources.files(p).iterdir()
                   if f.name.endswith((".xsd", "py.typed"))) for p in packages}}
for p in packages:
    module = importlib.import_module(p)
    assert "site-packages" in module.__file__, module.__file__
extras = sorted(m for m in {sorted(EXTRA_MODULES)!r} if importlib.util.find_spec(m))
try:
    importlib.import_module("gateway.web")
    web_error = ""
except ImportError as error:
    web_error = str(error)
print(json.dumps({{"files": files, "extras": extras, "web_error": web_error}}))
"""
    result = run([bare.bin / "python", "-c", script], cwd=bare.home)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["extras"] == [], "the bare venv must not have optional packages"
    assert "pip install 'meterkit[web]'" in found["web_error"]
    for package in PACKAGES:
        assert "py.typed" in found["files"][package], package
    for schema in SCHEMAS:
        package, name = schema.split("/")
        assert name in found["files"][package], schema


def subcommands(bare: BareInstall, script: str) -> list[str]:
    result = run([bare.bin / "python", "-c", f"""
import argparse, sys
from importlib.metadata import entry_points
(entry,) = [e for e in entry_points(group="console_scripts") if e.name == {script!r}]
found = []
def record(self, args=None, namespace=None):
    for action in self._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices)
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = record
try:
    entry.load()([])
except SystemExit:
    pass
print(" ".join(found))
"""], cwd=bare.home)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_command_and_subcommand_answers_help(bare: BareInstall, script: str) -> None:
    result = run([bare.bin / script, "--help"], cwd=bare.home)
    assert result.returncode == 0 and result.stdout.startswith("usage:"), result.stderr
    commands = subcommands(bare, script)
    assert commands, f"{script} has no subcommands?"
    for command in commands:
        result = run([bare.bin / script, command, "--help"], cwd=bare.home)
        assert result.returncode == 0 and result.stdout.startswith("usage:"), (
            command, result.stderr)


# Each command that needs an optional package, as a user would first run it.
NEEDS_EXTRA = [
    (["mbus", "read", "--url", "socket://127.0.0.1:9", "--address", "1"], "serial"),
    (["mbus", "scan", "--url", "/dev/ttyUSB0"], "serial"),
    (["mbus", "bridge", "--serial", "/dev/ttyUSB0", "--listen", "127.0.0.1:0"], "serial"),
    (["wmbus", "listen", "--url", "/dev/ttyUSB0", "--dongle", "im871a"], "serial"),
    (["wmbus", "gateway", "--url", "/dev/ttyUSB0", "--dongle", "im871a",
      "--bus", "/dev/ttyUSB1"], "serial"),
    (["s0", "watch", "--line", "3", "--imp-per-unit", "1000"], "gpio"),
    (["exporters", "mqtt", "--broker", "127.0.0.1:9"], "mqtt"),
    (["exporters", "validate", "FILE"], "xml"),
    (["exporters", "upload", "--spool", "SPOOL", "--host-key", "SHA256:" + "A" * 43,
      "sftp://user@127.0.0.1:9/in", "FILE"], "sftp"),
]


@pytest.mark.parametrize(("argv", "extra"), NEEDS_EXTRA, ids=lambda v: "-".join(v)[:40]
                         if isinstance(v, list) else v)
def test_a_missing_extra_is_one_line_naming_it(bare: BareInstall, argv: list[str],
                                                extra: str) -> None:
    document = bare.home / "readings.xml"
    document.write_text("<x/>", encoding="utf-8")
    argv = [str(document) if arg == "FILE" else str(bare.home / "spool") if arg == "SPOOL"
            else arg for arg in argv]
    result = run([bare.bin / argv[0], *argv[1:]], cwd=bare.home, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"meterkit[{extra}]" in lines[0], result.stderr


def test_the_demo_runs_from_the_bare_wheel(bare: BareInstall) -> None:
    out = bare.home / "demo-output"
    result = run([bare.bin / "meterkit", "demo", "--dir", out, "--for", "3", "--speed", "600"],
                 cwd=bare.home)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "wired M-Bus: segment tcp://127.0.0.1:" in result.stdout
    assert "XML not checked against the XSD: pip install 'meterkit[xml]'" in result.stdout
    assert (out / "history.sqlite").is_file() and (out / "audit.log").is_file()
    assert any((out / "exports").glob("readings_*.csv"))
