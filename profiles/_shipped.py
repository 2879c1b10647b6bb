"""Profile files shipped in the package, and finding a profile by name or path."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ._errors import ProfileError

__all__ = ["KINDS", "find_profile", "shipped_profiles"]

KINDS = {"meter": "meters", "modbus": "modbus", "bacnet": "bacnet"}
"""Profile kind (the ``kind`` key of a file) -> its folder in the package."""

_HERE = Path(__file__).resolve().parent


def _folder(kind: str) -> str:
    folder = KINDS.get(kind)
    if folder is None:
        raise ProfileError(f"unknown profile kind {kind!r} (known: {', '.join(KINDS)})",
                           key="kind")
    return folder


def shipped_profiles(kind: str) -> list[Path]:
    """The profile files of ``kind`` (``"meter"``, ``"modbus"``, ``"bacnet"``) shipped with
    meterkit, sorted by name."""
    return sorted((_HERE / _folder(kind)).glob("*.toml"))


def find_profile(name_or_path: str | Path, kind: str,
                 user_dirs: Iterable[str | Path] = ()) -> Path:
    """The file of the profile ``name_or_path``.

    A path to an existing file (anything with a folder part or a ``.toml`` suffix)
    is returned as it is. A bare name ``NAME`` is looked up as ``NAME.toml`` in each
    of ``user_dirs`` in order, then among the shipped profiles of ``kind``: a user's
    file wins over a shipped one of the same name. Raises :class:`ProfileError`
    saying where it looked.
    """
    folder = _folder(kind)
    text = str(name_or_path)
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or len(path.parts) > 1 or text.endswith(".toml"):
        if path.is_file():
            return path
        raise ProfileError(f"no such profile file {text!r}", file=text)
    places = [Path(folder_) for folder_ in user_dirs] + [_HERE / folder]
    for place in places:
        candidate = place / f"{text}.toml"
        if candidate.is_file():
            return candidate
    raise ProfileError(f"no {kind} profile named {text!r} in "
                       f"{', '.join(str(place) for place in places)}")
