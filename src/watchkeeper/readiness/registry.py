"""The evidence-provider registry: check id → provider that answers it.

A provider is `(session, service: ServiceRead) -> Evidence`, written by the domain that owns
the evidence (e.g. `monitoring/evidence.py`) and registered in `app.wire()`:

    registry.register_provider("monitoring_active", monitoring_evidence.monitoring_active)

A provider may also offer a batch form, `(session, services: list[ServiceRead]) ->
dict[service_name, Evidence]`, registered with `register_batch_provider`; the engine uses it
when it evaluates many services at once (the scorecard, the periodic job) so one query serves
a thousand services. Registering again under the same id replaces the provider, so wiring is
idempotent. Checks without a provider report `unknown` — never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.evidence import Evidence

Provider = Callable[[Session, Any], Evidence]
BatchProvider = Callable[[Session, Sequence[Any]], dict[str, Evidence]]

_providers: dict[str, Provider] = {}
_batch: dict[str, BatchProvider] = {}


def register_provider(check_id: str, provider: Provider) -> None:
    """Answer `check_id` with `provider(session, service) -> Evidence`. Replaces any previous one."""
    if not check_id or not callable(provider):
        raise ValueError("register_provider needs a check id and a callable (session, service) -> Evidence")
    _providers[check_id] = provider


def register_batch_provider(check_id: str, provider: BatchProvider) -> None:
    """Optional batch form `(session, services) -> {service name: Evidence}` for many services.

    Services missing from the returned dict fall back to the single provider (or unknown).
    """
    if not check_id or not callable(provider):
        raise ValueError("register_batch_provider needs a check id and a callable (session, services) -> dict")
    _batch[check_id] = provider


def unregister_provider(check_id: str) -> None:
    _providers.pop(check_id, None)
    _batch.pop(check_id, None)


def provider_for(check_id: str) -> Provider | None:
    return _providers.get(check_id)


def batch_provider_for(check_id: str) -> BatchProvider | None:
    return _batch.get(check_id)


def registered() -> list[str]:
    """Check ids that have a provider (single or batch)."""
    return sorted(set(_providers) | set(_batch))


def snapshot() -> tuple[dict[str, Provider], dict[str, BatchProvider]]:
    """Copies of both tables (tests restore them afterwards)."""
    return dict(_providers), dict(_batch)


def restore(state: tuple[dict[str, Provider], dict[str, BatchProvider]]) -> None:
    _providers.clear()
    _providers.update(state[0])
    _batch.clear()
    _batch.update(state[1])
