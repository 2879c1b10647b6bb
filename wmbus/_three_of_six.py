"""3-out-of-6 coding of T1/T2 meter-to-other frames (EN 13757-4:2019 Table 10).

Each nibble becomes a 6-bit chip word with exactly three ones; a byte becomes
12 chips, most significant nibble first, and the chip stream is packed MSB
first into bytes. A trailing partial group (the postamble) is ignored.
"""

from __future__ import annotations

from ._errors import EncodeError, LinkError

__all__ = ["decode_3of6", "decode_t1", "encode_3of6"]

# nibble -> 6-bit code word, EN 13757-4 Table 10
_ENCODE = (0x16, 0x0D, 0x0E, 0x0B, 0x1C, 0x19, 0x1A, 0x13,
           0x2C, 0x25, 0x26, 0x23, 0x34, 0x31, 0x32, 0x29)
_DECODE = {code: nibble for nibble, code in enumerate(_ENCODE)}


def decode_3of6(chips: bytes, length: int | None = None) -> bytes:
    """Decode a 3-of-6 chip stream into bytes.

    ``length`` limits the output to that many bytes (the frame length known
    from the L field); without it every whole 12-chip group is decoded.
    Raises :class:`LinkError` naming the chip offset of an invalid code word.
    """
    total_bits = len(chips) * 8
    count = total_bits // 12 if length is None else length
    if count * 12 > total_bits:
        raise LinkError(f"3-of-6 stream of {len(chips)} bytes holds fewer than {count} bytes",
                        field="3of6", offset=len(chips))
    value = int.from_bytes(chips, "big")
    out = bytearray(count)
    for i in range(count):
        shift = total_bits - 12 * (i + 1)
        group = (value >> shift) & 0xFFF
        high = _DECODE.get(group >> 6)
        low = _DECODE.get(group & 0x3F)
        if high is None or low is None:
            raise LinkError("invalid 3-of-6 code word (not three ones among six chips)",
                            field="3of6", offset=(12 * i) // 8, data=chips[(12 * i) // 8:][:2])
        out[i] = high << 4 | low
    return bytes(out)


def encode_3of6(data: bytes) -> bytes:
    """Encode bytes as a 3-of-6 chip stream, padded to whole bytes with a 0101 postamble."""
    if not isinstance(data, (bytes, bytearray)):
        raise EncodeError("3-of-6 encodes bytes")
    value = 0
    for byte in data:
        value = (value << 12) | _ENCODE[byte >> 4] << 6 | _ENCODE[byte & 0x0F]
    bits = 12 * len(data)
    pad = (-bits) % 8
    if pad:
        value = (value << pad) | (0x55 & ((1 << pad) - 1))
        bits += pad
    return value.to_bytes(bits // 8, "big")


def decode_t1(chips: bytes) -> bytes:
    """Decode the 3-of-6 chips of one T1 frame (format A) as far as its L field reaches.

    The first byte decoded is the L field; the frame then has format A's length
    (blocks of 16 bytes, each with its CRC). Chips after it are ignored.
    """
    first = decode_3of6(chips[:2], 1)
    length = first[0]
    rest = max(length - 9, 0)
    total = 12 + rest + 2 * ((rest + 15) // 16)
    return decode_3of6(chips, total)
