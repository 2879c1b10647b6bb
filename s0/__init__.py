"""s0: see docs."""
