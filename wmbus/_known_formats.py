"""Built-in compact-frame formats of Kamstrup and Engelmann meters (data, not code).

Kamstrup meters (Multical 21, flowIQ, Multical 302/303/403/602/603, OMNIPOWER)
send most telegrams as compact frames (CI 0x79) and a full frame only now and
then; Engelmann's FAW water meters send their monthly values as a compact frame with
a long header (CI 0x73) in a format their full frames (CI 0x72) do not have. A
compact frame names its format by the format signature, the EN 13757
CRC-16 of the full frame's record headers; with these the first compact frame
decodes without waiting for a full frame. :class:`wmbus.SignatureCache` looks
them up after the formats it learned (a learned one wins on a collision).

Each entry is: signature -> (meters that send it, concatenated record headers
in hex). The signature is recomputed from the headers when the table is read,
so a typo cannot ship. Sources (facts, no code): the record headers of the
full frames in the public test telegrams of wmbusmeters (driver tests of
multical21, flowiq2200, multical302/403/602/603, kamheat, omnipower), its
built-in Multical 21 formats, and full frames users posted in its issues
(flowIQ 2200: #701 and #1942; Multical 303: #1774). The Multical 302 in MJ/GJ
(version 0x30, medium 0x0c) and the pressure sensor (version 0x01, type 0x18) are the
full frames of wmbusmeters' kamheat ("KAM,30,0c - Long Telegram") and kampress driver
tests; the corpus' compact frames of both then pass their full-frame CRC. The
Engelmann FAW format is the one wmbusmeters' engelmann_faw driver states for these
frames (its ``compact_frame_formats``); the corpus' frame passes its CRC with it.
"""

from __future__ import annotations

__all__ = ["KNOWN_FORMATS"]

KNOWN_FORMATS: dict[int, tuple[str, str]] = {
    # Multical 21 / flowIQ 3100 (status, volume, target volume, flow, temperatures)
    0xA8ED: ("Multical 21", "02ff2004134413615b6167"),
    0xC412: ("Multical 21", "02ff20041392013ba1015b8101e7ff0f"),
    0x61EB: ("Multical 21", "02ff2004134413a1015b8101e7ff0f"),
    0xD2F7: ("Multical 21", "02ff2004134413615b5167"),
    0xDD34: ("Multical 21", "02ff2004134413"),
    # flowIQ 2200
    0xDD07: ("flowIQ 2200", "02ff2004134413426c"),
    0x0905: ("flowIQ 2200", "04ff234413523b06ff1b426c61675167023b04138101e7ff0f"),
    0xA9F3: ("flowIQ 2200", "04ff2304134413426c023b92013ba2013b06ff1ba1015b91015ba10167"),
    # Multical 302
    0xF1E7: ("Multical 302", "030643060314426c022d01ff21"),
    0x52C2: ("Multical 302 (MJ)", "030e430e0313426c022d01ff21"),
    # Multical 303 (heat and cooling)
    0xAE5A: ("Multical 303", "0406041404ff0704ff080259025d023b02ff22026c44064414426c"),
    0xA630: ("Multical 303", "040604863c041404ff0704ff080259025d023b02ff22026c440644863c4414426c"),
    # Multical 402 / 403
    0xD7D6: ("Multical 402", "040f04ff0704ff08041402fd17043b0259025d"),
    0xD7C4: ("Multical 402/403", "040604ff0704ff08041402fd17043b0259025d"),
    0x1434: ("Multical 403", "040e04ff0704ff08041384401484804014043b0259025d142d84100e84200e"
                             "04ff22026c440e4413c44014c4804014426c"),
    0xE7A2: ("Multical 403", "040f04ff0704ff08041484401484804014043b0259025d142d84100f84200f"
                             "04ff22026c440f4414c44014c4804014426c"),
    # Multical 602 / 603
    0x82DD: ("Multical 602", "02f9ff15040604eeff0704eeff08041402fd17026c426c44064414043b0259025d"),
    0x8400: ("Multical 602", "02f9ff15040604eeff0704eeff0804148440148480401402fd17026c426c4406"
                             "4414c44014c4804014043b0259025d"),
    0x7869: ("Multical 603", "040604ff0704ff080414043b0259025d04ff22"),
    0x441F: ("Multical 603", "040604ff0704ff080414043b042d0259025d04ff220422143b142d"),
    # Pressure sensor (pressure now, maximum, minimum, two manufacturer values, error flags)
    0x73DE: ("pressure sensor", "22691269026905ff0905ff0a02fd17"),
    # OMNIPOWER (electricity)
    0x8C13: ("OMNIPOWER", "040404843c042b04ab3c"),
    # Engelmann FAW water meters (CI 0x73): billing date and volume, error flags, the
    # volumes at the ends of 15 months (storage 2-16), date and time, volume now
    0x052D: ("Engelmann FAW", "426c441301fd17840113c40113840213c40213840313c40313840413"
                              "c40413840513c40513840613c40613840713c40713840813046d0413"),
}
