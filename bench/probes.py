"""Probe benchmark: N HTTP monitors at a fixed interval from one process, against a local target.

Reports the share of checks that started more than 2 s after their slot (target < 1 %), the
peak resident memory of the probing process while it runs (target < 500 MB), and CPU time
per check. The target server runs in a separate process so its CPU is not counted.

    .venv/bin/python bench/probes.py                       # 10,000 monitors, 60 s, 3 minutes, SQLite
    .venv/bin/python bench/probes.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    .venv/bin/python bench/probes.py --monitors 1000 --duration 30   # a quick look

Results go to docs/benchmarks.md (by hand: copy the printed block).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"status\":\"ok\"}"


def serve(port: int) -> None:
    """The target: a minimal asyncio HTTP server answering 200 to everything."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(RESPONSE)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(container, *, monitors: int, interval: int, url: str, start_in: float) -> float:
    """Create the monitors through the service layer, then line their first slots up after start."""
    from sqlalchemy import select, update

    from watchkeeper import clock
    from watchkeeper.auth.service import Actor
    from watchkeeper.db import migrate
    from watchkeeper.monitoring.models import Location, Monitor
    from watchkeeper.monitoring.probes import _schedule
    from watchkeeper.monitoring.probes import service as monitoring
    from watchkeeper.monitoring.probes.schemas import MonitorCreate

    migrate.upgrade(container.engine)
    actor = Actor.system("bench", "system")
    t0 = time.perf_counter()
    with container.session() as s:
        for i in range(monitors):
            monitoring.create_monitor(s, data=MonitorCreate(
                name=f"bench-{i:05d}", interval=f"{interval}s", timeout="10s", http={"url": f"{url}/m/{i}"}), actor=actor)
            if i % 1000 == 999:
                s.flush()
        s.commit()
    created = time.perf_counter() - t0
    start_ms = clock.to_ms(_now()) + int(start_in * 1000)
    with container.session() as s:
        rows = s.execute(select(Location.id, Monitor.name).join(Monitor, Monitor.id == Location.monitor_id)).all()
        iv = interval * 1000
        s.execute(update(Location), [
            {"id": lid, "due_ms": _schedule.first_slot_at_or_after(start_ms, interval_ms=iv, phase=_schedule.phase_ms(name, iv))}
            for lid, name in rows
        ])
        s.commit()
    return created


def _now():
    from watchkeeper import clock

    return clock.utcnow()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between checks of one monitor")
    parser.add_argument("--duration", type=int, default=180, help="seconds to run the probes")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return

    from watchkeeper.app import build
    from watchkeeper.config import Settings
    from watchkeeper.monitoring.probes.runner import ProbeRunner

    port = free_port()
    target = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE)
    assert target.stdout.readline().strip() == b"ready"
    tmp = tempfile.mkdtemp(prefix="wk-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    settings = Settings(database_url=url, data_dir=Path(tmp) / "data", probe_concurrency=args.concurrency,
                        worker_id="bench")
    container = build(settings)
    try:
        created = setup(container, monitors=args.monitors, interval=args.interval, url=f"http://127.0.0.1:{port}", start_in=5)
        print(f"created {args.monitors} monitors in {created:.1f} s", file=sys.stderr)
        lateness: list[float] = []
        runner = ProbeRunner(engine=container.engine, session_factory=container.session_factory, settings=settings,
                             worker_id="bench", on_start=lateness.append)
        stop = threading.Event()
        peak = [rss_mb()]

        def sample_rss() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb())
                time.sleep(0.5)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        thread = threading.Thread(target=runner.run, args=(stop,))
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall0 = time.monotonic()
        sampler.start()
        thread.start()
        time.sleep(args.duration)
        stop.set()
        thread.join()
        wall = time.monotonic() - wall0
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        st = runner.stats
        with container.session() as s:
            from sqlalchemy import func, select

            from watchkeeper.monitoring.models import Check

            stored = s.execute(select(func.count()).select_from(Check)).scalar()
            failed = s.execute(select(func.count()).select_from(Check).where(Check.ok.is_(False))).scalar()
        lat = sorted(lateness)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 100 else [0.0] * 99
        result = {
            "machine": f"{platform.node()} · {os.cpu_count()} cores · {platform.python_version()}",
            "database": container.engine.dialect.name,
            "monitors": args.monitors, "interval_s": args.interval, "duration_s": args.duration,
            "checks_started": st.started, "checks_per_s": round(st.started / wall, 1),
            "late_over_2s": st.late, "late_share_percent": round(100 * st.late / max(st.started, 1), 4),
            "lateness_ms_p50": round(q[49], 1), "lateness_ms_p99": round(q[98], 1), "lateness_ms_max": round(st.max_lateness_ms, 1),
            "stored_results": stored, "failed_checks": failed, "flush_errors": st.flush_errors, "duplicates": st.duplicates,
            "cpu_seconds": round(cpu, 1), "cpu_ms_per_check": round(1000 * cpu / max(st.started, 1), 3),
            "cpu_share_of_one_core_percent": round(100 * cpu / wall, 1),
            "peak_rss_mb_while_probing": round(peak[0], 1),
            "ru_maxrss_mb_including_setup": round(after.ru_maxrss / 1024, 1),
        }
        print(json.dumps(result, indent=2))
    finally:
        target.terminate()
        target.wait()
        container.dispose()


if __name__ == "__main__":
    main()
