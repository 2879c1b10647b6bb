"""The typed errors of the ``bacnet`` package: one root, :class:`BacnetError`."""

from __future__ import annotations

from profiles import ProfileError

__all__ = [
    "BacnetError",
    "ConfigurationError",
    "DeviceTimeout",
    "NotInstalledError",
    "PointListError",
    "RequestError",
]


class BacnetError(Exception):
    """Root of every error the ``bacnet`` package raises on purpose."""


class PointListError(BacnetError, ProfileError):
    """A point-list file that cannot be used; names file, table and key like
    :class:`profiles.ProfileError` (which it also is)."""


class ConfigurationError(BacnetError, ValueError):
    """A setting of the server or client that cannot work (address, instance, point)."""


class NotInstalledError(BacnetError, ImportError):
    """bacpypes3 is needed for the network side and is not installed
    (``pip install 'meterkit[bacnet]'``)."""


class RequestError(BacnetError):
    """A BACnet device answered a request with an Error, Reject or Abort.

    ``address`` is the device's address, ``request`` what was asked (for example
    ``read analog-input,1 present-value``), ``reason`` the peer's answer
    (``unknown-object``, ``segmentation-not-supported`` ...).
    """

    def __init__(self, message: str, *, address: str, request: str, reason: str) -> None:
        super().__init__(message)
        self.address = address
        self.request = request
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_request_error, (str(self), self.address, self.request, self.reason))


def _rebuild_request_error(message: str, address: str, request: str, reason: str) -> RequestError:
    return RequestError(message, address=address, request=request, reason=reason)


class DeviceTimeout(BacnetError, TimeoutError):
    """A BACnet device did not answer within the configured timeout and retries."""
