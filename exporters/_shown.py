"""How a value from the input is quoted in an error message: bounded and safe for anything.

``f"{value!r}"`` in a message is a fault of its own on hostile input: ``repr`` of an int of
4301+ digits raises ``ValueError``, a nested list may raise ``RecursionError``, and a
megabyte string makes a megabyte message. Every message of ``exporters`` that quotes input
goes through :func:`shown` instead.
"""

from __future__ import annotations

__all__ = ["shown"]


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters; never raises."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__, a nested structure too deep to repr
        return f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."
