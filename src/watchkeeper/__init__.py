"""Watchkeeper: the readiness gate and the watch for services in production."""

__version__ = "0.1.0"
