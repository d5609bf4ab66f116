"""Alert pipeline factories: configure receivers/routes and ingest alerts through the service layer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.schemas import AlertIn, AlertingConfig, IngestResult
from watchkeeper.auth.service import Actor

SYSTEM = Actor.system("factory", "system")


def configure(session: Session, **config: Any) -> AlertingConfig:
    """Apply an `alerting:` section given as keyword arguments (the YAML shape)."""
    cfg = AlertingConfig.model_validate(config)
    alerting.apply_config(session, config=cfg, actor=SYSTEM)
    return cfg


def email_receiver(name: str, port: int, to: str = "oncall@example.com") -> dict:
    return {"name": name, "channels": [{"type": "email", "to": [to], "smtp_host": "127.0.0.1", "smtp_port": port,
                                         "timeout": "3s"}]}


def webhook_receiver(name: str, url: str, secret_env: str | None = None) -> dict:
    channel = {"type": "webhook", "url": url, "timeout": "3s"}
    if secret_env:
        channel["secret_env"] = secret_env
    return {"name": name, "channels": [channel]}


def alert(name: str = "HighErrorRate", *, status: str | None = None, starts_at: dt.datetime | None = None,
          ends_at: dt.datetime | None = None, annotations: dict | None = None, **labels: str) -> AlertIn:
    return AlertIn(labels={"alertname": name, **labels}, annotations=annotations or {"summary": f"{name} is happening"},
                   status=status, startsAt=starts_at, endsAt=ends_at)


def ingest(session: Session, *alerts: AlertIn, source: str = "api", actor: Actor | None = None) -> IngestResult:
    return alerting.ingest(session, alerts=list(alerts), source=source, actor=actor or SYSTEM)
