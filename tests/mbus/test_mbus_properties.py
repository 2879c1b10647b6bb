"""Property tests: encode/decode round trips, and arbitrary bytes raise only mbus's errors."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mbus
import mbus.records
from mbus._vif import PRIMARY

NUMBER_VIFS = sorted(code for code, info in PRIMARY.items() if info.kind == "number")
INTEGER_CODINGS = {"int8": 1, "int16": 2, "int24": 3, "int32": 4, "int48": 6, "int64": 8}
BCD_CODINGS = {"bcd2": 1, "bcd4": 2, "bcd6": 3, "bcd8": 4, "bcd12": 6}
FUNCTIONS = st.sampled_from(mbus.records.FUNCTIONS)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def numeric_records(draw: st.DrawFn) -> tuple[mbus.Record, Decimal]:
    vif = draw(st.sampled_from(NUMBER_VIFS))
    info = PRIMARY[vif]
    coding = draw(st.sampled_from([*INTEGER_CODINGS, *BCD_CODINGS]))
    if coding in INTEGER_CODINGS:
        bits = 8 * INTEGER_CODINGS[coding]
        raw = draw(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    else:
        digits = 2 * BCD_CODINGS[coding]
        raw = draw(st.integers(-(10 ** (digits - 1) - 1), 10**digits - 1))
    value = Decimal(raw * info.factor).scaleb(info.exponent)
    record = mbus.build_record(
        vif, value, coding=coding, function=draw(FUNCTIONS),
        storage=draw(st.integers(0, 2**20)), tariff=draw(st.integers(0, 2**8)),
        subunit=draw(st.integers(0, 2**4)),
    )
    return record, value


@SETTINGS
@given(numeric_records())
def test_numeric_record_round_trip(case: tuple[mbus.Record, Decimal]) -> None:
    record, value = case
    (decoded,) = mbus.records.decode_records(record.encode())
    assert decoded == record
    assert decoded.value == value
    json_value = decoded.to_dict()["value"]
    assert Decimal(str(json_value)) == value  # the JSON number prints the exact decimal


@SETTINGS
@given(st.dates(dt.date(1981, 1, 1), dt.date(2080, 12, 31)),
       st.datetimes(dt.datetime(1981, 1, 1), dt.datetime(2080, 12, 31)),
       st.times())
def test_time_point_round_trip(date: dt.date, moment: dt.datetime, time: dt.time) -> None:
    minute = moment.replace(second=0, microsecond=0)
    second = moment.replace(microsecond=0)
    cases = [(0x6C, date, "int16"), (0x6D, minute, "int32"), (0x6D, second, "int48"),
             (0x6D, time.replace(microsecond=0), "int24")]
    for vif, value, coding in cases:
        record = mbus.build_record(vif, value, coding=coding)
        (decoded,) = mbus.records.decode_records(record.encode())
        assert decoded.value == value


@SETTINGS
@given(st.text(alphabet=st.characters(max_codepoint=255), max_size=100),
       st.binary(max_size=100))
def test_lvar_round_trip(text: str, blob: bytes) -> None:
    assert mbus.build_record(b"\xfd\x0c", text, coding="lvar").value == text
    assert mbus.records.decode_records(mbus.build_record(b"\xfd\x0c", text, coding="lvar")
                               .encode())[0].value == text
    container = mbus.build_record(b"\xfd\x76", blob, coding="lvar")
    assert mbus.records.decode_records(container.encode())[0].value == blob


@SETTINGS
@given(st.lists(numeric_records(), max_size=12), st.integers(0, 250),
       st.sampled_from([0x72, 0x7A, 0x78]), st.binary(max_size=20) | st.none(),
       st.booleans())
def test_telegram_round_trip(cases: list[tuple[mbus.Record, Decimal]], address: int, ci: int,
                             manufacturer: bytes | None, more: bool) -> None:
    records = [record for record, _ in cases]
    header = mbus.Header(id="12345678", manufacturer="KAM", version=1, medium=4,
                         access_number=address, status=0, signature=0)
    size = sum(len(record.encode()) for record in records) + 12 + 1 + len(manufacturer or b"")
    if size > 252:
        return
    telegram = mbus.build_telegram(address=address, records=records, header=header, ci=ci,
                                   manufacturer_data=manufacturer, more_records_follow=more)
    assert mbus.decode(telegram.encode()) == telegram
    assert list(telegram.records[:len(records)]) == records
    assert telegram.more_records_follow is more


@SETTINGS
@given(st.binary(max_size=300))
@example(bytes.fromhex("68030368080170791600"))
@example(bytes.fromhex("6804046808017a0016"))
def test_arbitrary_bytes_raise_only_mbus_errors(data: bytes) -> None:
    with contextlib.suppress(mbus.MBusError):
        mbus.decode(data).to_dict()


@SETTINGS
@given(st.binary(max_size=249), st.sampled_from([0x72, 0x76, 0x7A, 0x78, 0x73, 0x51, 0x52,
                                                  0x70, 0x71, 0x50, 0xBD]),
       st.sampled_from([0x08, 0x53]))
def test_arbitrary_application_data_raises_only_mbus_errors(data: bytes, ci: int, c: int) -> None:
    # Wrapped in a valid frame, so that the application layer itself is exercised.
    try:
        telegram = mbus.decode(mbus.LongFrame(c=c, a=1, ci=ci, data=data).encode())
        telegram.to_dict()
        for record in telegram.records:
            record.value, record.flags  # noqa: B018 - evaluating is the test
    except mbus.DecodeError as error:
        assert error.offset is None or 0 <= error.offset <= len(data) + 9


@SETTINGS
@given(st.lists(st.sampled_from([
    bytes.fromhex("e5"), bytes.fromhex("1040054516"),
    mbus.LongFrame(c=8, a=1, ci=0x78, data=b"\x01\x13\x05").encode(),
]), max_size=8), st.lists(st.integers(1, 20), max_size=30), st.binary(max_size=3))
def test_framer_any_chunking(frames: list[bytes], cuts: list[int], noise: bytes) -> None:
    stream = noise.replace(b"\xe5", b"").replace(b"\x10", b"").replace(b"\x68", b"")
    stream += b"".join(frames)
    framer = mbus.Framer()
    found: list[bytes] = []
    position = 0
    for cut in [*cuts, len(stream)]:
        framer.receive_data(stream[position:position + cut])
        position += cut
        while (event := framer.next_event()) is not mbus.NEED_DATA:
            if isinstance(event, mbus.FrameReceived):
                found.append(event.raw)
    assert found == frames


def test_long_garbage_completes() -> None:
    # Every loop consumes at least one byte: a large hostile block decodes or fails, never hangs.
    block = bytes([0x84, 0x80, 0x80, 0x00, 0x13, 0, 0, 0, 0] * 20000)
    assert len(mbus.records.decode_records(block)) == 20000
    with contextlib.suppress(mbus.DecodeError):
        mbus.records.decode_records(bytes(range(256)) * 800)
