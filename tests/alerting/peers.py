"""Helpers to run real peers in tests: Watchkeeper under uvicorn in a thread (with its worker),
Prometheus and Alertmanager from Debian's packages as subprocesses. Every wait is bounded."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from tests.alerting.conftest import free_port


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise AssertionError(f"{name} is not installed; run `sudo apt-get install {name}` (scripts/system-deps.sh does)")
    return path


@contextlib.contextmanager
def watchkeeper_server(container) -> Iterator[str]:
    """Serve the app on a free port in a thread and run a worker beside it."""
    import uvicorn

    from watchkeeper.api.app import create_app
    from watchkeeper import app as composition

    port = int(container.settings.public_url.rsplit(":", 1)[1])
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    stop = threading.Event()
    worker = composition.worker(container)
    worker_thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    worker_thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200, timeout=20, what="watchkeeper to listen")
        yield base
    finally:
        server.should_exit = True
        stop.set()
        thread.join(timeout=10)
        worker_thread.join(timeout=10)


@contextlib.contextmanager
def process(args: list[str], *, log: Path, ready_url: str, timeout: float = 30) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: proc.poll() is None and httpx.get(ready_url, timeout=1).status_code == 200, timeout=timeout,
                 what=f"{Path(args[0]).name} (log: {log})")
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)
