"""Debian's Prometheus as a real peer: scrapes a local target every second."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.monitoring.servers import free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@contextlib.contextmanager
def prometheus(directory: Path, target: str) -> Iterator[str]:
    """Start Prometheus scraping `target` (host:port) as job "shop"; yields its base URL once the
    first scrape landed. Stopped with SIGTERM at the end."""
    if not Path(PROMETHEUS).exists():
        pytest.fail("Debian's prometheus is not installed; run `make test` as root or `apt-get install prometheus`",
                    pytrace=False)
    port = free_port()
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['{target}']\n"
    )
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {proc.stderr.read().decode()[-500:]}")
            try:
                r = httpx.get(f"{url}/api/v1/query", params={"query": "up{job='shop'}"}, timeout=1)
                if r.status_code == 200 and r.json()["data"]["result"]:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("prometheus did not scrape its target within 30 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
