"""Backups and restore tests (issue 15).

A backup job (restic, postgres, sqlite or command) belongs to a catalog service; runs are worker
jobs, at most one at a time per backup job across every worker process; a restore test puts
the latest backup back into a scratch location, verifies it and measures how long that took
(RTO) and how old the restored data is (RPO). Secrets are named by environment variable only.

Modules: domain (descriptor), models, schemas, service (use cases, permission checks, audit),
jobs (worker handlers), _tools (subprocess runs with timeouts and capped output), _kinds (what
each kind runs), _retention (which dump files to keep).
"""
