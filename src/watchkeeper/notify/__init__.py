"""Notify: getting a rendered message to people, once, durably.

Owns the transactional outbox (`notify_outbox`: one row per message and channel, written in
the caller's transaction, with an idempotency key), delivery attempts (`notify_attempt`: every
try with status, response and latency), retries with exponential backoff, the dead-letter
state, and the channels (email over SMTP, HMAC-signed webhooks, chat through apprise). It
knows nothing about alerts: alerting renders the message and names the receiver's channels.
"""
