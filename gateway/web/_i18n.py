"""The page's texts in English and German.

The language comes from ``?lang=`` (remembered in a cookie), else from the browser's
Accept-Language header, else English. A text missing in one language is a test failure
(tests/gateway/web/test_i18n.py), never a silent fallback.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "TEXTS", "pick_language"]

LANGUAGES = ("en", "de")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "meterkit gateway",
        "current": "Current values",
        "meter": "Meter",
        "point": "Point",
        "value": "Value",
        "unit": "Unit",
        "quality": "Quality",
        "age": "Age",
        "good": "good",
        "alarms": "Alarms",
        "no_alarms": "No active alarms.",
        "severity": "Severity",
        "text": "Text",
        "raised": "Raised",
        "state": "State",
        "active": "active",
        "cleared": "cleared",
        "acknowledged": "acknowledged",
        "unacknowledged": "unacknowledged",
        "acknowledge": "Acknowledge",
        "logs": "Logs",
        "deliveries": "Deliveries",
        "audit": "Audit log",
        "time": "Time",
        "kind": "Kind",
        "message": "Message",
        "configuration": "Configuration (read-only)",
        "history": "History",
        "day": "Day",
        "week": "Week",
        "month": "Month",
        "no_data": "No readings in this period.",
        "login": "Log in",
        "logout": "Log out",
        "user": "User",
        "password": "Password",
        "login_failed": "Wrong user name or password.",
        "login_needed": "Log in as an administrator to acknowledge alarms.",
        "logged_in_as": "Logged in as",
        "backup": "Download configuration backup",
        "no_backup": "No backup passphrase is configured.",
        "unknown_point": "Unknown point.",
        "forbidden": "This action needs an administrator.",
        "seconds": "s",
        "language": "Deutsch",
    },
    "de": {
        "title": "meterkit Gateway",
        "current": "Aktuelle Werte",
        "meter": "Zähler",
        "point": "Datenpunkt",
        "value": "Wert",
        "unit": "Einheit",
        "quality": "Qualität",
        "age": "Alter",
        "good": "gut",
        "alarms": "Alarme",
        "no_alarms": "Keine aktiven Alarme.",
        "severity": "Schwere",
        "text": "Text",
        "raised": "Ausgelöst",
        "state": "Zustand",
        "active": "aktiv",
        "cleared": "gegangen",
        "acknowledged": "quittiert",
        "unacknowledged": "nicht quittiert",
        "acknowledge": "Quittieren",
        "logs": "Protokolle",
        "deliveries": "Übertragungen",
        "audit": "Ereignisprotokoll",
        "time": "Zeit",
        "kind": "Art",
        "message": "Meldung",
        "configuration": "Konfiguration (nur lesen)",
        "history": "Verlauf",
        "day": "Tag",
        "week": "Woche",
        "month": "Monat",
        "no_data": "Keine Messwerte in diesem Zeitraum.",
        "login": "Anmelden",
        "logout": "Abmelden",
        "user": "Benutzer",
        "password": "Passwort",
        "login_failed": "Benutzername oder Passwort falsch.",
        "login_needed": "Zum Quittieren von Alarmen als Administrator anmelden.",
        "logged_in_as": "Angemeldet als",
        "backup": "Konfigurationssicherung herunterladen",
        "no_backup": "Keine Passphrase für Sicherungen eingerichtet.",
        "unknown_point": "Unbekannter Datenpunkt.",
        "forbidden": "Diese Aktion erfordert einen Administrator.",
        "seconds": "s",
        "language": "English",
    },
}


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: an explicit choice, then the remembered one, then the browser's."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"
