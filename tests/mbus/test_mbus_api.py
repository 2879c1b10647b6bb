"""The shape of the public API: a small namespace, lower-level modules, one bus in two forms."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import mbus
import mbus.procedures
import mbus.records
import mbus.sim
import mbus.transports
from mbus.sim import Segment, SimulatedPort, random_meters

REPO = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_mbus_imports_no_asyncio_ssl_or_socket() -> None:
    loaded = _fresh("import sys, mbus; print(sorted(m for m in ('asyncio', 'ssl', 'socket',"
                    " 'select', 'serial') if m in sys.modules))")
    assert loaded == "[]"


def test_the_cli_modules_do_not_import_each_other_in_a_cycle() -> None:
    assert _fresh("import sys, mbus._cli_bus, mbus._cli_decode; "
                  "print('mbus._cli' in sys.modules)") == "False"
    # the command line loads asyncio only for the commands that serve TCP
    assert _fresh("import sys, mbus._cli; print('asyncio' in sys.modules)") == "False"


def test_the_namespace_is_small_and_documented() -> None:
    assert len(mbus.__all__) <= 50
    assert sorted(mbus.__all__) == sorted(set(mbus.__all__))
    for module in (mbus, mbus.procedures, mbus.records, mbus.sim, mbus.transports):
        assert module.__doc__
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert value.__doc__, f"{module.__name__}.{name} has no docstring"


def test_public_names_are_defined_once_across_the_layers() -> None:
    # Apart from build_record (records are built at both levels), a name lives in one place.
    layers = [mbus, mbus.procedures, mbus.records, mbus.sim, mbus.transports]
    seen: dict[str, str] = {}
    for module in layers:
        for name in module.__all__:
            if name != "build_record":
                assert name not in seen, f"{name} in {seen.get(name)} and {module.__name__}"
            seen[name] = module.__name__


def test_moved_names_still_work_with_a_deprecation_warning() -> None:
    # In a fresh interpreter: the first use of a moved name binds it in mbus.
    printed = _fresh(
        "import importlib, warnings, mbus\n"
        "bad = []\n"
        "for name, module in mbus._MOVED.items():\n"
        "    with warnings.catch_warnings(record=True) as caught:\n"
        "        warnings.simplefilter('always')\n"
        "        value = getattr(mbus, name)\n"
        "        again = getattr(mbus, name)\n"
        "    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]\n"
        "    if value is not getattr(importlib.import_module(module), name) or again is not value"
        " or messages != [f'mbus.{name} moved to {module}.{name}']:\n"
        "        bad.append((name, messages))\n"
        "print(len(mbus._MOVED), bad)")
    assert printed == f"{len(mbus._MOVED)} []"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        mbus.nothing_here  # noqa: B018
    assert not set(mbus._MOVED) & set(mbus.__all__)


def _public_methods(cls: type) -> dict[str, Any]:
    return {name: member for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")}


def test_bus_and_async_bus_have_the_same_methods_and_signatures() -> None:
    sync, awaited = _public_methods(mbus.Bus), _public_methods(mbus.AsyncBus)
    assert sorted(sync) == sorted(awaited)
    assert len(sync) >= 13
    for name, method in sync.items():
        assert inspect.signature(method) == inspect.signature(awaited[name]), name
        assert not inspect.iscoroutinefunction(method)
        assert inspect.iscoroutinefunction(awaited[name]), name
    init_sync = inspect.signature(mbus.Bus.__init__).parameters
    init_awaited = inspect.signature(mbus.AsyncBus.__init__).parameters
    assert [(p.name, p.kind, p.default) for p in init_sync.values()] == [
        (p.name, p.kind, p.default) for p in init_awaited.values()]


def _calls(bus: Any, address: mbus.SecondaryAddress) -> list[Any]:
    """The same calls on either bus; for AsyncBus each returns an awaitable."""
    return [
        lambda: bus.scan_primary(range(6)),
        lambda: bus.scan_secondary(),
        lambda: bus.read(2),
        lambda: bus.read_all([1, address, 9]),
        lambda: bus.read_class1(1),
        lambda: bus.set_primary_address(address, 17),
        lambda: bus.read(17),
        lambda: bus.reset(17, 0x10),
    ]


def _outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except mbus.MBusError as error:
        return ("error", type(error), str(error))


async def _outcome_async(call: Any) -> Any:
    try:
        return ("ok", await call())
    except mbus.MBusError as error:
        return ("error", type(error), str(error))


def test_bus_and_async_bus_do_the_same_on_the_same_segment() -> None:
    def segment() -> Segment:
        return Segment(random_meters(3, seed=21, max_pages=2))

    sync_port = SimulatedPort(segment())
    address = sync_port.segment.slaves[0].secondary
    bus = mbus.Bus(sync_port)
    sync_results = [_outcome(call) for call in _calls(bus, address)]

    async_port = SimulatedPort(segment())

    async def run() -> list[Any]:
        async with mbus.AsyncBus(async_port.awaitable()) as bus:
            return [await _outcome_async(call) for call in _calls(bus, address)]

    async_results = asyncio.run(run())
    # repr: the errors inside read_all's entries are exceptions, which compare by identity
    assert repr(async_results) == repr(sync_results)
    assert (async_port.writes, async_port.clock) == (sync_port.writes, sync_port.clock)
    kinds = [result[0] for result in sync_results]
    assert kinds == ["ok"] * len(kinds)
    assert len(sync_results[0][1]) == 3  # three meters answered the primary scan


def test_the_driver_loop_reports_progress_on_both_buses() -> None:
    seen: dict[str, list[Any]] = {"sync": [], "async": []}
    mbus.Bus(SimulatedPort(Segment(random_meters(2, seed=3))),
             on_progress=seen["sync"].append).scan_secondary()

    async def run() -> None:
        port = SimulatedPort(Segment(random_meters(2, seed=3))).awaitable()
        await mbus.AsyncBus(port, on_progress=seen["async"].append).scan_secondary()

    asyncio.run(run())
    assert seen["sync"] == seen["async"]
    assert any(isinstance(event, mbus.procedures.MeterFound) for event in seen["sync"])


def test_no_warning_from_the_new_paths() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mbus.records.encode_manufacturer("KAM") == 0x2C2D
        assert mbus.sim.Segment([]).slaves == []
