"""Grafana alerting webhook (contact point type "webhook", payload version 1).

Like Alertmanager's, plus per-alert dashboardURL, panelURL, silenceURL and valueString, which
become annotations (dashboard_url, panel_url, value) so they show in messages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from watchkeeper.alerting.schemas import AlertIn
from watchkeeper.alerting.sources.alertmanager.parser import AmAlert


class GrafanaAlert(AmAlert):
    """An Alertmanager alert plus Grafana's links and the value that fired."""

    dashboardURL: str | None = None
    panelURL: str | None = None
    valueString: str | None = None


class GrafanaWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    alerts: list[GrafanaAlert] = Field(min_length=1, max_length=5000)
    orgId: int | None = None
    title: str | None = None


def parse(data: Any) -> list[AlertIn]:
    from watchkeeper.alerting.sources import invalid

    try:
        hook = GrafanaWebhook.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc) from None
    out = []
    for i, a in enumerate(hook.alerts):
        annotations = dict(a.annotations)
        for key, value in (("dashboard_url", a.dashboardURL), ("panel_url", a.panelURL), ("value", a.valueString)):
            if value:
                annotations.setdefault(key, value)
        try:
            out.append(AlertIn(labels=a.labels, annotations=annotations, status=a.status, startsAt=a.startsAt,
                               endsAt=a.endsAt if a.status == "resolved" else None, generatorURL=a.generatorURL))
        except ValidationError as exc:
            raise invalid(exc, prefix=f"alerts[{i}]") from None
    return out
