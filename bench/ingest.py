#!/usr/bin/env python3
"""Alert ingest benchmark: `watchkeeper serve` on PostgreSQL vs Debian's Alertmanager.

    .venv/bin/python bench/ingest.py                 # ~2 minutes: 20 s per phase
    .venv/bin/python bench/ingest.py --seconds 10 --json

What it does (all on 127.0.0.1, nothing outside the machine):
1. creates a PostgreSQL database for the run (dropped at the end), migrates it, makes an
   ingest token and an alerting config whose receiver is an aiosmtpd server run here;
2. starts `watchkeeper serve` (API + worker in one process, as a user would) and Debian's
   `prometheus-alertmanager`;
3. latency (on the fresh database): an open-loop load of 1,000 alerts/s (100 requests/s of
   10, mixed dedup) for N seconds, with p50/p95/p99 measured from each request's scheduled
   time; during it, 40 alerts that each open a new group are timed from the request to their
   email arriving at the SMTP server, minus group_wait (the alert-to-notification handoff);
4. throughput: C connections post Alertmanager-format batches back to back for N seconds —
   half of each batch are new alerts, half repeats of recent ones (mixed dedup) — counting
   alerts acknowledged with a 2xx (Watchkeeper commits before it answers);
5. the same throughput and latency phases against Alertmanager's /api/v2/alerts;
6. prints the numbers and the Watchkeeper/Alertmanager ratios.

Alertmanager keeps alerts in memory (snapshots every 15 minutes); Watchkeeper commits each
batch to PostgreSQL before answering. The ratio compares the two as a user would run them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
GROUP_WAIT = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {url}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


# ---------------------------------------------------------------- load shapes


class Alerts:
    """Mixed-dedup alert stream: half new fingerprints, half repeats of recent ones."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.counter = 0
        self.recent: list[dict] = []
        self.start = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")

    def new(self) -> dict:
        self.counter += 1
        k = self.counter
        alert = {"labels": {"alertname": f"Bench{k % 20}", "service": f"svc{k % 10}", "instance": f"host-{k}:9100",
                            "severity": "warning" if k % 3 else "critical"},
                 "annotations": {"summary": f"bench alert {k}", "runbook_url": "https://runbooks.example.com/bench"},
                 "startsAt": self.start, "generatorURL": "http://prometheus:9090/graph"}
        self.recent.append(alert)
        if len(self.recent) > 5000:
            del self.recent[:1000]
        return alert

    def batch(self, size: int) -> list[dict]:
        out = [self.new() for _ in range(size - size // 2)]
        out += [self.rng.choice(self.recent) for _ in range(size // 2)]
        return out


def am_webhook(alerts: list[dict]) -> bytes:
    return json.dumps({"version": "4", "status": "firing", "receiver": "bench", "groupKey": "{}:{}", "truncatedAlerts": 0,
                       "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
                       "alerts": [{"status": "firing", "endsAt": "0001-01-01T00:00:00Z", **a} for a in alerts]}).encode()


def am_v2(alerts: list[dict]) -> bytes:
    return json.dumps(alerts).encode()


class Target:
    def __init__(self, name: str, url: str, encode, headers: dict[str, str]):
        self.name, self.url, self.encode = name, url, encode
        parsed = httpx.URL(url)
        self.host, self.port, self.path = parsed.host, parsed.port, parsed.raw_path.decode()
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Type": "application/json"}.items())


class Connection:
    """One keep-alive HTTP/1.1 connection with a minimal client: on two shared cores the load
    generator's own CPU matters, and httpx costs several times more per request than this."""

    def __init__(self, target: Target):
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        t = self.target
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(t.host, t.port)
        self.writer.write(f"POST {t.path} HTTP/1.1\r\nHost: {t.host}\r\n{t.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        try:
            status_line = await self.reader.readline()
            length, close = 0, False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await self.reader.readexactly(length)
            if not status_line:
                raise ConnectionError("connection closed")
            if close:
                self.close()
            return int(status_line.split(b" ")[1])
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            self.close()
            raise ConnectionError("request failed") from None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# ---------------------------------------------------------------- phases


async def throughput(target: Target, bodies: list[tuple[bytes, int]], *, seconds: float, concurrency: int) -> dict:
    accepted = errors = 0
    index = 0
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []

    async def worker():
        nonlocal accepted, errors, index
        conn = Connection(target)
        while time.monotonic() < stop_at:
            body, n = bodies[index % len(bodies)]
            index += 1
            t0 = time.perf_counter()
            try:
                status = await conn.post(body)
            except (ConnectionError, OSError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)
            if status < 300:
                accepted += n
            else:
                errors += 1
        conn.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    return {"alerts_per_s": accepted / elapsed, "accepted": accepted, "requests": len(latencies), "errors": errors,
            "p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000, "seconds": elapsed}


async def steady(target: Target, bodies: list[tuple[bytes, int]], *, seconds: float, rate_rps: float, warmup: float = 0,
                 probes: list[tuple[bytes, str]] | None = None, sent_at: dict[str, float] | None = None, lanes: int = 32) -> dict:
    """Open loop: requests are scheduled at a fixed rate and sent over `lanes` keep-alive
    connections. Latency is measured from the scheduled time, so a server that falls behind
    is charged for the wait (no coordinated omission). The first `warmup` seconds run at the
    same rate and are not counted."""
    latencies: list[float] = []
    errors = 0
    work: asyncio.Queue = asyncio.Queue()
    interval = 1.0 / rate_rps
    skip = int(warmup * rate_rps)
    n = skip + int(seconds * rate_rps)
    measured = n - skip
    probe_every = max(1, measured // (len(probes) + 1)) if probes else 0

    async def lane():
        nonlocal errors
        conn = Connection(target)
        while True:
            item = await work.get()
            if item is None:
                conn.close()
                return
            scheduled, body, probe_name, counted = item
            if probe_name and sent_at is not None:
                sent_at[probe_name] = time.time() - (time.perf_counter() - scheduled)
            try:
                status = await conn.post(body)
            except (ConnectionError, OSError):
                errors += counted
                continue
            if status >= 300:
                errors += counted
            elif counted:
                latencies.append(time.perf_counter() - scheduled)

    workers = [asyncio.create_task(lane()) for _ in range(lanes)]
    start = time.perf_counter()
    for i in range(n):
        at = start + i * interval
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        j = i - skip
        if probes and j > 0 and j % probe_every == 0 and j // probe_every - 1 < len(probes):
            body, name = probes[j // probe_every - 1]
            work.put_nowait((at, body, name, j >= 0))
        else:
            work.put_nowait((at, bodies[i % len(bodies)][0], None, j >= 0))
    for _ in workers:
        work.put_nowait(None)
    await asyncio.gather(*workers)
    return {"rate_alerts_per_s": rate_rps * 10, "rate_requests_per_s": rate_rps, "requests": len(latencies), "errors": errors,
            "warmup_s": warmup, "p50_ms": pct(latencies, 50) * 1000, "p95_ms": pct(latencies, 95) * 1000,
            "p99_ms": pct(latencies, 99) * 1000, "max_ms": max(latencies) * 1000 if latencies else float("nan")}


# ---------------------------------------------------------------- setup


class Inbox:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.arrived: dict[str, float] = {}
        self.count = 0
        self.port = free_port()
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.count += 1
                subject = ""
                for line in envelope.content.decode(errors="replace").splitlines():
                    if line.startswith("Subject:"):
                        subject = line[8:].strip()
                        break
                box.arrived.setdefault(subject, time.time())
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def prepare(url: str, smtp_port: int) -> str:
    from watchkeeper.alerting import service as alerting
    from watchkeeper.alerting.schemas import AlertingConfig
    from watchkeeper.app import build, prepare_database
    from watchkeeper.auth import service as auth
    from watchkeeper.auth.schemas import Grant, TokenCreate, UserCreate
    from watchkeeper.auth.service import Actor
    from watchkeeper.config import Settings

    system = Actor.system("bench", "system")
    container = build(Settings(database_url=url, data_dir=Path(tempfile.mkdtemp()), secret_key=secrets.token_urlsafe(24)))
    prepare_database(container)
    with container.session() as s:
        auth.create_user(s, data=UserCreate(username="bench", password="bench-password-123", grants=[Grant.parse("responder")]), actor=system)
        token = auth.create_token(s, username="bench", data=TokenCreate(name="bench", scopes=["ingest"]), actor=system).token
        alerting.apply_config(s, config=AlertingConfig.model_validate({
            "receivers": [{"name": "ops", "channels": [{"type": "email", "to": ["ops@example.com"], "smtp_host": "127.0.0.1",
                                                         "smtp_port": smtp_port}]}],
            "route": {"receiver": "ops", "group_by": ["alertname"], "group_wait": f"{GROUP_WAIT:g}s", "group_interval": "30s",
                      "repeat_interval": "4h"}}), actor=system)
        s.commit()
    container.dispose()
    return token


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20, help="length of each phase")
    ap.add_argument("--batch", type=int, default=100, help="alerts per request in the throughput phase")
    ap.add_argument("--concurrency", type=int, default=8, help="connections in the throughput phase")
    ap.add_argument("--pg", default=os.environ.get("WATCHKEEPER_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                    help="PostgreSQL server (a database is created on it for the run)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--skip-alertmanager", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs) and print where it is")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load at the steady rate before latency is measured")
    ap.add_argument("--rate", type=float, default=100, help="requests/s of 10 alerts in the steady phase (100 = 1,000 alerts/s)")
    args = ap.parse_args()

    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    db = f"wk_bench_{secrets.token_hex(4)}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{db}"'))
    url = args.pg.rsplit("/", 1)[0] + f"/{db}"
    inbox = Inbox()
    procs: list[subprocess.Popen] = []
    workdir = Path(tempfile.mkdtemp(prefix="wk-bench-"))
    results: dict = {"machine": f"{platform.node()} · {os.cpu_count()} cores · {platform.python_version()}",
                     "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "seconds_per_phase": args.seconds,
                     "batch": args.batch, "concurrency": args.concurrency}
    try:
        token = prepare(url, inbox.port)
        wk_port, am_port = free_port(), free_port()
        env = {**os.environ, "WATCHKEEPER_DATABASE_URL": url, "WATCHKEEPER_PORT": str(wk_port), "WATCHKEEPER_LOG_LEVEL": "WARNING",
               "WATCHKEEPER_WORKER_POLL_SECONDS": "0.1", "WATCHKEEPER_DATA_DIR": str(workdir / "data"),
               "WATCHKEEPER_SECRET_KEY": secrets.token_urlsafe(24)}
        exe = str(Path(sys.executable).parent / "watchkeeper")
        procs.append(subprocess.Popen([exe, "serve"], env=env, stdout=open(workdir / "serve.log", "wb"), stderr=subprocess.STDOUT))
        wait_http(f"http://127.0.0.1:{wk_port}/healthz")
        wk = Target("watchkeeper", f"http://127.0.0.1:{wk_port}/api/v1/integrations/alertmanager", am_webhook,
                    {"Authorization": f"Bearer {token}"})

        stream = Alerts()
        big = [(am_webhook(b), len(b)) for b in (stream.batch(args.batch) for _ in range(int(args.seconds * 150)))]
        small = [(am_webhook(b), len(b)) for b in (stream.batch(10) for _ in range(int((args.seconds + args.warmup) * args.rate) + 10))]
        probes = [(am_webhook([{"labels": {"alertname": f"Handoff{i}", "service": "probe"}, "annotations": {},
                                "startsAt": stream.start}]), f"Handoff{i}") for i in range(40)]
        print(f"watchkeeper: steady phase, {args.rate * 10:,.0f} alerts/s ({args.seconds:g}s) with handoff probes...", file=sys.stderr)
        sent_at: dict[str, float] = {}
        cpu0 = _cpu_seconds(procs[0].pid)
        results["watchkeeper_steady"] = asyncio.run(steady(wk, small, seconds=args.seconds, rate_rps=args.rate, warmup=args.warmup,
                                                           probes=probes, sent_at=sent_at))
        results["watchkeeper_steady"]["server_cpu_ms_per_request"] = (_cpu_seconds(procs[0].pid) - cpu0) * 1000 / max(1, results["watchkeeper_steady"]["requests"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(f"[FIRING:1] {name}" in " ".join(inbox.arrived) for name in sent_at):
            time.sleep(0.2)
        handoffs = []
        for name, t0 in sent_at.items():
            arrived = next((t for subj, t in inbox.arrived.items() if subj.startswith(f"[FIRING:1] {name} ")), None)
            if arrived is not None:
                handoffs.append(arrived - t0 - GROUP_WAIT)
        results["handoff"] = {"probes": len(sent_at), "delivered": len(handoffs), "group_wait_s": GROUP_WAIT,
                              "p50_ms": pct(handoffs, 50) * 1000, "p99_ms": pct(handoffs, 99) * 1000,
                              "max_ms": max(handoffs) * 1000 if handoffs else float("nan")}
        time.sleep(2)
        print(f"watchkeeper: throughput phase ({args.seconds:g}s)...", file=sys.stderr)
        results["watchkeeper_throughput"] = asyncio.run(throughput(wk, big, seconds=args.seconds, concurrency=args.concurrency))
        with create_engine(url).connect() as c:
            results["stored_alerts"] = c.execute(text("SELECT count(*) FROM alerting_alert")).scalar()
        procs[0].terminate()
        procs[0].wait(timeout=60)

        if not args.skip_alertmanager:
            am_bin = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
            (workdir / "am.yml").write_text(yaml.safe_dump({"route": {"receiver": "null", "group_by": ["alertname"], "group_wait": "1s"},
                                                            "receivers": [{"name": "null"}]}))
            procs.append(subprocess.Popen([am_bin, f"--config.file={workdir / 'am.yml'}", f"--storage.path={workdir / 'am'}",
                                           f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                                          stdout=open(workdir / "am.log", "wb"), stderr=subprocess.STDOUT))
            wait_http(f"http://127.0.0.1:{am_port}/-/ready")
            am = Target("alertmanager", f"http://127.0.0.1:{am_port}/api/v2/alerts", am_v2, {})
            stream = Alerts(seed=7)
            big = [(am_v2(b), len(b)) for b in (stream.batch(args.batch) for _ in range(int(args.seconds * 150)))]
            small = [(am_v2(b), len(b)) for b in (stream.batch(10) for _ in range(int((args.seconds + args.warmup) * args.rate) + 10))]
            print(f"alertmanager: steady phase ({args.seconds:g}s)...", file=sys.stderr)
            results["alertmanager_steady"] = asyncio.run(steady(am, small, seconds=args.seconds, rate_rps=args.rate, warmup=args.warmup))
            time.sleep(2)
            print(f"alertmanager: throughput phase ({args.seconds:g}s)...", file=sys.stderr)
            results["alertmanager_throughput"] = asyncio.run(throughput(am, big, seconds=args.seconds, concurrency=args.concurrency))
            results["ratio_throughput"] = results["watchkeeper_throughput"]["alerts_per_s"] / results["alertmanager_throughput"]["alerts_per_s"]
            results["ratio_p99"] = results["watchkeeper_steady"]["p99_ms"] / results["alertmanager_steady"]["p99_ms"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        inbox.stop()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        if args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return
    t, s, h = results["watchkeeper_throughput"], results["watchkeeper_steady"], results["handoff"]
    print(f"machine: {results['machine']}  date: {results['date']}")
    print(f"watchkeeper throughput: {t['alerts_per_s']:,.0f} alerts/s durably stored ({t['accepted']:,} alerts, {t['errors']} errors, "
          f"batch {args.batch}, {args.concurrency} connections)")
    print(f"watchkeeper latency at {args.rate * 10:,.0f} alerts/s: p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms "
          f"(max {s['max_ms']:.0f} ms, {s['errors']} errors; server CPU {s['server_cpu_ms_per_request']:.1f} ms/request)")
    print(f"alert-to-SMTP handoff beyond group_wait ({GROUP_WAIT:g}s): p50 {h['p50_ms']:.0f} ms, p99 {h['p99_ms']:.0f} ms "
          f"({h['delivered']}/{h['probes']} delivered)")
    if "alertmanager_throughput" in results:
        at, ast = results["alertmanager_throughput"], results["alertmanager_steady"]
        print(f"alertmanager throughput: {at['alerts_per_s']:,.0f} alerts/s (in memory); latency at 1,000 alerts/s: "
              f"p50 {ast['p50_ms']:.1f} ms, p95 {ast['p95_ms']:.1f} ms, p99 {ast['p99_ms']:.1f} ms")
        print(f"ratio watchkeeper/alertmanager: throughput {results['ratio_throughput']:.2f}×, p99 latency {results['ratio_p99']:.2f}×")


if __name__ == "__main__":
    main()
