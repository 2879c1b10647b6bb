"""alarms: an ITU-T X.733 alarm engine with an ISA-18.2 life cycle, sans-IO.

Limit rules (upper, lower; high-high and low-low are further rules) with
hysteresis, raise and clear delays; stale (device failure) rules; X.733-shaped
notifications in JSON and XML (with an XSD); acknowledge, latch/reset, shelve,
suppress and out of service; an active-alarm snapshot; whole-engine
save/restore. Time is always passed in::

    engine = Engine([LimitRule(point="tank", kind="upper", limit=80, hysteresis=2)])
    engine.feed("tank", 81.0, now=10.0)     # -> (AlarmRaised(...),)
    engine.next_deadline()                  # when to call engine.advance(now)

See the guide (docs/alarms.rst) for the exact semantics.
"""

from ._config import RULE_KEYS, load_rules, read_samples, rule_from_mapping, rules_from_toml
from ._core import DEFAULT_MAX_SHELVE
from ._engine import Engine
from ._errors import (
    AlarmsError,
    InputError,
    LifecycleError,
    RuleError,
    SampleError,
    StateFormatError,
    TimeError,
    TransitionError,
)
from ._lifecycle import (
    ACTIVE_ACK_STATES,
    LIFECYCLE_TABLE,
    AckState,
    Announcement,
    LifecycleInput,
    lifecycle_transition,
)
from ._notifications import (
    AlarmCleared,
    AlarmRaised,
    Notification,
    ThresholdInfo,
    notification_from_dict,
    notification_from_json,
)
from ._replay import replay, replay_line
from ._rules import (
    LIMIT_PLACEHOLDERS,
    RULE_SEVERITIES,
    STALE_PLACEHOLDERS,
    EventType,
    LimitRule,
    Rule,
    Severity,
    StaleRule,
)
from ._saved_state import STATE_FORMAT
from ._state import RULE_TABLE, Action, Input, RuleState, rule_table_text, transition
from ._status import AlarmStatus, OperatorAction, ShelveInfo
from ._xml import (
    XML_NAMESPACE,
    notification_from_xml,
    notification_to_xml,
    notification_xsd,
    notifications_from_xml,
    notifications_to_xml,
)

__all__ = [
    "ACTIVE_ACK_STATES",
    "DEFAULT_MAX_SHELVE",
    "LIFECYCLE_TABLE",
    "LIMIT_PLACEHOLDERS",
    "RULE_KEYS",
    "RULE_SEVERITIES",
    "RULE_TABLE",
    "STALE_PLACEHOLDERS",
    "STATE_FORMAT",
    "XML_NAMESPACE",
    "AckState",
    "Action",
    "AlarmCleared",
    "AlarmRaised",
    "AlarmStatus",
    "AlarmsError",
    "Announcement",
    "Engine",
    "EventType",
    "Input",
    "InputError",
    "LifecycleError",
    "LifecycleInput",
    "LimitRule",
    "Notification",
    "OperatorAction",
    "Rule",
    "RuleError",
    "RuleState",
    "SampleError",
    "Severity",
    "ShelveInfo",
    "StaleRule",
    "StateFormatError",
    "ThresholdInfo",
    "TimeError",
    "TransitionError",
    "lifecycle_transition",
    "load_rules",
    "notification_from_dict",
    "notification_from_json",
    "notification_from_xml",
    "notification_to_xml",
    "notification_xsd",
    "notifications_from_xml",
    "notifications_to_xml",
    "read_samples",
    "replay",
    "replay_line",
    "rule_from_mapping",
    "rule_table_text",
    "rules_from_toml",
    "transition",
]
