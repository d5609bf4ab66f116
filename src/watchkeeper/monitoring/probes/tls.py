"""TLS certificate probe: days until expiry against warn and fail thresholds."""

from __future__ import annotations

import asyncio
import ssl
import time

from cryptography import x509

from watchkeeper import clock
from watchkeeper.monitoring.probes.base import ProbeContext, ProbeResult, describe_exc, fail
from watchkeeper.monitoring.schemas import TlsSpec


def _context(verify: bool) -> ssl.SSLContext:
    if verify:
        return ssl.create_default_context()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def probe(spec: TlsSpec, ctx: ProbeContext) -> ProbeResult:
    server_name = spec.server_name or spec.host
    start = time.perf_counter()
    try:
        _reader, writer = await asyncio.open_connection(
            spec.host, spec.port, ssl=_context(spec.verify), server_hostname=server_name
        )
    except ssl.SSLCertVerificationError as exc:
        return fail(f"certificate of {server_name} is not trusted: {exc.verify_message or exc}",
                    latency_ms=(time.perf_counter() - start) * 1000)
    except (OSError, ssl.SSLError) as exc:
        return fail(f"TLS connection to {spec.host}:{spec.port} failed: {describe_exc(exc)}",
                    latency_ms=(time.perf_counter() - start) * 1000)
    latency_ms = (time.perf_counter() - start) * 1000
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    days = (not_after - clock.utcnow()).total_seconds() / 86400
    details = {"not_after": not_after.isoformat(), "days_left": round(days, 2), "subject": cert.subject.rfc4514_string()}
    if days <= 0:
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details,
                           error=f"certificate of {server_name} expired on {not_after:%Y-%m-%d %H:%M} UTC")
    if days < spec.fail_days:
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details,
                           error=f"certificate of {server_name} expires in {days:.1f} days (fail below {spec.fail_days}); renew it")
    if days < spec.warn_days:
        return ProbeResult(ok=True, latency_ms=latency_ms, details=details,
                           warning=f"certificate of {server_name} expires in {days:.1f} days (warn below {spec.warn_days})")
    return ProbeResult(ok=True, latency_ms=latency_ms, details=details)
