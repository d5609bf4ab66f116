"""`watchkeeper monitor …` — thin wrappers over the monitoring services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from watchkeeper import clock, egress
from watchkeeper.cli.common import emit, local_actor, session_scope, state
from watchkeeper.errors import InvalidInput
from watchkeeper.signals import service as signals
from watchkeeper.monitoring.metrics import rules, store
from watchkeeper.monitoring.metrics.schemas import MetricSample
from watchkeeper.monitoring.probes import history
from watchkeeper.monitoring.probes import service as monitors
from watchkeeper.monitoring.probes.schemas import MonitorFilter
from watchkeeper.signals.schemas import SignalFilter
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.monitoring.slos import sla

monitor_app = typer.Typer(
    help="Monitors, heartbeats, metrics, alert rules and SLOs: list, check one now, push metrics, reports.",
    no_args_is_help=True,
)


@monitor_app.command("list")
def list_monitors(
    ctx: typer.Context,
    service: Annotated[Optional[str], typer.Option(help="Only this service's monitors.")] = None,
    status: Annotated[Optional[str], typer.Option(help="up, down, pending or paused.")] = None,
) -> None:
    """List monitors with state, last check and 24-hour uptime."""
    with session_scope(ctx) as session:
        actor = local_actor()
        rows = monitors.list_monitors(session, actor=actor, filter=MonitorFilter(service=service, status=status))
        out = []
        for m in rows:
            up = history.uptime(session, name=m.name, actor=actor)[0]
            out.append({
                "name": m.name, "kind": m.kind, "status": m.status, "service": m.service,
                "last_check": m.last_check_at.strftime("%Y-%m-%d %H:%M:%S") if m.last_check_at else None,
                "uptime_24h": f"{up.uptime_percent:.2f}%" if up.uptime_percent is not None else None,
                "error": m.last_error if m.status == "down" else m.warning,
            })
    emit(ctx, out, columns=["name", "kind", "status", "service", "last_check", "uptime_24h", "error"])


@monitor_app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Monitor name.")]) -> None:
    """Show one monitor: its spec, state per location, uptime and recent failures."""
    with session_scope(ctx) as session:
        actor = local_actor()
        m = monitors.get_monitor(session, name=name, actor=actor)
        uptime = history.uptime(session, name=name, actor=actor)
        failures = history.list_checks(session, name=name, actor=actor, limit=5, failures_only=True)
    data = m.model_dump(exclude_none=True)
    data["location_states"] = [f"{loc.location}: {loc.status}" + (f" ({loc.last_error})" if loc.last_error else "")
                               for loc in m.location_states]
    data["uptime"] = {u.window: (f"{u.uptime_percent:.3f}%" if u.uptime_percent is not None else "-") for u in uptime}
    data["recent_failures"] = [f"{c.checked_at:%Y-%m-%d %H:%M:%S} {c.location}: {c.error}" for c in failures]
    emit(ctx, data)


@monitor_app.command("check")
def check(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Monitor name.")],
    location: Annotated[str, typer.Option(help="Location label sent with the check.")] = "cli",
) -> None:
    """Run one monitor once, now, and print what it saw (status, latency, the failing
    assertion or connection error). Stores nothing. Exits 1 when the check fails."""
    with session_scope(ctx) as session:
        monitor = monitors.prepare_check(session, name=name, actor=local_actor())
    settings = state(ctx).settings()
    outcome = monitors.run_check(monitor, location=location, policy=egress.Egress.from_settings(settings),
                                 secret=settings.secret_from_env)
    data = outcome.model_dump()
    if not state(ctx).json:
        data.pop("details")
        data = {k: v for k, v in data.items() if v is not None}
    emit(ctx, data)
    if not outcome.ok:
        raise typer.Exit(1)


@monitor_app.command("pause")
def pause(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Monitor name.")]) -> None:
    """Stop checking a monitor (a firing alert is resolved)."""
    with session_scope(ctx) as session:
        m = monitors.set_enabled(session, name=name, enabled=False, actor=local_actor())
    emit(ctx, {"monitor": m.name, "status": m.status})


@monitor_app.command("resume")
def resume(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Monitor name.")]) -> None:
    """Start checking a paused monitor again."""
    with session_scope(ctx) as session:
        m = monitors.set_enabled(session, name=name, enabled=True, actor=local_actor())
    emit(ctx, {"monitor": m.name, "status": m.status})


@monitor_app.command("delete")
def delete(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Monitor name.")]) -> None:
    """Delete a monitor and its results (config-owned ones come back on the next apply)."""
    with session_scope(ctx) as session:
        monitors.delete_monitor(session, name=name, actor=local_actor())
    emit(ctx, {"deleted": name})


def _labels(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"label {pair!r} is not key=value; write e.g. --label region=eu", field="label")
        out[key] = value
    return out


@monitor_app.command("push")
def push(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Metric name, e.g. orders_total.")] = None,
    value: Annotated[Optional[float], typer.Argument(help="The value.")] = None,
    label: Annotated[list[str], typer.Option("--label", "-l", help="key=value; repeat for more labels.")] = [],  # noqa: B006
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Push a file of Prometheus text exposition instead ('-' for stdin).")] = None,
) -> None:
    """Push a business KPI or job result into the metrics store (e.g. from cron)."""
    if file is not None:
        import sys

        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        samples = store.parse_text(text)
    elif name is not None and value is not None:
        samples = [MetricSample(name=name, value=value, labels=_labels(label))]
    else:
        raise InvalidInput("give NAME VALUE (e.g. `monitor push orders_total 42 -l region=eu`) or --file FILE")
    with session_scope(ctx) as session:
        result = store.push(session, samples=samples, actor=local_actor(), max_series=state(ctx).settings().metrics_max_series)
    emit(ctx, result.model_dump())


@monitor_app.command("signals")
def list_signals(
    ctx: typer.Context,
    source: Annotated[Optional[str], typer.Option(help="probe, heartbeat, rule or slo.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Firing and resolved transitions, newest first."""
    with session_scope(ctx) as session:
        rows = signals.list_signals(session, filter=SignalFilter(source=source, limit=limit), actor=local_actor())
    emit(ctx, [{"at": r.at.strftime("%Y-%m-%d %H:%M:%S"), "source": r.source, "name": r.name,
                "state": "firing" if r.firing else "resolved", "alertname": r.labels.get("alertname"),
                "summary": r.annotations.get("summary")} for r in rows],
         columns=["at", "source", "name", "state", "alertname", "summary"])


@monitor_app.command("rules")
def list_rules(ctx: typer.Context) -> None:
    """Alert rules with their firing and pending alerts."""
    with session_scope(ctx) as session:
        rows = rules.list_rules(session, actor=local_actor())
    emit(ctx, [{"name": r.name, "expr": r.expr, "for": r.for_, "severity": r.severity,
                "firing": sum(1 for a in r.alerts if a.state == "firing"),
                "pending": sum(1 for a in r.alerts if a.state == "pending"), "error": r.last_error} for r in rows],
         columns=["name", "expr", "for", "severity", "firing", "pending", "error"])


@monitor_app.command("slos")
def list_slos(ctx: typer.Context) -> None:
    """SLOs with attainment, error budget left and burn-rate alerts."""
    with session_scope(ctx) as session:
        out = []
        actor = local_actor()
        for s in slos.list_slos(session, actor=actor):
            st = slos.status(session, name=s.name, actor=actor)
            out.append({
                "name": s.name, "service": s.service, "target": f"{s.target:g}%", "window": s.window,
                "attained": f"{st.attainment_percent:.3f}%" if st.attainment_percent is not None else None,
                "budget_left": f"{st.budget_remaining:.1%}" if st.budget_remaining is not None else None,
                "firing": [b.alert for b in st.burn if b.firing],
            })
    emit(ctx, out, columns=["name", "service", "target", "window", "attained", "budget_left", "firing"])


@monitor_app.command("sla")
def sla_report(
    ctx: typer.Context,
    month: Annotated[Optional[str], typer.Option(help="YYYY-MM (default: this month).")] = None,
) -> None:
    """Monthly SLA attainment per service."""
    month = month or clock.utcnow().strftime("%Y-%m")
    with session_scope(ctx) as session:
        report = sla.sla_report(session, month=month, actor=local_actor())
    emit(ctx, [{"service": r.service, "month": r.month, "sla": r.sla_target, "slo": r.slo_target,
                "attained": f"{r.attainment_percent:.3f}%" if r.attainment_percent is not None else None,
                "met": r.met, "source": r.source} for r in report.rows],
         columns=["service", "month", "sla", "slo", "attained", "met", "source"])
