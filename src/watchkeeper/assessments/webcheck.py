"""Visit a service's public URL and collect the facts the built-in security checks judge:
the TLS handshake (version, certificate, whether it is trusted) and the response headers.

Two TLS handshakes on purpose: one that accepts any certificate, so an untrusted or expired
certificate can still be read and reported, and one with normal verification (system CAs plus
an optional extra CA file) to learn whether clients would trust it.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import httpcore
import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from watchkeeper.assessments._suites import WebFacts
from watchkeeper.egress import DEFAULT as DEFAULT_EGRESS
from watchkeeper.egress import Egress

USER_AGENT = "Watchkeeper-audit/1"


def _tls_facts(facts: WebFacts, host: str, port: int, *, ca_file: Path | None, timeout: float, policy: Egress) -> None:
    loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    try:
        address = policy.resolve_sync(host, port)[0]  # connect to the address the policy checked
    except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
        facts.connect_error = str(exc)
        return
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, \
                loose.wrap_socket(raw, server_hostname=host) as tls:
            facts.tls_version = tls.version()
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        facts.connect_error = f"{type(exc).__name__}: {exc}"
        return
    if der:
        cert = x509.load_der_x509_certificate(der)
        facts.cert_not_after = cert.not_valid_after_utc
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        facts.cert_subject = str(names[0].value) if names else cert.subject.rfc4514_string()
    strict = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if ca_file:
        strict.load_default_certs()
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, \
                strict.wrap_socket(raw, server_hostname=host):
            facts.cert_trusted = True
    except ssl.SSLCertVerificationError as exc:
        facts.cert_trusted = False
        facts.trust_error = exc.verify_message or str(exc)
    except (OSError, ssl.SSLError) as exc:
        facts.cert_trusted = False
        facts.trust_error = f"{type(exc).__name__}: {exc}"


def gather(url: str, *, ca_file: Path | None = None, timeout: float = 10.0, policy: Egress = DEFAULT_EGRESS) -> WebFacts:
    """Connect to `url` and return what was seen. Never raises for network trouble: failures
    are recorded in `connect_error` / `http_error` so the checks can name them. Every
    connection obeys the egress `policy`."""
    parts = urlsplit(url)
    facts = WebFacts(url=url, scheme=parts.scheme.lower())
    host = parts.hostname or ""
    port = parts.port or (443 if facts.scheme == "https" else 80)
    if facts.scheme == "https":
        _tls_facts(facts, host, port, ca_file=ca_file, timeout=timeout, policy=policy)
        if facts.connect_error:
            return facts
    try:
        # Headers are judged whatever the certificate: trust is the tls_valid check's job.
        with policy.client(verify=False, timeout=timeout, follow_redirects=True, max_redirects=5,
                           headers={"User-Agent": USER_AGENT}) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        facts.http_error = f"{type(exc).__name__}: {exc}"
        return facts
    facts.status_code = response.status_code
    facts.headers = [(k.lower(), v) for k, v in response.headers.multi_items()]
    for hop in [*response.history, response]:
        facts.set_cookies.extend(hop.headers.get_list("set-cookie"))
    return facts
