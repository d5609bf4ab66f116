"""Grafana unified alerting's webhook contact point payload."""
from watchkeeper.alerting.sources.grafana.parser import parse

__all__ = ["parse"]
