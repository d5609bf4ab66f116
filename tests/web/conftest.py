"""A real server on a loopback port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(fresh_url, tmp_path):
    """`watchkeeper serve` in-process on a free port, with the example config applied and a known admin."""
    import uvicorn

    from watchkeeper.api.app import create_app
    from watchkeeper.app import build, prepare_database
    from watchkeeper.auth import service as auth
    from watchkeeper.auth.schemas import Grant, UserCreate
    from watchkeeper.auth.service import Actor
    from watchkeeper.config import Settings
    from watchkeeper.configfile import loader, plan

    port = free_port()
    settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", port=port, worker_enabled=False,
                        secret_key="browser-test-secret-0123456789")
    container = build(settings)
    prepare_database(container)
    example = Path(__file__).resolve().parents[2] / "examples" / "watchkeeper.yaml"
    with container.session() as s:
        auth.create_user(s, data=UserCreate(username="erin", password="erin-password-123", grants=[Grant.parse("admin")]),
                         actor=Actor.system("test", "system"))
        plan.apply(s, loader.load_file(example), actor=Actor.system("test", "apply"))
        s.commit()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    container.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; run `make test` as root or `apt-get install chromium`", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
