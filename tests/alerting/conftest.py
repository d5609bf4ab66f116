"""Real local peers for the alert pipeline: an aiosmtpd SMTP server and an HTTP receiver that
records every request, each on a free loopback port; and a worker bound to the test database."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Messages received by the SMTP server; `stop()`/`start()` simulate an outage."""

    def __init__(self, port: int):
        self.port = port
        self.messages = []
        self._controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def bodies(self) -> list[str]:
        return [m.get_body(preferencelist=("plain",)).get_content() for m in self.messages]


@pytest.fixture
def smtp_server():
    box = Mailbox(free_port())
    box.start()
    yield box
    box.stop()


class Recorder:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        port = free_port()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "json": json.loads(body or b"null")})
                self.send_response(recorder.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_server():
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def worker(container):
    from watchkeeper.worker.runner import Worker

    return Worker(engine=container.engine, session_factory=container.session_factory, settings=container.settings)
