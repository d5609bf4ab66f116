"""Alertmanager webhook_config payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).

endsAt "0001-01-01T00:00:00Z" means "not set". Alertmanager's own fingerprint is ignored:
Watchkeeper fingerprints the labels itself, the same way for every source.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from watchkeeper.alerting.schemas import AlertIn, AlertStatus, check_labels

ZERO_YEAR = 1


class AmAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: dt.datetime
    endsAt: dt.datetime | None = None
    generatorURL: str | None = None

    @field_validator("endsAt")
    @classmethod
    def _zero(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None or value.year <= ZERO_YEAR else value


class AmWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = Field(description="Payload version; 4 is current.")
    status: Literal["firing", "resolved"]
    receiver: str | None = None
    groupKey: str | None = None
    alerts: list[AmAlert] = Field(min_length=1, max_length=5000)

    @field_validator("version")
    @classmethod
    def _v4(cls, value: str) -> str:
        if value != "4":
            raise ValueError(f"webhook payload version {value!r} is not supported; Watchkeeper reads version \"4\" (Alertmanager ≥ 0.16)")
        return value


def to_alert(a: AmAlert, index: int) -> AlertIn:
    """AmAlert is already type-checked; only AlertIn's own rules are left to check, so the hot
    path validates each alert once instead of twice."""
    try:
        check_labels(a.labels)
        if a.startsAt.tzinfo is None:
            raise ValueError("startsAt needs a time zone")
    except ValueError as exc:
        from watchkeeper.errors import InvalidInput

        raise InvalidInput(f"alerts[{index}].labels: {exc}", field=f"alerts[{index}].labels", code="alert.invalid_payload") from None
    return AlertIn.model_construct(labels=a.labels, annotations=a.annotations, status=AlertStatus(a.status), starts_at=a.startsAt,
                                   ends_at=a.endsAt if a.status == "resolved" else None, generator_url=a.generatorURL)


def parse(data: Any) -> list[AlertIn]:
    from watchkeeper.alerting.sources import invalid

    try:
        hook = AmWebhook.model_validate(data)
        return [to_alert(a, i) for i, a in enumerate(hook.alerts)]
    except ValidationError as exc:
        raise invalid(exc) from None
