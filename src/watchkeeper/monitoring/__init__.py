"""Monitoring: monitors (probes and heartbeats) and their results, the embedded metrics store,
alert rules and SLOs with error budgets.

Owns the monitoring_* tables. Publishes SignalChanged (events.py) on every up/down and
firing/resolved transition and keeps that history itself; the alert pipeline subscribes and
owns dedup, routing and notification. Answers the readiness checks "monitoring_active" and
"slo_achievable" (evidence.py). The probe runner (runner.py) runs inside every worker; the
periodic jobs (jobs.py) evaluate heartbeats, rules and SLOs and roll metrics up; the ping
writer (ping_writer.py) commits each serve process's heartbeat pings in batches.
Entry points: service.py (monitors, results, pings), store.py (metrics), rules.py, slos.py.
"""
