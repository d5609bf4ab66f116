"""Small real peers for the deploy tests: a local HTTP "service" whose answer depends on the
version written in a file (what a deploy hook changes)."""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VersionedService:
    """HTTP on 127.0.0.1: answers 200 with the version in `version_file`, or 500 when that
    version is listed in `bad` (or no version is installed)."""

    def __init__(self, version_file: Path, bad: set[str] | None = None):
        self.version_file, self.bad = version_file, bad or set()
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                version = outer.version()
                code = 500 if version is None or version in outer.bad else 200
                body = f"version {version}\n".encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def version(self) -> str | None:
        try:
            return self.version_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    def __enter__(self) -> "VersionedService":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
