"""Small real peers for the deploy tests: a local HTTP "service" whose answer depends on the
version written in a file (what a deploy hook changes)."""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path
from typing import Self


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
            def do_GET(self):
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

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class FixedService:
    """HTTP on 127.0.0.1 answering every request with `status` and the body 'version V'."""

    def __init__(self, version: str, status: int = 200):
        self.version, self.status = version, status
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = f"version {outer.version}\n".encode()
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    include {dir}/upstream.conf;
    server {{
        listen 127.0.0.1:{port};
        location / {{ proxy_pass http://app; proxy_next_upstream off; }}
    }}
}}
"""

# The traffic hook: rewrite the upstream weights (percent of requests to the new version),
# reload nginx and wait until the old worker has gone, so the new weights are in force when
# the hook exits. Debian's nginx, driven as an operator would.
SPLIT_HOOK = r'''
import os, pathlib, subprocess, sys, time
d, old, new, weight = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
def server(port, w):
    return f"server 127.0.0.1:{port} down;" if w == 0 else f"server 127.0.0.1:{port} weight={w};"
(d / "upstream.conf").write_text("upstream app { " + server(old, 100 - weight) + " " + server(new, weight) + " }\n")
with open(d / "hook.log", "a") as log:
    log.write(f"{weight}\n")
master = int((d / "nginx.pid").read_text())
def workers():
    out = set()
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out
before = workers()
subprocess.run([sys.argv[5], "-p", str(d), "-c", str(d / "nginx.conf"), "-s", "reload"], check=True)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    now = workers()
    if now and not (now & before):
        break
    time.sleep(0.02)
else:
    sys.exit("nginx did not replace its worker after the reload")
'''
