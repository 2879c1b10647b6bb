"""wmbus: wireless M-Bus (EN 13757-4) and OMS security, sans-IO.

Frames A/B with CRC detection, 3-of-6, ELL/AFL/TPL, security modes 0, 5 and 7,
compact frames with a format-signature cache, a key store, a sans-IO receiver
with duplicate suppression, receiver-dongle codecs and a wireless-to-wired
gateway. The application layer (data records) is ``mbus``'s.

    >>> import wmbus
    >>> telegram = wmbus.decode(bytes.fromhex(
    ...     "2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3529B520E"
    ...     "DFF0EA6DEFC99D6D69EBF3"), key=bytes.fromhex("0102030405060708090A0B0C0D0E0F11"))
    >>> telegram.security.decrypted_by, telegram.records[0].value
    ('key', Decimal('28504.27'))
"""

from ._afl import AuthenticationLayer
from ._build import build_telegram
from ._capture import CAPTURE_FORMATS, Capture, Captured, CaptureError, CaptureProblem, sniff_format
from ._compact import SignatureCache, format_signature
from ._crc import crc16_en13757
from ._dask import dask_readings, decode_partition
from ._decoder import CompactInfo, Decoder, Security, Telegram, decode
from ._dongles import (
    DONGLES,
    Amb8465Codec,
    DongleCodec,
    HexLineCodec,
    Im871aCodec,
    Noise,
    RadioFrame,
    Rtl433Codec,
    RtlWmbusCodec,
)
from ._ell import ExtendedLinkLayer
from ._errors import (
    AuthenticationError,
    CRCError,
    DecodeError,
    DecryptionError,
    DongleError,
    EncodeError,
    KeyMissingError,
    KeyStoreError,
    LinkError,
    ReplayError,
    SecurityError,
    UnexpectedPlaintextError,
    UnknownSignatureError,
    UnsupportedError,
    WMBusError,
)
from ._gateway import GatewayMeter, WirelessGateway
from ._keys import KeyStore
from ._link import LinkLayer, add_crcs, build_frame, parse_link
from ._parallel import DecodedTelegram, decode_many
from ._receiver import (
    NEED_DATA,
    SECURITY_VIOLATION,
    DuplicateSuppressed,
    NeedData,
    NoiseSkipped,
    Receiver,
    SecurityViolation,
    TelegramFailed,
    TelegramReceived,
)
from ._tables import decode_capture
from ._three_of_six import decode_3of6, decode_t1, encode_3of6
from ._tpl import ConfigWord, TransportLayer

__all__ = [
    "CAPTURE_FORMATS",
    "DONGLES",
    "NEED_DATA",
    "SECURITY_VIOLATION",
    "Amb8465Codec",
    "AuthenticationError",
    "AuthenticationLayer",
    "CRCError",
    "Capture",
    "CaptureError",
    "CaptureProblem",
    "Captured",
    "CompactInfo",
    "ConfigWord",
    "DecodeError",
    "DecodedTelegram",
    "Decoder",
    "DecryptionError",
    "DongleCodec",
    "DongleError",
    "DuplicateSuppressed",
    "EncodeError",
    "ExtendedLinkLayer",
    "GatewayMeter",
    "HexLineCodec",
    "Im871aCodec",
    "KeyMissingError",
    "KeyStore",
    "KeyStoreError",
    "LinkError",
    "LinkLayer",
    "NeedData",
    "Noise",
    "NoiseSkipped",
    "RadioFrame",
    "Receiver",
    "ReplayError",
    "Rtl433Codec",
    "RtlWmbusCodec",
    "Security",
    "SecurityError",
    "SecurityViolation",
    "SignatureCache",
    "Telegram",
    "TelegramFailed",
    "TelegramReceived",
    "TransportLayer",
    "UnexpectedPlaintextError",
    "UnknownSignatureError",
    "UnsupportedError",
    "WMBusError",
    "WirelessGateway",
    "add_crcs",
    "build_frame",
    "build_telegram",
    "crc16_en13757",
    "dask_readings",
    "decode",
    "decode_3of6",
    "decode_capture",
    "decode_many",
    "decode_partition",
    "decode_t1",
    "encode_3of6",
    "format_signature",
    "parse_link",
    "sniff_format",
]
