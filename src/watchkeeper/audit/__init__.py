"""The tamper-evident audit log.

Owns audit events (who did what to which object, before/after, from where), the SHA-256 hash
chain that links them, Ed25519-signed checkpoints, verification and export. Every domain calls
`service.record()` in the same transaction as its change. Knows nothing about users: an actor
is anything with `name`, `id` and `source`.
"""
