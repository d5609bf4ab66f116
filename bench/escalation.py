#!/usr/bin/env python3
"""Escalation benchmark: 10,000 active escalations on PostgreSQL, step lateness p50/p99.

    .venv/bin/python bench/escalation.py                      # ~5 minutes
    .venv/bin/python bench/escalation.py --escalations 2000 --spread 30 --timeout 30 --json

What it does (all on 127.0.0.1):
1. creates a PostgreSQL database for the run (dropped at the end), migrates it, adds two people
   with email addresses and a policy of two levels (person ann, then person cat) whose level 1
   timeout is --timeout seconds, no repeat;
2. starts N escalations with the service function (`oncall.escalation.start`, as the alert
   pipeline does), then spreads their first steps evenly over --spread seconds starting a few
   seconds ahead (so the steps are not all due at the same instant). With --timeout >= --spread,
   every escalation is active at once when the last level 1 goes out;
3. starts --workers `watchkeeper worker` processes (default settings; SMTP to an aiosmtpd server
   in this process, so every page is really delivered, and the deliveries compete with the steps
   for the workers as they would in production);
4. waits until every escalation paged both levels (and every page was sent), then reads from
   the database, for every `oncall.step` job: lateness = committed (`finished_at`) - due
   (`run_after`); it prints p50/p95/p99/max for level 1 and level 2 steps, the pages per step
   (exactly once), and the delay from page written to page sent.

Target (issue 12): step lateness p99 < 2 s with 10,000 active escalations.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")


class Inbox:
    """An aiosmtpd server that counts messages per Message-ID."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.ids: dict[str, int] = {}
        self.lock = threading.Lock()

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes

                mid = str(message_from_bytes(envelope.content)["Message-ID"])
                with box.lock:
                    box.ids[mid] = box.ids.get(mid, 0) + 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_s": round(pct(values, 50), 3), "p95_s": round(pct(values, 95), 3),
            "p99_s": round(pct(values, 99), 3), "max_s": round(max(values), 3) if values else None,
            "mean_s": round(statistics.fmean(values), 3) if values else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--escalations", type=int, default=10_000)
    ap.add_argument("--spread", type=float, default=120.0, help="seconds over which the first steps fall due")
    ap.add_argument("--timeout", type=int, default=120, help="level 1 timeout in seconds (>= spread: all active at once)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lead", type=float, default=5.0, help="seconds between the workers' start and the first due step")
    ap.add_argument("--pg", default=os.environ.get("WATCHKEEPER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from watchkeeper.app import build, prepare_database
    from watchkeeper.auth.service import Actor
    from watchkeeper.catalog import teams
    from watchkeeper.catalog.schemas import PersonCreate, TeamCreate
    from watchkeeper.config import Settings
    from watchkeeper.oncall import escalation, policies
    from watchkeeper.oncall.schemas import EscalationLevel, EscalationTarget, PolicyCreate

    load_before = os.getloadavg()
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    db = f"wk_bench_esc_{secrets.token_hex(4)}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{db}"'))
    url = admin.url.set(database=db).render_as_string(hide_password=False)
    inbox = Inbox()
    inbox.start()
    tmp = Path(tempfile.mkdtemp(prefix="wk-bench-esc-"))
    container = build(Settings(database_url=url, data_dir=tmp / "data", secret_key=secrets.token_urlsafe(24)))
    procs: list[subprocess.Popen] = []
    n = args.escalations
    try:
        prepare_database(container)
        system = Actor.system("bench", "system")
        with container.session() as s:
            for h in ("ann", "cat"):
                teams.create_person(s, data=PersonCreate(handle=h, email=f"{h}@example.com"), actor=system)
            teams.create_team(s, data=TeamCreate(name="ops", members=["ann", "cat"]), actor=system)
            policies.create_policy(s, data=PolicyCreate(name="bench", team="ops", levels=[
                EscalationLevel(targets=[EscalationTarget(kind="person", name="ann")], timeout=f"{args.timeout}s"),
                EscalationLevel(targets=[EscalationTarget(kind="person", name="cat")], timeout="60s")]), actor=system)
            s.commit()
        began = time.time()
        for start in range(0, n, 500):
            with container.session() as s:
                for i in range(start, min(n, start + 500)):
                    escalation.start(s, ref=f"bench:{i}", policy="bench", service=None, summary=f"bench incident {i}")
                s.commit()
        setup = time.time() - began
        env = {**os.environ, "WATCHKEEPER_DATABASE_URL": url, "WATCHKEEPER_DATA_DIR": str(tmp / "data"),
               "WATCHKEEPER_SECRET_KEY": secrets.token_urlsafe(24), "WATCHKEEPER_SMTP_HOST": "127.0.0.1",
               "WATCHKEEPER_SMTP_PORT": str(inbox.port), "WATCHKEEPER_LOG_LEVEL": "WARNING"}

        def spread(first: dt.datetime) -> None:
            """Escalation k (in id order) is due at first + k * spread / n."""
            gap = args.spread / max(n - 1, 1)
            with container.engine.begin() as c:
                lo = c.execute(text("SELECT min(id) FROM oncall_escalation")).scalar()
                c.execute(text("UPDATE oncall_escalation SET next_step_at = :first + make_interval(secs => (id - :lo) * :gap)"),
                          {"first": first, "lo": lo, "gap": gap})
                c.execute(text("UPDATE worker_job SET run_after = :first + make_interval(secs => "
                               "((payload->>'escalation_id')::bigint - :lo) * :gap) WHERE kind = 'oncall.step'"),
                          {"first": first, "lo": lo, "gap": gap})

        spread(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))  # nothing due while the workers start
        log = open(tmp / "workers.log", "ab")
        for w in range(args.workers):
            procs.append(subprocess.Popen([WATCHKEEPER, "worker"], env={**env, "WATCHKEEPER_WORKER_ID": f"bench{w}"},
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        while True:
            with container.engine.connect() as c:
                if c.execute(text("SELECT count(*) FROM worker_process WHERE status = 'running'")).scalar() >= args.workers:
                    break
            time.sleep(0.5)
        spread(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=args.lead))
        peak_active = 0
        deadline = time.time() + args.lead + args.spread + args.timeout + 600
        while time.time() < deadline:
            with container.engine.connect() as c:
                active = c.execute(text("SELECT count(*) FROM oncall_escalation WHERE status = 'active' AND last_level IS NOT NULL")).scalar()
                exhausted = c.execute(text("SELECT count(*) FROM oncall_escalation WHERE status = 'exhausted'")).scalar()
                unsent = c.execute(text("SELECT count(*) FROM notify_outbox WHERE status <> 'sent'")).scalar()
            peak_active = max(peak_active, active)
            if exhausted == n and unsent == 0:
                break
            time.sleep(1)
        else:
            raise SystemExit(f"not done in time: {exhausted}/{n} exhausted, {unsent} pages unsent (log: {tmp / 'workers.log'})")
        time.sleep(1)
        with container.engine.connect() as c:
            rows = c.execute(text(
                "SELECT (result->>'level')::int, extract(epoch FROM finished_at - run_after), extract(epoch FROM started_at - run_after) "
                "FROM worker_job WHERE kind = 'oncall.step' AND status = 'succeeded' AND result ? 'level'")).all()
            skipped = c.execute(text("SELECT count(*) FROM worker_job WHERE kind = 'oncall.step' AND NOT (result ? 'level')")).scalar()
            outbox = c.execute(text("SELECT count(*), count(DISTINCT idempotency_key) FROM notify_outbox")).one()
            handoff = [r[0] for r in c.execute(text("SELECT extract(epoch FROM sent_at - created_at) FROM notify_outbox"))]
            by_worker = dict(c.execute(text("SELECT claimed_by, count(*) FROM worker_job WHERE kind = 'oncall.step' "
                                            "GROUP BY claimed_by")).all())
        lateness = {level: summary([float(r[1]) for r in rows if r[0] == level]) for level in (1, 2)}
        claim = summary([float(r[2]) for r in rows])
        result = {
            "machine": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"), "load_1m_before": round(load_before[0], 2),
            "load_1m_after": round(os.getloadavg()[0], 2), "escalations": n, "peak_active_after_level_1": peak_active,
            "spread_s": args.spread, "timeout_s": args.timeout, "workers": args.workers, "setup_s": round(setup, 1),
            "steps": len(rows), "stale_or_skipped_steps": skipped, "pages": outbox[0], "distinct_page_keys": outbox[1],
            "mails_received": sum(inbox.ids.values()), "mails_twice": sum(1 for v in inbox.ids.values() if v > 1),
            "step_lateness_level1": lateness[1], "step_lateness_level2": lateness[2],
            "step_lateness_all": summary([float(r[1]) for r in rows]), "claim_lateness_all": claim,
            "page_written_to_sent": summary([float(v) for v in handoff]), "steps_per_worker": by_worker,
        }
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            allr = result["step_lateness_all"]
            print(f"{n} escalations ({peak_active} active at once), {len(rows)} steps on {args.workers} workers; "
                  f"step lateness p50 {allr['p50_s']} s, p99 {allr['p99_s']} s, max {allr['max_s']} s "
                  f"(target p99 < 2 s); pages {outbox[0]} ({outbox[1]} distinct keys), mails {result['mails_received']} "
                  f"({result['mails_twice']} twice)")
            print(json.dumps(result, indent=2))
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, 15)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
        inbox.stop()
        container.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
