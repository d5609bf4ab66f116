"""Heartbeat ping benchmark: durable pings per second through `watchkeeper serve` on PostgreSQL.

A ping counts only when its HTTP 200 came back, and the server answers only after the ping
row and the monitor's new deadline are committed — so every counted ping is durable. At the
end the benchmark checks that the database holds at least as many ping rows as 200s counted
in the window, and reports how many commits the servers' ping writers made (pings_per_commit
is the group-commit batch size).

    .venv/bin/python bench/pings.py                     # 1 serve process, 20 s, 64 connections
    .venv/bin/python bench/pings.py --servers 2         # scale out: two serve processes, one database
    .venv/bin/python bench/pings.py --connections 1     # latency of a lone ping

Needs PostgreSQL (default: postgres@127.0.0.1:5432, trust auth); a scratch database is created
and dropped. `--sqlite` measures the embedded store instead (a scratch file). The load
generator is a small keep-alive HTTP/1.1 client on asyncio, so the client costs little CPU
next to the server on the same machine. serve_cpu_us_per_ping (CPU time of the serve processes
per counted ping) depends less on other load on the machine than pings per second do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(host: str, port: int, paths: list[str], stop_at: float, latencies: list[float], counts: dict) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.monotonic() < stop_at:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            key = "ok" if status.split(b" ")[1:2] == [b"200"] else "errors"
            counts[key] += 1
    finally:
        writer.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def writer_totals(ports: list[int]) -> tuple[float, float]:
    """(batches, pings) the serve processes' ping writers have committed, from their /metrics."""
    import httpx

    batches = pings = 0.0
    for port in ports:
        for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
            if line.startswith("watchkeeper_ping_batches_total "):
                batches += float(line.split()[1])
            elif line.startswith("watchkeeper_ping_batch_pings_total "):
                pings += float(line.split()[1])
    return batches, pings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="PostgreSQL server (a scratch database is created next to this one)")
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file instead of PostgreSQL (the embedded store)")
    parser.add_argument("--servers", type=int, default=1, help="serve processes sharing the database")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--monitors", type=int, default=100)
    parser.add_argument("--duration", type=int, default=20)
    args = parser.parse_args()

    from sqlalchemy import func, select, text
    from sqlalchemy.engine import make_url

    from watchkeeper.app import build
    from watchkeeper.auth.service import Actor
    from watchkeeper.config import Settings
    from watchkeeper.db import migrate
    from watchkeeper.db.engine import make_engine
    from watchkeeper.monitoring.models import Ping
    from watchkeeper.monitoring.probes import service as monitoring
    from watchkeeper.monitoring.probes.schemas import MonitorCreate

    name = f"wk_bench_pings_{secrets.token_hex(4)}"
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / name
    admin = None
    if args.sqlite:
        tmp.mkdir(parents=True)
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = make_engine(args.pg).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    procs: list[subprocess.Popen] = []
    try:
        container = build(Settings(database_url=url, data_dir=tmp))
        migrate.upgrade(container.engine)
        actor = Actor.system("bench", "system")
        with container.session() as s:
            paths = [monitoring.create_monitor(s, data=MonitorCreate(name=f"hb-{i:04d}", heartbeat={"period": "1h"}),
                                               actor=actor).ping_path for i in range(args.monitors)]
            s.commit()
        ports = [free_port() for _ in range(args.servers)]
        env = {**os.environ, "WATCHKEEPER_DATABASE_URL": url, "WATCHKEEPER_DATA_DIR": str(tmp),
               "WATCHKEEPER_LOG_LEVEL": "WARNING"}
        for port in ports:
            procs.append(subprocess.Popen([sys.executable, "-m", "watchkeeper", "serve", "--no-worker", "--port", str(port)],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        import httpx

        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise SystemExit("serve did not start") from None
                    time.sleep(0.2)

        async def warm_up() -> None:
            # every connection pings once or more before the window opens
            stop_at = time.monotonic() + 2
            await asyncio.gather(*(client("127.0.0.1", ports[i % len(ports)], paths, stop_at, [], {"ok": 0, "errors": 0})
                                   for i in range(args.connections)))

        async def run() -> tuple[dict, list[float], float]:
            counts = {"ok": 0, "errors": 0}
            latencies: list[float] = []
            t0 = time.monotonic()
            stop_at = t0 + args.duration
            await asyncio.gather(*(client("127.0.0.1", ports[i % len(ports)], paths[i::args.connections] or paths,
                                          stop_at, latencies, counts) for i in range(args.connections)))
            return counts, latencies, time.monotonic() - t0

        asyncio.run(warm_up())
        # Counted after the warm-up, whose requests have all been answered: every row stored
        # from here on belongs to the measured window.
        with container.session() as s:
            before = s.execute(select(func.count()).select_from(Ping)).scalar()
        batches_before, pinged_before = writer_totals(ports)
        cpu_before = cpu_seconds([p.pid for p in procs])
        counts, latencies, wall = asyncio.run(run())
        cpu = cpu_seconds([p.pid for p in procs]) - cpu_before
        batches, pinged = (after - before_ for after, before_ in zip(writer_totals(ports), (batches_before, pinged_before)))
        with container.session() as s:
            stored = s.execute(select(func.count()).select_from(Ping)).scalar() - before
        lat = sorted(latencies)
        q = statistics.quantiles(lat, n=100)
        result = {
            "machine": f"{platform.node()} · {os.cpu_count()} cores · {platform.python_version()}",
            "database": "sqlite" if args.sqlite else "postgresql", "serve_processes": args.servers, "connections": args.connections,
            "duration_s": round(wall, 1), "pings_ok": counts["ok"], "errors": counts["errors"],
            "durable_pings_per_s": round(counts["ok"] / wall, 1),
            "rows_stored_in_window": stored, "every_ok_ping_is_stored": stored >= counts["ok"],
            "serve_cpu_us_per_ping": round(cpu / counts["ok"] * 1e6) if counts["ok"] else None,
            "serve_cpu_share": round(cpu / wall, 2),
            "commits": int(batches), "pings_per_commit": round(pinged / batches, 1) if batches else None,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "latency_ms_p50": round(q[49] * 1000, 2), "latency_ms_p99": round(q[98] * 1000, 2),
        }
        print(json.dumps(result, indent=2))
        container.dispose()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
