"""Incidents: declared by hand or from alerts by policy, severities SEV1–SEV4 from watchkeeper.yaml,
a status lifecycle whose invalid moves are refused, roles (commander, communications, scribe),
linked alerts, merge, an automatic timeline (alerts, status/severity/role changes, notes, and every
`events.ServiceActivity` on the affected services), the public status page, postmortems with action
items, MTTA/MTTR and the weekly review, game-day drills, and the readiness item `incident_process`.

Modules: models (tables incidents_*), schemas, lifecycle (the status table), service (the use
cases), timeline (entries, subscribers, Markdown export), declare (auto-declare policies and
paging), statuspage (the public view), postmortems, metrics, evidence, settings (the stored
`incidents:` section), config_sync, markdown (safe rendering), api, cli, domain.
"""
