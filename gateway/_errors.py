"""The gateway's typed errors: one root, and the site-file error that names file, table and key."""

from __future__ import annotations

from profiles import ProfileError

__all__ = ["GatewayError", "SiteError", "StateFileError"]


class GatewayError(Exception):
    """Root of the errors the gateway application raises itself."""


class SiteError(GatewayError, ProfileError):
    """A site file that cannot be run: the text names the file, the table and the key.

    Attributes (from :class:`profiles.ProfileError`): ``message``, ``file``, ``table``
    (``mbus[0].meter[2]``), ``key`` and ``line`` (for TOML syntax errors).
    """


class StateFileError(GatewayError):
    """The gateway's saved state (``state.json`` in the data folder) cannot be used."""
