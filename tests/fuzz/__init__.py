"""Fuzz harness: one hypothesis target per entry point that reads untrusted input."""
