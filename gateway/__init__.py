"""gateway: see docs."""
