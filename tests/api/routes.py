"""Enumerate every (method, path) the app serves, across FastAPI's included-router wrappers."""

from __future__ import annotations

from starlette.routing import Mount


def all_routes(app):
    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        contexts = getattr(route, "effective_route_contexts", None)
        entries = list(contexts()) if contexts else [route]
        for entry in entries:
            for method in sorted(getattr(entry, "methods", None) or {"GET"}):
                if method not in {"HEAD", "OPTIONS"}:
                    out.append((method, entry.path, entry))
    return out
