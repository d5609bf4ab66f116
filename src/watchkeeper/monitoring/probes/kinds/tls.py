"""TLS certificate probe: days until expiry against warn and fail thresholds."""

from __future__ import annotations

import ssl
import time
from typing import ClassVar

import httpcore
from cryptography import x509
from pydantic import Field, model_validator

from watchkeeper import clock
from watchkeeper.monitoring.probes.kinds.base import ProbeContext, ProbeResult, describe_exc, fail, open_connection
from watchkeeper.validation import Strict


class TlsSpec(Strict):
    kind: ClassVar[str] = "tls"

    host: str = Field(min_length=1)
    port: int = Field(443, ge=1, le=65535)
    server_name: str | None = Field(None, description="SNI name; default: host.")
    warn_days: int = Field(21, ge=0, description="Warn when the certificate expires within this many days.")
    fail_days: int = Field(7, ge=0, description="Fail when the certificate expires within this many days.")
    verify: bool = Field(True, description="Also require a trusted chain and a matching name.")

    @model_validator(mode="after")
    def _order(self) -> "TlsSpec":
        if self.fail_days > self.warn_days:
            raise ValueError(f"fail_days {self.fail_days} is above warn_days {self.warn_days}; warn first, then fail")
        return self


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
        _reader, writer = await open_connection(
            ctx, spec.host, spec.port, ssl=_context(spec.verify), server_hostname=server_name
        )
    except ssl.SSLCertVerificationError as exc:
        return fail(f"certificate of {server_name} is not trusted: {exc.verify_message or exc}",
                    latency_ms=(time.perf_counter() - start) * 1000)
    except (OSError, ssl.SSLError, httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
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
