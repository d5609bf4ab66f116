"""Periodic monitoring work for the worker: heartbeat deadlines, alert rules, SLO accounting
and burn-rate alerts, metric roll-ups and retention. (Probes run in the probe runner loop.)"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.egress import Egress
from watchkeeper.queue.context import JobContext
from watchkeeper.monitoring.metrics import rules, store
from watchkeeper.monitoring.probes import heartbeats as pings
from watchkeeper.monitoring.slos import evaluation as slos
from watchkeeper.monitoring.models import Check, Ping
from watchkeeper.signals.models import Signal


def heartbeats(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Take down heartbeats whose ping is overdue past the grace time."""
    return {"down": pings.check_heartbeats(session)}


def evaluate_rules(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    policy = Egress.from_settings(ctx.settings)
    prom = functools.partial(rules.prometheus_query, egress=policy)
    return {"transitions": rules.evaluate_due(session, retention=store.Retention.from_settings(ctx.settings), prom=prom)}


def evaluate_slos(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    return {"transitions": slos.evaluate_all(session, retention=store.Retention.from_settings(ctx.settings),
                                             policy=Egress.from_settings(ctx.settings))}


def rollup(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    return {str(k): v for k, v in store.rollup(session).items()}


def prune(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Retention: raw samples, probe results and pings after the raw retention, roll-ups after
    theirs, signal history after the hour-roll-up retention."""
    retention = store.Retention.from_settings(ctx.settings)
    now = clock.utcnow()
    out = store.prune(session, retention=retention, now=now)
    out["checks"] = session.execute(delete(Check).where(Check.checked_at < now - retention.raw)).rowcount
    out["pings"] = session.execute(delete(Ping).where(Ping.at < now - retention.raw)).rowcount
    out["signals"] = session.execute(delete(Signal).where(Signal.at < now - retention.hour)).rowcount
    return out
