"""Real local targets for probe tests: an HTTP server with scripted routes, a TCP listener, a
DNS server built on dnspython, an HTTPS server with a self-signed certificate made by
`cryptography` (near expiry on request), and a Prometheus-format exposition endpoint."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpTarget:
    """Routes: /ok (JSON status ok), /status/<code>, /slow/<seconds>, /redirect (→ /ok),
    /text (plain "hello world"), /by-location (500 for location header 'b'), /metrics
    (Prometheus text). `hits` counts requests per path; `locations` records the header."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.locations: list[str] = []
        self.metrics_text = '# TYPE orders_total counter\norders_total{region="eu"} 42\norders_total{region="us"} 7\n'
        self.failing_locations: set[str] = {"b"}
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json", extra=()):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self):  # noqa: N802
                self.do_GET()

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                self._send(200, json.dumps({"echo": body.decode()}).encode())

            def do_GET(self):  # noqa: N802
                path = self.path.split("?")[0]
                target.hits[path] = target.hits.get(path, 0) + 1
                loc = self.headers.get("X-Watchkeeper-Location")
                if loc:
                    target.locations.append(loc)
                if path == "/ok":
                    self._send(200, json.dumps({"status": "ok", "checks": {"db": True}, "queue": 3}).encode())
                elif path.startswith("/status/"):
                    code = int(path.rsplit("/", 1)[1])
                    self._send(code, json.dumps({"status": "degraded"}).encode())
                elif path.startswith("/slow/"):
                    time.sleep(float(path.rsplit("/", 1)[1]))
                    self._send(200, b'{"status": "ok"}')
                elif path == "/redirect":
                    self._send(302, b"", extra=[("Location", "/ok")])
                elif path == "/text":
                    self._send(200, b"hello world", "text/plain")
                elif path == "/by-location":
                    code = 500 if loc in target.failing_locations else 200
                    self._send(code, json.dumps({"location": loc}).encode())
                elif path == "/metrics":
                    self._send(200, target.metrics_text.encode(), "text/plain; version=0.0.4")
                elif path == "/garbage-metrics":
                    self._send(200, b"this is {{ not exposition", "text/plain")
                else:
                    self._send(404, b'{"error": "no such path"}')

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default backlog of 5 drops connection bursts

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # clients that hang up early
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HttpTarget":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __exit__(self, *exc) -> None:
        if self.thread.is_alive():
            self.stop()


@contextlib.contextmanager
def tcp_listener(banner: bytes = b"220 ready\r\n") -> Iterator[int]:
    """A TCP server that greets with `banner` and echoes one line. Yields the port."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(banner)
            try:
                self.request.settimeout(2)
                data = self.request.recv(1024)
                if data:
                    self.request.sendall(b"echo " + data)
            except OSError:
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def dns_server(zone: dict[tuple[str, str], list[str]]) -> Iterator[int]:
    """A UDP+TCP DNS server on 127.0.0.1 answering from `zone` {(name, type): [rdata text]}.
    Unknown names get NXDOMAIN; known names without that type get an empty answer."""
    names = {n.rstrip(".").lower() for n, _ in zone}

    def answer(wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        q = query.question[0]
        name = q.name.to_text().rstrip(".").lower()
        rtype = dns.rdatatype.to_text(q.rdtype)
        if name not in names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            values = zone.get((name, rtype)) or []
            if values:
                response.answer.append(dns.rrset.from_text_list(q.name, 60, "IN", rtype, values))
        return response.to_wire()

    # UDP and TCP on the same port: the UDP port the kernel picks may be taken for TCP by
    # another test process, so try again with a new one.
    for _ in range(50):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            tcp.close()
            continue
        break
    else:
        raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")
    tcp.listen(8)
    stop = threading.Event()

    def serve_udp():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                wire, addr = sock.recvfrom(4096)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            sock.sendto(answer(wire), addr)

    def serve_tcp():
        tcp.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = tcp.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                length = int.from_bytes(conn.recv(2), "big")
                wire = b""
                while len(wire) < length:
                    chunk = conn.recv(length - len(wire))
                    if not chunk:
                        break
                    wire += chunk
                out = answer(wire)
                conn.sendall(len(out).to_bytes(2, "big") + out)

    threads = [threading.Thread(target=serve_udp, daemon=True), threading.Thread(target=serve_tcp, daemon=True)]
    for t in threads:
        t.start()
    try:
        yield port
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=2)
        sock.close()
        tcp.close()


def self_signed(directory: Path, *, days: float, cn: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that expires in `days` (may be negative)."""
    now = dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    not_after = now + dt.timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(min(now - dt.timedelta(days=30), not_after - dt.timedelta(days=1)))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"cert-{days}.pem", directory / f"key-{days}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.contextmanager
def tls_server(directory: Path, *, days: float) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate expiring in `days`. Yields the port."""
    cert, key = self_signed(directory, days=days)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)

    # Handshake errors (clients that reject the certificate) must not kill the server thread.
    def handle_error(request, client_address):
        pass

    server.handle_error = handle_error
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
