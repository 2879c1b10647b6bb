"""The backup's typed errors."""

from __future__ import annotations

__all__ = ["ArchiveModifiedError", "BackupError", "BackupFormatError", "WrongPassphraseError"]


class BackupError(Exception):
    """Root of every error of :mod:`gateway.backup` (also: unreadable inputs, full disk)."""


class BackupFormatError(BackupError):
    """The file is not a meterkit backup, or is truncated; ``offset`` is where it fails."""

    def __init__(self, message: str, *, offset: int) -> None:
        self.offset = offset
        super().__init__(f"offset {offset}: {message}")


class WrongPassphraseError(BackupError):
    """The passphrase does not open the archive (or its header was changed)."""


class ArchiveModifiedError(BackupError):
    """The passphrase is right but the archive was modified: authentication failed."""
