"""Issue 9, item 11: X-Forwarded-For is believed only from configured proxies. A real uvicorn
server with `serve`'s options; the client address it sees is what login throttling records."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import select

from tests.web.conftest import free_port
from watchkeeper.cli.server import proxy_options


def _recorded_client(fresh_url, tmp_path, trusted: str) -> str:
    import uvicorn

    from watchkeeper.api.app import create_app
    from watchkeeper.app import build, prepare_database
    from watchkeeper.auth.models import LoginAttempt
    from watchkeeper.config import Settings

    port = free_port()
    settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", port=port, worker_enabled=False,
                        secret_key="proxy-test-secret-0123456789", trusted_proxies=trusted)
    container = build(settings)
    prepare_database(container)
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning",
                                           **proxy_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        r = httpx.post(f"http://127.0.0.1:{port}/login", data={"username": "nobody", "password": "wrong-password!!"},
                       headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
        assert r.status_code == 401
        with container.session() as s:
            return s.execute(select(LoginAttempt.client)).scalar_one()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.dispose()


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(fresh_url, tmp_path):
    assert _recorded_client(fresh_url, tmp_path, "") == "127.0.0.1"


@pytest.mark.parametrize("trusted", ["127.0.0.1", "10.0.0.1, 127.0.0.0/8"])
def test_a_configured_proxy_is_believed(fresh_url, tmp_path, trusted):
    assert _recorded_client(fresh_url, tmp_path, trusted) == "203.0.113.9"


def test_proxy_options_are_off_by_default():
    from watchkeeper.config import Settings

    assert proxy_options(Settings(secret_key="x" * 32)) == {"proxy_headers": False, "forwarded_allow_ips": None}
