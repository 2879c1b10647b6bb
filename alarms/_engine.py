"""The public alarm engine: the machinery, the operator actions and save/restore joined.

Each concern lives in its own module: :mod:`alarms._core` (samples, time,
timers, the rule machine and the life cycle), :mod:`alarms._operations`
(ISA-18.2 operator actions) and :mod:`alarms._saved_state` (save/restore).
"""

from __future__ import annotations

from ._operations import OperatorActions
from ._saved_state import SavedState

__all__ = ["Engine"]


class Engine(OperatorActions, SavedState):
    """Alarm engine over a list of rules (see :class:`LimitRule`, :class:`StaleRule`).

    ``feed(point, value, now)`` and ``advance(now)`` return the notifications
    due, ``next_deadline()`` says when ``advance`` must be called next. Samples
    of points without rules are ignored. ``start_time`` arms the stale rules of
    points never seen (otherwise a stale rule arms at the point's first sample).
    ``max_shelve`` bounds shelving, in seconds.
    """
