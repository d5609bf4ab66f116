"""The service catalog and its stages.

Owns teams, people (contact methods, time zone), services (owner team, tier, stage, links,
dependencies, support hours, SLA/SLO/RPO/RTO targets), the dependency graph and stage
transitions POC → MVP → MMP → PROD. Promotion asks the gate registry (`gate.py`), into which
the readiness domain plugs its checks; the catalog never imports readiness.

Modules: teams.py (teams, people), service.py (services, dependencies, stages), stages.py and
graph.py (pure rules other domains may use), gate.py (the promotion gate port).
"""
