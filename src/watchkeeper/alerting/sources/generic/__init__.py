"""The generic JSON format: {"alerts": [...]} or a bare list (Alertmanager's /api/v2/alerts shape)."""
from watchkeeper.alerting.sources.generic.parser import parse

__all__ = ["parse"]
