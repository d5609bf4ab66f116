"""Monitoring: monitors (probes and heartbeats) and their results, the embedded metrics store,
alert rules and SLOs with error budgets. Three rooms, each a sub-package with its own schemas
and services:

- probes/   monitors: CRUD (service.py), the probe runner (runner.py) and the results it
            records (results.py), heartbeat pings and deadlines (heartbeats.py, with the
            per-process group-commit ping_writer.py), uptime and history (history.py); each
            probe kind's spec beside its probe in probes/kinds/.
- metrics/  the metrics store (store.py), the rule language (language.py) and alert rules
            (rules.py).
- slos/     SLOs (service.py), their per-minute accounting and burn-rate alerts
            (evaluation.py), the monthly SLA report (sla.py).

Shared by the rooms: the tables (models.py, all monitoring_*), errors.py, permission scope
(scope.py). Firing/resolved transitions go out through the core signals package
(watchkeeper/signals: a history row and SignalChanged; the alert pipeline subscribes and owns
dedup, routing and notification). Adapters: api.py, cli.py, jobs.py
(heartbeat deadlines, rules, SLOs, roll-ups, retention), config_sync.py. Answers the readiness
checks "monitoring_active" and "slo_achievable" (evidence.py). Its parts are declared in
domain.py.
"""
