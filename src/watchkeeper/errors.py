"""Errors users can see.

    WatchkeeperError                 base; `code` is a stable dotted identifier
    ├── NotFound                     404  the named object does not exist
    ├── Conflict                     409  the change clashes with current state
    ├── InvalidInput(field)          422  a value is wrong; `field` names it
    ├── PermissionDenied             403  the actor may not do this
    ├── Unauthenticated              401  no valid session or token
    ├── RateLimited                  429  too many attempts; retry later
    └── Unavailable(retryable)       503  a dependency failed; `retryable` says if a retry can help

Domain errors subclass these so that the API, web UI and CLI map them in one place.
Messages are one line, name the object and the offending value, and say what to do.
"""

from __future__ import annotations


class WatchkeeperError(Exception):
    code = "error"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(WatchkeeperError):
    code = "not_found"
    status_code = 404


class Conflict(WatchkeeperError):
    code = "conflict"
    status_code = 409


class InvalidInput(WatchkeeperError):
    code = "invalid_input"
    status_code = 422


class PermissionDenied(WatchkeeperError):
    code = "permission_denied"
    status_code = 403


class Unauthenticated(WatchkeeperError):
    code = "unauthenticated"
    status_code = 401


class RateLimited(WatchkeeperError):
    code = "rate_limited"
    status_code = 429

    def __init__(self, message: str, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Unavailable(WatchkeeperError):
    code = "unavailable"
    status_code = 503

    def __init__(self, message: str, *, retryable: bool, code: str | None = None):
        super().__init__(message, code=code)
        self.retryable = retryable
