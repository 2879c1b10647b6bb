"""alarms: see docs."""
