"""Heartbeat monitors: pings from the jobs they watch (start, success, fail or an exit status),
each monitor's next deadline, and taking down the heartbeats whose deadline passed.

The token in the ping URL is the credential. Pings are data, not configuration, so they are not
audited — their up/down transitions are recorded as signals instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from watchkeeper import clock
from watchkeeper import cron as crontab
from watchkeeper.auth.service import Actor
from watchkeeper.db.engine import is_postgres
from watchkeeper.errors import InvalidInput
from watchkeeper.monitoring.errors import HeartbeatNotFound
from watchkeeper.monitoring.models import Monitor, Ping
from watchkeeper.monitoring.probes import _heartbeat, _rows
from watchkeeper.monitoring.probes._state import Status
from watchkeeper.monitoring.probes._transitions import set_status
from watchkeeper.monitoring.probes.kinds import HeartbeatSpec
from watchkeeper.monitoring.probes.schemas import PingResult, PingSignal
from watchkeeper.monitoring.scope import require_in_scope


def _hb_spec(m: Monitor) -> HeartbeatSpec:
    return HeartbeatSpec.model_validate(m.spec)


def _refused_schedule(m: Monitor) -> str | None:
    """Why the schedule stored for `m` is refused now, if it is: an older release accepted lines
    that never run and 6-field lines (croniter read the sixth as seconds); see watchkeeper.cron."""
    expr = (m.spec or {}).get("cron")
    if expr is None:
        return None
    try:
        crontab.check(expr)
    except crontab.CronInvalid as exc:
        return (f"its stored schedule is refused: {exc}; correct `cron` in watchkeeper.yaml and apply "
                "(or update the monitor), then the next ping brings it up")
    return None


def _deadline(m: Monitor) -> dt.datetime | None:
    if _refused_schedule(m) is not None:
        return None
    spec = _hb_spec(m)
    return _heartbeat.deadline(last_ping=m.last_ping_at, last_start=m.last_start_at, period=spec.period,
                               cron=spec.cron, timezone=spec.timezone, grace=spec.grace)


@dataclasses.dataclass(frozen=True)
class PingIn:
    """One heartbeat ping as it arrived: the token from the URL, the signal, and what to keep."""

    token: str
    signal: PingSignal = PingSignal.SUCCESS
    exit_status: int | None = None
    client: str | None = None
    body: str | None = None


def _not_found() -> HeartbeatNotFound:
    return HeartbeatNotFound("no heartbeat monitor has this ping URL; copy it from `watchkeeper monitor show NAME`")


def parse_signal(signal: str | None) -> tuple[PingSignal, int | None]:
    """The signal part of a ping URL: none (success), start/success/fail, or an exit status."""
    if signal is None:
        return PingSignal.SUCCESS, None
    if signal.isdigit():
        exit_status = int(signal)
        if exit_status > 255:
            raise InvalidInput(f"exit status {exit_status} is out of range; send 0-255", field="signal")
        return (PingSignal.SUCCESS if exit_status == 0 else PingSignal.FAIL), exit_status
    try:
        return PingSignal(signal), None
    except ValueError:
        raise InvalidInput(f"unknown ping signal '{signal}'; use start, success, fail or an exit status", field="signal") from None


def ping(
    session: Session, *, token: str, signal: PingSignal = PingSignal.SUCCESS, exit_status: int | None = None,
    client: str | None = None, body: str | None = None,
) -> PingResult:
    """Record a heartbeat ping. `success` brings the monitor up, `fail` (or a non-zero exit
    status) takes it down at once, `start` marks a run as begun. The token in the URL is the
    credential. Raises HeartbeatNotFound for an unknown token. Does not commit."""
    (outcome,) = record_pings(session, [PingIn(token=token, signal=signal, exit_status=exit_status,
                                               client=client, body=body)])
    if isinstance(outcome, HeartbeatNotFound):
        raise outcome
    return outcome


def record_pings(session: Session, pings: list[PingIn]) -> list[PingResult | HeartbeatNotFound]:
    """Record many heartbeat pings, in order, as `ping` does one — with set-based SQL, so a
    batch costs little more than a single ping: one SELECT of every monitor the tokens name,
    then the ping rows and those monitors' new ping times and deadlines in one statement
    (two on SQLite); only a status change (a transition) adds its own UPDATE.

    Returns one outcome per ping, in the same order: its PingResult, or a HeartbeatNotFound in
    its place for a token that names no heartbeat monitor (that ping writes nothing; the others
    are unaffected). Up/down transitions publish SignalChanged in this transaction, so a late
    ping resolves HeartbeatMissed. Does not commit.

    On PostgreSQL the monitors are locked in id order (FOR NO KEY UPDATE): batches from several
    serve processes queue for the monitors they share instead of deadlocking, and each ping's
    time is taken after the lock, so a monitor's last ping time never goes backwards.
    """
    tokens = sorted({p.token for p in pings})
    query = select(Monitor).where(Monitor.ping_token.in_(tokens)).order_by(Monitor.id)
    if is_postgres(session):
        query = query.with_for_update(key_share=True)
    by_token = {m.ping_token: m for m in session.execute(query).scalars()}
    rows: list[dict] = []
    touched: dict[int, Monitor] = {}
    outcomes: list[PingResult | HeartbeatNotFound] = []
    for p in pings:
        m = by_token.get(p.token)
        if m is None or m.kind != "heartbeat":
            outcomes.append(_not_found())
            continue
        signal = p.signal
        if p.exit_status is not None:
            signal = PingSignal.SUCCESS if p.exit_status == 0 else PingSignal.FAIL
        now = clock.utcnow()
        rows.append({"monitor_id": m.id, "at": now, "signal": signal.value, "exit_status": p.exit_status,
                     "client": (p.client or "")[:100] or None, "body": p.body[:1000] if p.body else None})
        _apply_ping(session, m, signal=signal, exit_status=p.exit_status, body=p.body, now=now)
        touched[m.id] = m
        outcomes.append(PingResult(monitor=m.name, signal=signal, status=m.status))
    if rows:
        _write_pings(session, rows, list(touched.values()))
    session.flush()
    return outcomes


# One statement for a whole batch on PostgreSQL: arrays in, unnest() to rows, the ping rows
# inserted by a CTE of the monitors' UPDATE (one round trip). The SQL text never changes with
# the batch size, so it is compiled once and prepared by the server (a multi-row VALUES list
# would be a new statement for every size).
_PG_WRITE_PINGS = text(
    "WITH new_pings AS (INSERT INTO monitoring_ping (monitor_id, at, signal, exit_status, client, body) "
    "SELECT * FROM unnest(CAST(:p_monitor_id AS integer[]), CAST(:p_at AS timestamptz[]), "
    "CAST(:p_signal AS varchar[]), CAST(:p_exit_status AS integer[]), CAST(:p_client AS varchar[]), "
    "CAST(:p_body AS text[]))) "
    "UPDATE monitoring_monitor AS m SET last_ping_at = v.last_ping_at, last_start_at = v.last_start_at, "
    "deadline_at = v.deadline_at, updated_at = :now "
    "FROM unnest(CAST(:m_id AS integer[]), CAST(:m_last_ping_at AS timestamptz[]), "
    "CAST(:m_last_start_at AS timestamptz[]), CAST(:m_deadline_at AS timestamptz[])) "
    "AS v(id, last_ping_at, last_start_at, deadline_at) WHERE m.id = v.id"
)
_PING_COLUMNS = ("monitor_id", "at", "signal", "exit_status", "client", "body")
_PING_TIMES = ("last_ping_at", "last_start_at", "deadline_at")


def _write_pings(session: Session, rows: list[dict], monitors: list[Monitor]) -> None:
    """The batch's ping rows and its monitors' ping times and deadlines, in one statement on
    PostgreSQL (two executemany on SQLite, whose statements cost no round trip). The ORM
    objects carry these values as already stored (`_apply_ping`), so no flush writes them
    again; status changes made by transitions are flushed by the ORM as usual."""
    now = clock.utcnow()
    updates = []
    for m in monitors:
        # Only the last ping of the batch decides the deadline: compute it once per monitor
        # (a cron expression costs more than the rest of the ping).
        set_committed_value(m, "deadline_at", _deadline(m))
        set_committed_value(m, "updated_at", now)
        updates.append({"m_id": m.id, **{f"m_{attr}": getattr(m, attr) for attr in _PING_TIMES}})
    if is_postgres(session):
        params = {f"p_{c}": [r[c] for r in rows] for c in _PING_COLUMNS}
        params.update({key: [u[key] for u in updates] for key in updates[0]})
        session.execute(_PG_WRITE_PINGS, {"now": now, **params})
        return
    session.execute(insert(Ping.__table__), rows)
    table = Monitor.__table__
    session.execute(update(table).where(table.c.id == bindparam("m_id")).values(
        updated_at=now, **{attr: bindparam(f"m_{attr}") for attr in _PING_TIMES}), updates)


def _apply_ping(session: Session, m: Monitor, *, signal: PingSignal, exit_status: int | None, body: str | None,
                now: dt.datetime) -> None:
    # Ping times are written by _write_pings in one statement for the batch: set them on the
    # object as stored values, so an unchanged monitor never becomes dirty for the ORM.
    set_committed_value(m, "last_start_at" if signal == PingSignal.START else "last_ping_at", now)
    if not m.enabled:
        return
    refused = _refused_schedule(m)
    if refused is not None:
        # No deadline can be computed: rather than never paging, stay down and say what to fix.
        if m.status == Status.DOWN.value:
            m.last_error = refused
        set_status(session, m, Status.DOWN, at=now, error=refused)
        return
    if signal == PingSignal.SUCCESS:
        set_status(session, m, Status.UP, at=now, error=None)
    elif signal == PingSignal.FAIL:
        reason = f"the job reported failure (exit status {exit_status})" if exit_status is not None else "the job reported failure"
        if body:
            reason += f": {body.strip()[:200]}"
        if m.status == Status.DOWN.value:
            m.last_error = reason
        set_status(session, m, Status.DOWN, at=now, error=reason)


def check_heartbeats(session: Session, *, now: dt.datetime | None = None) -> int:
    """Take down every heartbeat whose deadline passed without a ping. Returns how many. Does not commit."""
    now = now or clock.utcnow()
    query = select(Monitor).where(
        Monitor.kind == "heartbeat", Monitor.enabled.is_(True), Monitor.deadline_at <= now,
        Monitor.status != Status.DOWN.value,
    ).order_by(Monitor.id)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    count = 0
    for m in session.execute(query).scalars():
        spec = _hb_spec(m)
        last = f"{m.last_ping_at:%Y-%m-%d %H:%M:%S} UTC" if m.last_ping_at else "never"
        expected = m.deadline_at - spec.grace
        error = (f"no ping since {last}; one was expected by {expected:%Y-%m-%d %H:%M:%S} UTC "
                 f"(grace {spec.grace} ended {m.deadline_at:%H:%M:%S})")
        if m.last_start_at and (m.last_ping_at is None or m.last_start_at > m.last_ping_at):
            error = f"the run started at {m.last_start_at:%Y-%m-%d %H:%M:%S} UTC has not reported success within the grace time {spec.grace}"
        set_status(session, m, Status.DOWN, at=m.deadline_at, error=error)
        count += 1
    session.flush()
    return count


def list_pings(session: Session, *, name: str, actor: Actor, limit: int = 50) -> list[dict]:
    """A heartbeat's recent pings, newest first, if the actor may read the monitor."""
    m = _rows.get(session, name)
    require_in_scope(session, actor, "monitor.read", m.service)
    rows = session.execute(select(Ping).where(Ping.monitor_id == m.id).order_by(Ping.at.desc(), Ping.id.desc()).limit(limit)).scalars()
    return [{"at": p.at, "signal": p.signal, "exit_status": p.exit_status, "client": p.client, "body": p.body} for p in rows]

