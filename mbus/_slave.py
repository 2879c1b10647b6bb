"""A sans-IO M-Bus slave: answers master frames the way a meter does (EN 13757-2/-3).

Feed it the master's bytes, get back the bytes it answers (empty when it stays
silent). It keeps what a meter keeps: primary address, secondary address,
selection state, frame count bit, the telegram pages of a multi-telegram
readout, the baud rate.

Rules implemented (EN 13757-2:2018 5.5 and EN 13757-3:2018 11):

- A frame is for this slave when its A field is the primary address, 254
  (broadcast, answered), 255 (broadcast, executed silently) or 253 while
  selected. A selection (SND_UD CI 0x52 to 253) is evaluated by every slave:
  a match selects and acknowledges, a mismatch deselects silently.
- SND_NKE resets the frame count state and the readout to the first page;
  SND_NKE to 253 also deselects.
- REQ_UD2/SND_UD with FCV: a request whose FCB equals the previous one is a
  repeat; the slave sends its previous answer again (REQ_UD2) or acknowledges
  without executing twice (SND_UD). The first FCB after a reset is always new.
- A readout of several pages ends every page but the last with DIF 0x1F
  (more records follow); after the last page the next request starts again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._errors import DecodeError, EncodeError
from ._framer import Framer, FrameReceived, NoiseDiscarded
from ._frames import ACK, Frame, LongFrame, ShortFrame
from ._header import Header, decode_manufacturer
from ._records import Record, decode_records, encode_records
from ._requests import BAUD_RATES, BROADCAST_ADDRESS, NETWORK_ADDRESS, SecondaryAddress
from ._telegram import Telegram

__all__ = [
    "AddressChanged",
    "ApplicationResetReceived",
    "BaudRateChanged",
    "DataReceived",
    "Slave",
    "SlaveEvent",
]

log = logging.getLogger(__name__)

_ACK_BYTES = ACK.encode()
_RSP_UD = 0x08


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressChanged:
    """The master wrote a new primary address (record DIF 0x01 VIF 0x7A)."""

    old: int
    new: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationResetReceived:
    """An application reset (CI 0x50); ``subcode`` is None when none was sent."""

    subcode: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BaudRateChanged:
    """The slave acknowledged a baud rate change and now listens at ``baud``."""

    baud: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DataReceived:
    """SND_UD data records other than the primary address, as decoded."""

    records: tuple[Record, ...]


SlaveEvent = AddressChanged | ApplicationResetReceived | BaudRateChanged | DataReceived


@dataclass(frozen=True, slots=True)
class _Page:
    ci: int
    data: bytes  # user data; for record pages without the header (built per answer)
    records_page: bool


class Slave:
    """A meter on a wired M-Bus, sans-IO.

    Args:
        secondary: the meter's full secondary address (ID, manufacturer, version, medium).
        pages: the records of each telegram of its readout (one page = one RSP_UD).
        primary: primary address 0-250 (0 is the factory default of most meters).
        baud: the baud rate it listens at.
        status: status byte of its header.
        alarm: class 1 data for REQ_UD1 (an alarm status byte), None for none.

    >>> from mbus import SecondaryAddress, Slave, build_record
    >>> slave = Slave(SecondaryAddress.parse("1234567824232504"),
    ...               [[build_record(0x13, 5)]], primary=5)
    >>> slave.receive_data(bytes.fromhex("1040054516"))  # SND_NKE to 5
    b'\\xe5'
    >>> answer = slave.receive_data(bytes.fromhex("107b058016"))  # REQ_UD2 to 5
    >>> from mbus import decode
    >>> decode(answer).header.id
    '12345678'
    """

    def __init__(
        self,
        secondary: SecondaryAddress,
        pages: Iterable[Sequence[Record]] = ((),),
        *,
        primary: int = 0,
        baud: int = 2400,
        status: int = 0,
        alarm: int | None = None,
        access_number: int = 0,
    ) -> None:
        if not 0 <= primary <= 250:
            raise EncodeError(f"primary address {primary} is not 0-250")
        if baud not in BAUD_RATES:
            raise EncodeError(f"{baud} Bd is not one of {BAUD_RATES}")
        self.secondary = secondary
        self.primary = primary
        self.baud = baud
        self.status = status
        self.alarm = alarm
        self.access_number = access_number & 0xFF
        self.selected = False
        self._pages: list[_Page] = []
        self.set_pages(pages)
        self._page_index = 0
        self._last_fcb: bool | None = None
        self._last_answer: bytes | None = None
        self._last_was_more = False
        self._framer = Framer()
        self._own_for: SecondaryAddress | None = None
        self._own = b""
        self._events: deque[SlaveEvent] = deque(maxlen=256)

    @classmethod
    def from_telegrams(cls, telegrams: Sequence[Telegram], *, primary: int = 0,
                       baud: int = 2400, secondary: SecondaryAddress | None = None) -> Slave:
        """A slave that answers with these telegrams (long frames) as its pages, in order.

        The secondary address comes from the first telegram's long header unless given.
        Pages are sent as they are (CI and user data); only the A field is the slave's.
        The caller sets DIF 0x1F in all but the last telegram when it wants a
        multi-telegram readout.
        """
        if not telegrams:
            raise EncodeError("from_telegrams needs at least one telegram")
        if secondary is None:
            header = telegrams[0].header
            if header is None or header.id is None:
                raise EncodeError("the first telegram has no long header: give `secondary`")
            secondary = SecondaryAddress.from_header(header)
        slave = cls(secondary, primary=primary, baud=baud)
        slave.set_telegrams(telegrams)
        return slave

    def set_telegrams(self, telegrams: Sequence[Telegram]) -> None:
        """Serve these telegrams (long frames: CI and user data as they are) as the pages."""
        pages = []
        for index, telegram in enumerate(telegrams):
            if not isinstance(telegram.frame, LongFrame):
                raise EncodeError(f"telegram {index} is not a long frame")
            pages.append(_Page(telegram.frame.ci, telegram.frame.data, False))
        if not pages:
            raise EncodeError("at least one telegram is needed")
        self._pages = pages

    def set_pages(self, pages: Iterable[Sequence[Record]]) -> None:
        """Replace the readout (for example with fresh values); takes effect at the next page."""
        built = []
        for records in pages:
            built.append(_Page(0x72, encode_records(tuple(records)), True))
        if not built:
            built.append(_Page(0x72, b"", True))
        for page in built[:-1]:
            if len(page.data) + 13 > 252:
                raise EncodeError("a page does not fit in one long frame (252 bytes of data)")
        self._pages = built

    @property
    def page_count(self) -> int:
        """Number of telegrams in a full readout."""
        return len(self._pages)

    def header(self) -> Header:
        """The long header the slave sends now."""
        return Header(id=self.secondary.id,
                      manufacturer=decode_manufacturer(self.secondary.manufacturer),
                      version=self.secondary.version, medium=self.secondary.medium,
                      access_number=self.access_number, status=self.status, signature=0)

    def next_event(self) -> SlaveEvent | None:
        """The oldest thing the master did to this slave that its owner may care about."""
        return self._events.popleft() if self._events else None

    def receive_data(self, data: bytes) -> bytes:
        """Feed bytes from the bus; returns the bytes this slave sends back (maybe empty)."""
        self._framer.receive_data(data)
        out = bytearray()
        while True:
            event = self._framer.next_event()
            if isinstance(event, FrameReceived):
                out += self.handle_frame(event.frame)
            elif isinstance(event, NoiseDiscarded):
                log.debug("slave %s ignored noise: %s", self.secondary, event.reason)
            else:
                return bytes(out)

    def reset_link(self) -> None:
        """Drop partial input (the line was idle long enough to end any frame)."""
        self._framer.flush()

    def handle_frame(self, frame: Frame) -> bytes:
        """Answer one decoded frame: E5, an RSP_UD, or b"" for silence."""
        if isinstance(frame, ShortFrame | LongFrame) and frame.control.from_master:
            if isinstance(frame, LongFrame) and frame.ci == 0x52 and frame.a == NETWORK_ADDRESS:
                return self._select(frame)
            if self._addressed(frame.a):
                answer = self._dispatch(frame)
                return b"" if frame.a == 255 else answer
        return b""

    # -- internals -----------------------------------------------------------------------

    def _addressed(self, address: int) -> bool:
        if address == NETWORK_ADDRESS:
            return self.selected
        return address in (self.primary, BROADCAST_ADDRESS, 255)

    def _reset_fcb(self) -> None:
        self._last_fcb = None
        self._last_answer = None
        self._last_was_more = False

    def _is_new(self, frame: ShortFrame | LongFrame) -> bool:
        control = frame.control
        if not control.fcv:
            return True
        if self._last_fcb is not None and control.fcb == self._last_fcb:
            return False
        self._last_fcb = control.fcb
        return True

    def _matches(self, mask: bytes) -> bool:
        # Wildcards (EN 13757-3:2018 11.5): any ID nibble 0xF; manufacturer 0xFFFF,
        # version 0xFF and medium 0xFF only as whole fields.
        if self._own_for is not self.secondary:
            self._own_for, self._own = self.secondary, self.secondary.encode()
        own = self._own
        for index in range(4):
            wanted, mine = mask[index], own[index]
            if (wanted & 0xF0 != 0xF0 and wanted & 0xF0 != mine & 0xF0) or (
                    wanted & 0x0F != 0x0F and wanted & 0x0F != mine & 0x0F):
                return False
        if mask[4:6] != b"\xff\xff" and mask[4:6] != own[4:6]:
            return False
        return all(mask[index] in (0xFF, own[index]) for index in (6, 7))

    def _select(self, frame: LongFrame) -> bytes:
        if len(frame.data) < 8:
            return b""
        # Not supported yet: enhanced selection (records after the address) is not compared.
        if self._matches(frame.data):
            self.selected = True
            self._reset_fcb()
            self._page_index = 0
            return _ACK_BYTES
        self.selected = False
        return b""

    def _dispatch(self, frame: ShortFrame | LongFrame) -> bytes:
        function = frame.control.function
        if function == "SND_NKE":
            self._reset_fcb()
            self._page_index = 0
            if frame.a == NETWORK_ADDRESS:
                self.selected = False
            return _ACK_BYTES
        if function == "REQ_UD2":
            return self._readout(frame)
        if function == "REQ_UD1":
            if self.alarm is None:
                return _ACK_BYTES
            return LongFrame(c=_RSP_UD, a=self.primary, ci=0x71,
                             data=bytes((self.alarm & 0xFF,))).encode()
        if function == "SND_UD" and isinstance(frame, LongFrame):
            new = self._is_new(frame)
            if new:
                self._execute(frame)
            return _ACK_BYTES
        return b""

    def _readout(self, frame: ShortFrame | LongFrame) -> bytes:
        if not self._is_new(frame) and self._last_answer is not None:
            return self._last_answer
        if self._last_answer is not None and self._last_was_more:
            self._page_index = (self._page_index + 1) % len(self._pages)
        else:
            self._page_index = 0
        page = self._pages[self._page_index]
        more = self._page_index < len(self._pages) - 1
        if page.records_page:
            data = self.header().encode_long() + page.data + (b"\x1f" if more else b"")
            self.access_number = (self.access_number + 1) & 0xFF
        else:
            data = page.data
        answer = LongFrame(c=_RSP_UD, a=self.primary, ci=page.ci, data=data).encode()
        self._last_answer = answer
        self._last_was_more = more
        return answer

    def _execute(self, frame: LongFrame) -> None:
        ci = frame.ci
        if ci == 0x50:
            subcode = frame.data[0] if frame.data else None
            self._page_index = 0
            self._last_answer = None
            self._last_was_more = False
            self._events.append(ApplicationResetReceived(subcode=subcode))
        elif 0xB8 <= ci <= 0xBF:
            self.baud = BAUD_RATES[ci - 0xB8]
            self._events.append(BaudRateChanged(baud=self.baud))
        elif ci == 0x51:
            try:
                records = decode_records(frame.data, from_master=True)
            except DecodeError as error:
                log.debug("slave %s ignored SND_UD records: %s", self.secondary, error)
                return
            others = []
            for record in records:
                if record.shape.header == b"\x01\x7a" and record.data and record.data[0] <= 250:
                    old, self.primary = self.primary, record.data[0]
                    self._events.append(AddressChanged(old=old, new=self.primary))
                else:
                    others.append(record)
            if others:
                self._events.append(DataReceived(records=tuple(others)))
        else:
            log.debug("slave %s acknowledged CI 0x%02x without acting on it", self.secondary, ci)
