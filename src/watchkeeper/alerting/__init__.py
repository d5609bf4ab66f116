"""Alerting: the alert pipeline from ingest to the notification outbox.

Owns alerts (fingerprint, firing/resolved, history), alert groups with group wait / group
interval / repeat interval, silences, inhibition (configured rules and the service dependency
graph), the route tree and receivers, fire drills and alert-quality feedback. It declares the
`Suppressor` port (`suppress.py`) that silences, inhibition and maintenance windows implement;
`app.wire()` plugs them in. Delivery itself belongs to `notify` (the durable outbox); alerting
renders messages and hands them over in the same transaction as the group change.
"""
