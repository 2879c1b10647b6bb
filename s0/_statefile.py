"""Saved state on disk: written atomically (temp file, fsync, rename), read back checked."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ._errors import StateError
from ._parsing import MAX_JSON_BYTES, load_json

__all__ = ["load_state_file", "save_state_file"]


def save_state_file(path: str | os.PathLike[str], state: Mapping[str, object]) -> None:
    """Write ``state`` (a :meth:`Channel.save` or :meth:`S0Counter.save` dict) as JSON so that
    ``path`` always holds either the old or the new state, whole, even on power loss.

    The JSON goes to a temporary file in the same directory, is fsync'ed, renamed over
    ``path`` (atomic on POSIX and Windows), and the directory is fsync'ed so the rename
    itself is durable.

    Raises:
        StateError: ``state`` is not JSON-serialisable.
        OSError: the file system refused (permissions, disk full, ...).
    """
    target = Path(path)
    try:
        text = json.dumps(state, indent=1, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StateError(f"cannot be written as JSON: {exc}", field="state") from None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows cannot open directories; the rename is durable enough there
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def load_state_file(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a state file written by :func:`save_state_file`.

    Raises:
        FileNotFoundError: there is no saved state yet (a first start).
        StateError: the file is not a JSON object; ``field`` is the path, ``offset``
            the byte offset of a fault in its text.
    """
    with open(path, "rb") as file:
        raw = file.read(MAX_JSON_BYTES + 1)
    data = load_json(raw, field=os.fspath(path))
    if not isinstance(data, dict):
        raise StateError("does not hold a JSON object", field=os.fspath(path))
    return data
