"""Hostile input: every loader and entry point raises only s0's own errors.

First the findings of the mutation campaign of issue 10, each pinned; then hypothesis
properties that seed every loader with a valid document and mutate it (structure-aware for
saved dicts, character-level for files), and that feed channels and configurations
arbitrary values.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from s0 import (
    Channel,
    ChannelConfig,
    ConfigError,
    EdgeError,
    ReplayInputError,
    S0Counter,
    S0Error,
    StateError,
    load_state_file,
    main,
    read_edges_csv,
    replay_edges,
    save_state_file,
)
from tests import mutations
from tests.mutations import mutated_bytes, mutated_text

D = Decimal
EDGES_CSV = "time,level\n0,1\n0.05,0\n0.5,1\n0.52,0\n1.0,1\n1.06,0\n2.0,1\n"


def _busy_counter() -> S0Counter:
    """Two channels with counts, rejections, a roll-over and a pending level change."""
    counter = S0Counter(
        {
            "grid": ChannelConfig(imp_per_unit=1000, offset="99.999", rollover=100),
            "gas": ChannelConfig(imp_per_unit=100, unit="m3", decimals=2, initial_level=1),
        }
    )
    for name in counter:
        for time, level in [("0.1", 0), ("1", 1), ("1.05", 0), ("1.5", 1), ("1.51", 0)]:
            counter.feed_edge(name, D(time), level)
        counter.feed_edge(name, D("3"), 1)
        counter.feed_edge(name, D("3.2"), 0)
        counter.feed_edge(name, D("4"), 1)  # left pending: the debounce runs
    return counter


COUNTER_STATE = json.loads(json.dumps(_busy_counter().save()))
CHANNEL_STATE = COUNTER_STATE["channels"]["grid"]
STATE_FILE = json.dumps(COUNTER_STATE, indent=1).encode("utf-8")
STRINGS = [
    "meterkit.s0.channel", "meterkit.s0.counter", "grid", "gas", "on_too_short",
    "off_too_short", "start_unknown", "kWh", "0.010", "1e12", "-1", "NaN",
]  # fmt: skip
junk = mutations.junk(STRINGS)


def mutated(seed: Any) -> st.SearchStrategy[Any]:
    return mutations.mutated(seed, STRINGS)


FUZZ = settings(  # METERKIT_FUZZ_EXAMPLES=5000 for a longer campaign than the suite's
    max_examples=int(os.environ.get("METERKIT_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_seeds_are_valid() -> None:
    counter = S0Counter.restore(COUNTER_STATE)
    assert counter.save() == COUNTER_STATE
    assert CHANNEL_STATE["state"]["raw_level"] != CHANNEL_STATE["state"]["level"]
    assert sum(CHANNEL_STATE["state"]["rejected"].values()) > 0
    assert len(read_edges_csv(io.StringIO(EDGES_CSV))) == 7


# -- the findings of issue 10, pinned -----------------------------------------------------


def _state_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "s0.json"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"[" * 1000 + b"]" * 1000, 32),
        (b'{"channels": {"a": ' + b"[" * 100_000, 49),
        (b'{"pulses": ' + b"1" * 4301 + b"}", 11),
        (b'{"pulses": 1e999}', 11),
        (b'{"pulses": NaN}', 11),
        (b'{"pulses": -Infinity}', 11),
        (b'{"unit": "\xe9"}', 10),
        (b'{"unit": "\xc3\xa9", "x": [}', 21),
    ],
    ids=["deep", "deep-unclosed", "4301-digits", "1e999", "nan", "infinity", "latin1", "bad"],
)
def test_state_file_faults_name_the_file_and_byte_offset(
    tmp_path: Path, data: bytes, offset: int
) -> None:
    path = _state_file(tmp_path, data)
    with pytest.raises(StateError) as caught:
        load_state_file(path)
    assert caught.value.field == str(path)
    assert caught.value.offset == offset
    assert f"byte offset {offset}" in str(caught.value)


def test_the_json_scan_reads_an_unterminated_string_once(tmp_path: Path) -> None:
    """Scanning for nesting stays linear: a run of '"\\' is one token to the end of the
    text, not a fresh scan from every quote (which made 200 kB take minutes)."""
    from s0._parsing import _JSON_TOKENS

    text = '"\\' * 1000
    assert [match.span() for match in _JSON_TOKENS.finditer(text)] == [(0, 2000)]
    path = _state_file(tmp_path, b'{"a": [' + b'"\\' * 500_000)
    with pytest.raises(StateError, match="not JSON"):
        load_state_file(path)


@pytest.mark.parametrize("key", ["level", "raw_level"])
@pytest.mark.parametrize("level", [1.0, 0.0, True, "1", D(1)])
def test_a_level_that_is_not_the_int_0_or_1_is_a_state_error(key: str, level: object) -> None:
    saved = copy.deepcopy(CHANNEL_STATE)
    saved["state"][key] = level
    with pytest.raises(StateError) as caught:
        Channel.restore(saved)
    assert caught.value.field == f"state.{key}"


def test_an_initial_level_that_is_not_an_int_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        ChannelConfig(imp_per_unit=1, initial_level=1.0)  # type: ignore[arg-type]
    assert caught.value.field == "initial_level"


@pytest.mark.parametrize(
    "text",
    [
        "time,level\n0,1\n" + "1" * 131073 + ",0\n",
        'time,level\n0,1\n"' + "1" * 140000 + '",0\n',
        "time,level\n0,1\n1\r5,0\n",
    ],
    ids=["field-over-131072", "quoted-field-over-131072", "bare-cr"],
)
def test_edges_csv_faults_name_the_row(text: str) -> None:
    with pytest.raises(ReplayInputError) as caught:
        read_edges_csv(io.StringIO(text, newline=""))
    assert caught.value.row == 3


def test_edges_csv_that_is_not_utf8_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "edges.csv"
    path.write_bytes(b"time,level\n0,1\n\xff,0\n")
    with path.open(encoding="utf-8", newline="") as file, pytest.raises(ReplayInputError) as caught:
        read_edges_csv(file)
    assert "UTF-8" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [10**5000, -(10**5000), D("1e999999"), [10**5000]],
    ids=["huge", "huge-negative", "huge-decimal", "list-of-huge"],
)
def test_errors_about_huge_values_can_still_be_shown(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        ChannelConfig(imp_per_unit=value)  # type: ignore[arg-type]
    assert len(str(caught.value)) < 200


def test_state_error_keeps_its_offset_through_pickle() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(StateError("bad", field="f", offset=7)))
    assert (error.message, error.field, error.offset) == ("bad", "f", 7)


# -- loaders: only our errors, whatever the input -------------------------------------------


def _exercise(channel: Channel) -> None:
    """A restored channel must keep working (or refuse with our errors) afterwards."""
    later = max(channel.last_time_ns or 0, 0)
    for step, level in [(1, 1), (10**8, 0), (2 * 10**8, 1), (3 * 10**8, 0)]:
        with contextlib.suppress(EdgeError):
            channel.feed_edge_ns(later + step, level)
    channel.advance_ns(later + 10**10)
    json.dumps(channel.reading(D(later + 10**10) / 10**9).to_dict())
    assert Channel.restore(channel.save()).save() == channel.save()


@FUZZ
@given(mutated(CHANNEL_STATE))
def test_restoring_a_mutated_channel_raises_only_state_errors(saved: Any) -> None:
    try:
        channel = Channel.restore(saved)
    except StateError:
        return
    _exercise(channel)


@FUZZ
@given(mutated(COUNTER_STATE))
def test_restoring_a_mutated_counter_raises_only_state_errors(saved: Any) -> None:
    try:
        counter = S0Counter.restore(saved)
    except StateError:
        return
    for name in counter:
        _exercise(counter[name])


@FUZZ
@given(mutated_bytes(STATE_FILE))
@example(b"[" * 1000 + b"]" * 1000)
@example(b'{"a": ' + b"1" * 4301 + b"}")
def test_mutated_state_files_raise_only_state_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "s0.json")
        path.write_bytes(data)
        try:
            counter = S0Counter.restore(load_state_file(path))
        except StateError:
            return
        save_state_file(path, counter.save())
        assert S0Counter.restore(load_state_file(path)).save() == counter.save()


@FUZZ
@given(mutated_text(EDGES_CSV))
def test_mutated_edges_csv_raises_only_replay_input_errors(text: str) -> None:
    try:
        edges = read_edges_csv(io.StringIO(text, newline=""))
    except ReplayInputError as exc:
        assert exc.row >= 1
        return
    json.dumps(replay_edges(edges, ChannelConfig(imp_per_unit=1000)).to_dict())


@FUZZ
@given(st.lists(st.tuples(junk, junk), max_size=4))
def test_replaying_junk_edges_raises_only_edge_errors(edges: list[Any]) -> None:
    with contextlib.suppress(EdgeError):
        replay_edges(edges, ChannelConfig(imp_per_unit=1000))


@FUZZ
@given(mutated(ChannelConfig(imp_per_unit=1000, rollover=100).to_dict()))
def test_configurations_from_mutated_dicts_raise_only_config_errors(values: Any) -> None:
    if not isinstance(values, dict):
        return
    arguments = {key: value for key, value in values.items() if isinstance(key, str)}
    try:
        config = ChannelConfig(**arguments)
    except ConfigError:
        return
    except TypeError:  # an unknown or missing keyword argument: caller misuse, not data
        return
    _exercise(Channel(config))


@FUZZ
@given(st.data())
def test_channel_calls_with_junk_raise_only_edge_errors(data: st.DataObject) -> None:
    channel = Channel(ChannelConfig(imp_per_unit=1000))
    for _ in range(data.draw(st.integers(1, 6))):
        call = data.draw(st.sampled_from(["edge", "edge_ns", "pulse", "advance", "power", "read"]))
        time = data.draw(st.one_of(junk, st.decimals(), st.fractions()))
        level = data.draw(st.one_of(junk, st.sampled_from([0, 1])))
        with contextlib.suppress(EdgeError):
            if call == "edge":
                channel.feed_edge(time, level)
            elif call == "edge_ns":
                channel.feed_edge_ns(time, level)  # type: ignore[arg-type]
            elif call == "pulse":
                channel.feed_pulse(time)
            elif call == "advance":
                channel.advance(time)
            elif call == "power":
                channel.power(time)
            else:
                channel.reading(time)
    _exercise(channel)


OPTIONS = ["--imp-per-unit", "--debounce", "--min-on", "--offset", "--rollover", "--decimals"]
VALUES = ["1000", "0", "-1", "NaN", "1e999999999", "1" * 5000, "x", "0.5", "sNaN", "99999"]


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(mutated_bytes(EDGES_CSV.encode()), st.just(EDGES_CSV.encode())),
    st.lists(st.tuples(st.sampled_from(OPTIONS), st.sampled_from(VALUES)), max_size=3),
    st.lists(st.sampled_from(["--json", "--events"]), max_size=2),
)
def test_cli_replay_exits_with_a_status(
    data: bytes, options: list[tuple[str, str]], flags: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "edges.csv")
        path.write_bytes(data)
        argv = ["replay", str(path), "--imp-per-unit", "1000", *flags]
        argv += [part for option in options for part in option]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse refusing an option value
                status = exc.code  # type: ignore[assignment]
    assert status in (0, 1, 2)
    if status == 1:
        assert len(err.getvalue().splitlines()) == 1


def test_s0_errors_are_one_family() -> None:
    for error in (ConfigError, EdgeError, ReplayInputError, StateError):
        assert issubclass(error, S0Error)


def test_a_channel_entry_that_is_not_a_mapping_is_named_without_a_trailing_dot() -> None:
    saved = copy.deepcopy(COUNTER_STATE)
    saved["channels"]["gas"] = [1]
    with pytest.raises(StateError) as caught:
        S0Counter.restore(saved)
    assert caught.value.field == "channels.gas"
