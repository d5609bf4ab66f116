"""DNS probe: resolve a name with dnspython and compare the answers."""

from __future__ import annotations

import time
from typing import ClassVar, Literal

import dns.asyncresolver
import dns.exception
import dns.resolver
from pydantic import Field, field_validator

from watchkeeper.monitoring.probes.kinds.base import ProbeContext, ProbeResult, fail
from watchkeeper.validation import Strict


DNS_TYPES = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA"]


class DnsSpec(Strict):
    kind: ClassVar[str] = "dns"

    name: str = Field(min_length=1, description="The name to resolve.")
    record_type: DNS_TYPES = "A"
    expect: list[str] = Field(default_factory=list, description="Answers that must all be present (empty: any answer).")
    exact: bool = Field(False, description="Fail when answers other than `expect` are returned.")
    resolver: str | None = Field(None, description="host or host:port of the DNS server; default: the system's.")
    protocol: Literal["udp", "tcp"] = "udp"

    @field_validator("resolver")
    @classmethod
    def _resolver(cls, value: str | None) -> str | None:
        if value is None:
            return value
        host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
        if port and not port.isdigit():
            raise ValueError(f"resolver {value!r} should be host or host:port, e.g. 1.1.1.1:53")
        return value


def _norm(text: str) -> str:
    return text.strip().strip('"').rstrip(".").lower()


def _resolver(spec: DnsSpec, timeout: float) -> dns.asyncresolver.Resolver:
    if spec.resolver is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        host, port = spec.resolver, 53
        if spec.resolver.count(":") == 1:
            host, _, raw = spec.resolver.partition(":")
            port = int(raw)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = timeout
    resolver.timeout = timeout
    return resolver


async def probe(spec: DnsSpec, ctx: ProbeContext) -> ProbeResult:
    resolver = _resolver(spec, ctx.timeout)
    start = time.perf_counter()
    try:
        answer = await resolver.resolve(spec.name, spec.record_type, tcp=spec.protocol == "tcp", raise_on_no_answer=True)
    except dns.resolver.NXDOMAIN:
        return fail(f"{spec.name} does not exist (NXDOMAIN)", latency_ms=(time.perf_counter() - start) * 1000)
    except dns.resolver.NoAnswer:
        return fail(f"{spec.name} has no {spec.record_type} records", latency_ms=(time.perf_counter() - start) * 1000)
    except dns.resolver.NoNameservers as exc:
        return fail(f"no DNS server answered for {spec.name}: {exc}", latency_ms=(time.perf_counter() - start) * 1000)
    except dns.exception.Timeout:
        return fail(f"DNS query for {spec.name} timed out after {ctx.timeout:g}s", latency_ms=(time.perf_counter() - start) * 1000)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        return fail(f"DNS query for {spec.name} failed: {exc}", latency_ms=(time.perf_counter() - start) * 1000)
    latency_ms = (time.perf_counter() - start) * 1000
    answers = sorted(rr.to_text() for rr in answer)
    got = {_norm(a) for a in answers}
    want = {_norm(e) for e in spec.expect}
    details = {"answers": answers}
    missing = sorted(want - got)
    if missing:
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details,
                           error=f"{spec.record_type} {spec.name}: expected {', '.join(missing)}, got {', '.join(answers)}")
    if spec.exact and want and got - want:
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details,
                           error=f"{spec.record_type} {spec.name}: unexpected answers {', '.join(sorted(got - want))}")
    return ProbeResult(ok=True, latency_ms=latency_ms, details=details)
