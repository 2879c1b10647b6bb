"""The master's sans-IO layer: procedures, the actions and outcomes they run on, requests.

:class:`mbus.Bus` and :class:`mbus.AsyncBus` cover the usual work. This module is
for driving :class:`mbus.Master` yourself (another event loop, a test): start a
procedure, then do what each action says until :class:`ProcedureFinished`:

- actions from :meth:`mbus.Master.next_action`: :class:`SendBytes`,
  :class:`WaitForData`, :class:`Progress`, :class:`ProcedureFinished`;
- outcomes, one per request, handed to the procedure: :class:`AnswerReceived`,
  :class:`ResponseTimedOut`, :class:`CollisionDetected`, :class:`ChecksumMismatch`;
- procedures (each one state table, see :func:`format_state_table`):
  :class:`ReadMeter`, :class:`ReadAll`, :class:`Exchange`, :class:`PrimaryScan`,
  :class:`SecondarySearch`, :class:`AssignAddresses`, with their results,
  progress events and states;
- requests (:func:`req_ud2`, :func:`snd_nke`, :func:`select`, ...) and the
  answer window (:class:`Timing`, :func:`answer_window`).
"""

from ._assign import AddressAssigned, AssignAddresses, Assignment, AssignState
from ._bus import Meter, parse_meter, run_procedure, run_procedure_async
from ._machine import StateMachine, format_state_table
from ._master import (
    AnswerReceived,
    ChecksumMismatch,
    CollisionDetected,
    Outcome,
    Procedure,
    ProcedureFinished,
    Progress,
    ResponseTimedOut,
    SendBytes,
    WaitForData,
)
from ._read import (
    Exchange,
    ExchangeState,
    ReadAll,
    ReadAllEntry,
    ReadAllState,
    ReadMeter,
    ReadProgress,
    ReadState,
    merge_telegrams,
)
from ._requests import (
    BAUD_RATES,
    BROADCAST_ADDRESS,
    NETWORK_ADDRESS,
    Request,
    application_reset,
    deselect,
    req_ud1,
    req_ud2,
    select,
    set_baud_rate,
    set_primary_address,
    snd_nke,
    snd_ud,
)
from ._scan import FoundPrimary, PrimaryScan, ScanProgress, ScanState
from ._search import (
    COMMON_MANUFACTURERS,
    FoundMeter,
    MeterFound,
    SearchProgress,
    SearchState,
    SecondarySearch,
    UnresolvedMask,
)
from ._timing import Timing, answer_window

__all__ = [
    "BAUD_RATES",
    "BROADCAST_ADDRESS",
    "COMMON_MANUFACTURERS",
    "NETWORK_ADDRESS",
    "AddressAssigned",
    "AnswerReceived",
    "AssignAddresses",
    "AssignState",
    "Assignment",
    "ChecksumMismatch",
    "CollisionDetected",
    "Exchange",
    "ExchangeState",
    "FoundMeter",
    "FoundPrimary",
    "Meter",
    "MeterFound",
    "Outcome",
    "PrimaryScan",
    "Procedure",
    "ProcedureFinished",
    "Progress",
    "ReadAll",
    "ReadAllEntry",
    "ReadAllState",
    "ReadMeter",
    "ReadProgress",
    "ReadState",
    "Request",
    "ResponseTimedOut",
    "ScanProgress",
    "ScanState",
    "SearchProgress",
    "SearchState",
    "SecondarySearch",
    "SendBytes",
    "StateMachine",
    "Timing",
    "UnresolvedMask",
    "WaitForData",
    "answer_window",
    "application_reset",
    "deselect",
    "format_state_table",
    "merge_telegrams",
    "parse_meter",
    "req_ud1",
    "req_ud2",
    "run_procedure",
    "run_procedure_async",
    "select",
    "set_baud_rate",
    "set_primary_address",
    "snd_nke",
    "snd_ud",
]
