"""A real worker process for multi-process tests: the production Worker plus one test job kind.

Usage: python -m tests.worker._proc DATABASE_URL LOG_FILE WORKER_ID [LEASE_SECONDS]
The `test.record` job appends "<job id> <worker id>" to LOG_FILE (O_APPEND, so lines from
several processes never interleave) after sleeping `sleep` seconds.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from watchkeeper.config import Settings
from watchkeeper.db.engine import make_engine, make_session_factory
from watchkeeper import domains
from watchkeeper.domain import JobSpec
from watchkeeper.worker.runner import Worker


def main() -> None:
    url, log_file, worker_id = sys.argv[1:4]
    lease = int(sys.argv[4]) if len(sys.argv) > 4 else 5

    def record(session, payload, ctx):
        time.sleep(float(payload.get("sleep", 0)))
        fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{ctx.job_id} {worker_id}\n".encode())
        finally:
            os.close(fd)
        return {"by": worker_id}

    jobs = domains.jobs()
    jobs["test.record"] = JobSpec("test.record", record, max_attempts=5)
    settings = Settings(database_url=url, worker_id=worker_id, worker_poll_seconds=0.05, worker_lease_seconds=lease,
                        worker_heartbeat_seconds=0.5, worker_dead_after_seconds=2,
                        leader_lease_seconds=3, worker_concurrency=2, data_dir=os.path.dirname(log_file))
    engine = make_engine(url)
    worker = Worker(engine=engine, session_factory=make_session_factory(engine), settings=settings, jobs=jobs, periodic=[])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    worker.run(stop)


if __name__ == "__main__":
    main()
