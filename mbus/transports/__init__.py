"""Transports: ports that put :class:`mbus.Bus` and :class:`mbus.AsyncBus` on a real line.

- :class:`SerialPort` (pyserial, ``pip install meterkit[serial]``): any
  ``serial_for_url`` URL (``/dev/ttyUSB0``, ``socket://host:port``,
  ``rfc2217://``, ``loop://``) at 8E1, for :class:`mbus.Bus`;
  :func:`open_bus` opens one and wraps it.
- :class:`AsyncPort` (asyncio): ``tcp://host:port`` streams, or a serial port
  through pyserial-asyncio-fast, for :class:`mbus.AsyncBus`;
  :func:`open_async_bus` opens one and wraps it.
- :class:`Bridge`: M-Bus over IP, one serial port shared with one TCP client at
  a time (``mbus bridge``).

pyserial is imported only when a serial port is opened.
"""

from ._asyncio import AsyncPort, open_async_bus
from ._bridge import BUSY_MESSAGE, Bridge
from ._serial import SerialPort, open_bus

__all__ = ["BUSY_MESSAGE", "AsyncPort", "Bridge", "SerialPort", "open_async_bus", "open_bus"]
