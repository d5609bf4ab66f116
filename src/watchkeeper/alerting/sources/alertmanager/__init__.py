"""Prometheus Alertmanager's webhook payload (version 4)."""
from watchkeeper.alerting.sources.alertmanager.parser import parse

__all__ = ["parse"]
