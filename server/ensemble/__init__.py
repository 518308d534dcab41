"""Ensemble: a real-time server for live group practice."""

__version__ = "0.1.0"
