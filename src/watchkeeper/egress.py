"""The egress policy: which addresses the server may connect to when it fetches something a
user named (HTTP, TCP, TLS, Prometheus and scrape monitors, webhook receivers, the Prometheus
of metric rules and SLOs, assessment web checks).

The check runs at connect time, on the address the name resolved to, and the connection goes
to that very address: a name that resolves to a public address when a monitor is saved and to
169.254.169.254 later (DNS rebinding) is refused then, and every redirect is a new connection
checked again. Only http and https are fetched (httpx knows no other scheme).

A policy is two lists of ranges, `deny` and `allow`, written as addresses, CIDR ranges or group
names (`GROUPS`). An address is refused when the most specific range that holds it is a deny
range (on a tie, allow wins: `allow` is how an admin makes an exception).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

GROUPS: dict[str, tuple[str, ...]] = {
    # Link-local: cloud metadata services, and nothing a monitor should need.
    "link-local": ("169.254.0.0/16", "fe80::/10"),
    # Instance metadata endpoints by address (AWS, GCP, Azure, OpenStack, ECS task, Alibaba, AWS IPv6).
    "metadata": ("169.254.169.254/32", "169.254.170.2/32", "100.100.100.200/32", "fd00:ec2::254/128"),
    # This host. 0.0.0.0 and :: reach it too on Linux.
    "loopback": ("127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128"),
    # Private networks (RFC 1918, carrier-grade NAT, unique local IPv6).
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
}
DEFAULT_DENY = "link-local,metadata"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(httpcore.ConnectError):
    """A connection the policy refuses. Raised inside httpx's transport (so httpx reports an
    httpx.ConnectError whose cause is this) and by `resolve` for raw sockets."""


def parse(text: str, *, setting: str = "egress range") -> tuple[tuple[Network, str], ...]:
    """`link-local, 10.1.2.3, 192.168.0.0/16` → ((network, label), …). Raises ValueError with
    one line naming the bad item."""
    out: list[tuple[Network, str]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.lower() in GROUPS:
            out.extend((ipaddress.ip_network(net), item.lower()) for net in GROUPS[item.lower()])
            continue
        try:
            out.append((ipaddress.ip_network(item, strict=False), item))
        except ValueError:
            raise ValueError(f"{setting}: {item!r} is not an address, a CIDR range or one of "
                             f"{', '.join(GROUPS)}") from None
    return tuple(out)


def _normal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 form stands for (::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class Egress:
    deny: tuple[tuple[Network, str], ...]
    allow: tuple[tuple[Network, str], ...] = ()

    @classmethod
    def of(cls, deny: str = DEFAULT_DENY, allow: str = "") -> Egress:
        return cls(parse(deny, setting="WATCHKEEPER_EGRESS_DENY"), parse(allow, setting="WATCHKEEPER_EGRESS_ALLOW"))

    @classmethod
    def from_settings(cls, settings: Any) -> Egress:
        return cls.of(settings.egress_deny, settings.egress_allow)

    # ------------------------------------------------------------------ judging an address

    def refusal(self, address: str) -> str | None:
        """Why the policy refuses `address` (an IP literal), or None when it may be reached."""
        ip = _normal(ipaddress.ip_address(address.split("%", 1)[0]))
        best: tuple[int, bool, str] | None = None
        for nets, allowed in ((self.deny, False), (self.allow, True)):
            for net, label in nets:
                if ip.version == net.version and ip in net:
                    if best is None or net.prefixlen > best[0] or (allowed and net.prefixlen == best[0]):
                        best = (net.prefixlen, allowed, f"{net}" if str(net) == label else f"{net}, {label}")
        if best is None or best[1]:
            return None
        return f"in {best[2]}"

    def _judge(self, host: str, addresses: Iterable[str]) -> list[str]:
        allowed, refused = [], []
        for address in dict.fromkeys(addresses):
            why = self.refusal(address)
            (refused if why else allowed).append((address, why))
        if allowed:
            return [a for a, _ in allowed]
        if not refused:
            raise httpcore.ConnectError(f"{host} did not resolve to any address")
        address, why = refused[0]
        name = address if host.strip("[]") == address else f"{host} ({address})"
        raise EgressRefused(f"{name} is refused by the egress policy ({why}); "
                            "an admin may allow it with WATCHKEEPER_EGRESS_ALLOW")

    async def resolve(self, host: str, port: int, timeout: float | None = None) -> list[str]:
        """The addresses of `host` the policy lets us reach, in resolver order. Raises
        EgressRefused when there are none, httpcore.ConnectError/ConnectTimeout when resolution fails."""
        literal = _literal(host)
        if literal:  # no resolver round trip (a thread hop) for an address
            return self._judge(host, [literal])
        problem: Exception | None = None
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            problem = httpcore.ConnectTimeout(f"resolving {host} timed out")
        except OSError as exc:
            problem = httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}")
        if problem is not None:  # raised outside the handler: the one-line message stands alone
            raise problem
        return self._judge(host, (str(info[4][0]) for info in infos))

    def resolve_sync(self, host: str, port: int) -> list[str]:
        literal = _literal(host)
        if literal:
            return self._judge(host, [literal])
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            problem = httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}")
        else:
            return self._judge(host, (str(info[4][0]) for info in infos))
        raise problem

    # ------------------------------------------------------------------ clients that obey it

    def async_transport(self, **options: Any) -> httpx.AsyncHTTPTransport:
        transport = httpx.AsyncHTTPTransport(**options)
        transport._pool._network_backend = _AsyncGuard(self)  # httpcore's documented backend hook
        return transport

    def transport(self, **options: Any) -> httpx.HTTPTransport:
        transport = httpx.HTTPTransport(**options)
        transport._pool._network_backend = _SyncGuard(self)
        return transport

    def async_client(self, *, verify: Any = True, limits: httpx.Limits | None = None, **options: Any) -> httpx.AsyncClient:
        """An httpx.AsyncClient whose every connection (redirects included) obeys the policy.
        Proxies from the environment are ignored: a proxy would make the check meaningless."""
        transport = self.async_transport(verify=verify, **({"limits": limits} if limits else {}))
        return httpx.AsyncClient(transport=transport, trust_env=False, **options)

    def client(self, *, verify: Any = True, **options: Any) -> httpx.Client:
        return httpx.Client(transport=self.transport(verify=verify), trust_env=False, **options)


DEFAULT = Egress.of()


def refused(exc: BaseException | None) -> EgressRefused | None:
    """The EgressRefused behind an exception (httpx wraps it), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, EgressRefused):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


class _AsyncGuard(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: Egress) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self._policy.resolve(host, port, timeout):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("unix sockets are refused by the egress policy")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _SyncGuard(httpcore.NetworkBackend):
    def __init__(self, policy: Egress) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self._policy.resolve_sync(host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise EgressRefused("unix sockets are refused by the egress policy")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
