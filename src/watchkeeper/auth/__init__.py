"""Who may do what.

Owns users (argon2 password hashes), API tokens (shown once, stored hashed, scoped, expiring),
UI sessions with CSRF tokens, login rate limiting, and role bindings (viewer, responder,
operator, admin, auditor) scoped globally, to a team or to a service. Other domains call
`require(actor, permission, team=..., service=...)` from their service functions.
"""
