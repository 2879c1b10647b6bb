"""exporters: see docs."""
