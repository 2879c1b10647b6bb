"""Simulated meters: random segments for tests, benchmarks and ``mbus simulate``, and
meters described in JSON.

JSON file format (a list, one object per meter)::

    [{"secondary": "1234567824232504", "primary": 5, "baud": 2400, "status": 0,
      "pages": [[{"vif": 19, "value": 1234, "coding": "int32"}], [...]]}]

``secondary`` is required (16 hex digits as libmbus prints it); ``primary``
defaults to 0, ``pages`` to one page with a volume record. ``vif`` is a number
(or a hex string of the VIF/VIFE bytes); ``value`` is in the record's
normalised unit; ``coding``, ``function``, ``storage``, ``tariff``, ``subunit``
are optional and as :func:`mbus.build_record` takes them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .._errors import EncodeError, MBusError
from .._header import encode_manufacturer
from .._record_encoder import build_record
from .._records import Record
from .._requests import SecondaryAddress
from .._slave import Slave

__all__ = ["load_meters", "random_meters", "secondary_addresses", "slaves_from_json"]

_MANUFACTURERS = ("KAM", "HYD", "ELS", "SEN", "ITW", "LUG", "EFE", "ZRI")
_MEDIA = (0x02, 0x03, 0x04, 0x06, 0x07, 0x0C, 0x16)


def _random_pages(rng: random.Random, pages: int) -> list[list[Record]]:
    out = []
    for page in range(pages):
        out.append([
            build_record(0x13, Decimal(rng.randrange(10**7)) / 1000, coding="bcd8"),
            build_record(0x06, rng.randrange(10**6) * 1000, coding="int32", storage=page),
            build_record(0x5B, rng.randrange(100), coding="int8"),
        ])
    return out


def random_meters(count: int, *, seed: int = 0, clustered: bool = False,
                  max_pages: int = 1, baud: int = 2400) -> list[Slave]:
    """``count`` meters with unique secondary addresses and primary addresses 1, 2, ...

    ``clustered`` draws IDs from a few production batches: a shared 5-digit
    prefix and nearby serial numbers, so that many IDs share long prefixes.
    Up to 250 meters get primary addresses 1-250, the rest 0.
    """
    if count < 0 or count > 10_000:
        raise EncodeError(f"meter count {count} is not 0-10000")
    rng = random.Random(seed)
    ids: set[str] = set()
    batches = [rng.randrange(10**5) for _ in range(max(1, count // 50))]
    while len(ids) < count:
        if clustered:
            batch = rng.choice(batches)
            ids.add(f"{batch:05d}{rng.randrange(min(1000, 3 * count)):03d}")
        else:
            ids.add(f"{rng.randrange(10**8):08d}")
    slaves = []
    for index, ident in enumerate(sorted(sorted(ids), key=lambda _: rng.random())):
        address = SecondaryAddress(id=ident,
                                   manufacturer=encode_manufacturer(rng.choice(_MANUFACTURERS)),
                                   version=rng.randrange(1, 60), medium=rng.choice(_MEDIA))
        pages = _random_pages(rng, rng.randint(1, max(1, max_pages)))
        slaves.append(Slave(address, pages, primary=index + 1 if index < 250 else 0, baud=baud))
    return slaves


def _record(spec: dict[str, Any], where: str) -> Record:
    vif = spec.get("vif")
    if isinstance(vif, str):
        vif_bytes: int | bytes = bytes.fromhex(vif)
    elif isinstance(vif, int):
        vif_bytes = vif
    else:
        raise EncodeError(f"{where}: 'vif' must be a number or hex text")
    value = spec.get("value", 0)
    if isinstance(value, float):
        value = Decimal(str(value))
    options = {key: spec[key] for key in ("coding", "function", "storage", "tariff", "subunit")
               if key in spec}
    return build_record(vif_bytes, value, **options)


def slaves_from_json(document: Any) -> list[Slave]:
    """Meters from a parsed JSON document (see the module docstring)."""
    if not isinstance(document, list):
        raise EncodeError("a meters file holds a JSON list of meters")
    slaves = []
    for index, item in enumerate(document):
        where = f"meter {index}"
        if not isinstance(item, dict) or "secondary" not in item:
            raise EncodeError(f"{where}: an object with 'secondary' is needed")
        try:
            address = SecondaryAddress.parse(str(item["secondary"]))
            pages_spec = item.get("pages") or [[{"vif": 0x13, "value": 0}]]
            pages = [[_record(spec, f"{where} page {page}") for spec in records]
                     for page, records in enumerate(pages_spec)]
            slaves.append(Slave(address, pages, primary=int(item.get("primary", 0)),
                                baud=int(item.get("baud", 2400)),
                                status=int(item.get("status", 0))))
        except MBusError as error:
            raise EncodeError(f"{where}: {error}") from None
        except (TypeError, ValueError, KeyError) as error:
            raise EncodeError(f"{where}: {error}") from None
    return slaves


def load_meters(path: str) -> list[Slave]:
    """Meters from a JSON file."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise EncodeError(f"{path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise EncodeError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    return slaves_from_json(document)


def secondary_addresses(slaves: Sequence[Slave]) -> set[SecondaryAddress]:
    """The full addresses of these slaves (handy in tests)."""
    return {slave.secondary for slave in slaves}
