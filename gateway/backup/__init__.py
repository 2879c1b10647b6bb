"""gateway.backup: the gateway's configuration in one encrypted, authenticated archive.

The site file, keys, profiles and users of a configuration folder go into one file
encrypted with AES-256-GCM under a key derived from a passphrase by scrypt. Reading it
back refuses a wrong passphrase (:class:`WrongPassphraseError`) or a modified archive
(:class:`ArchiveModifiedError`) before anything is written. See docs/gateway_history.rst.
"""

from ._archive import (
    FORMAT_VERSION,
    MAGIC,
    collect_config,
    create_backup,
    decrypt_backup,
    encrypt_backup,
    read_backup,
    restore_backup,
)
from ._errors import ArchiveModifiedError, BackupError, BackupFormatError, WrongPassphraseError

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "ArchiveModifiedError",
    "BackupError",
    "BackupFormatError",
    "WrongPassphraseError",
    "collect_config",
    "create_backup",
    "decrypt_backup",
    "encrypt_backup",
    "read_backup",
    "restore_backup",
]
