"""Deployments (issue 16): every change recorded, the unsafe ones refused, rollback proven by timing it.

A deploy record comes from CI (`watchkeeper deploy start|finish`, POST /api/v1/deploys): the
service, environment and stage, version, commit, artifact, who or what triggered it, the test
evidence (a CI run URL, its status and counts; "untested" when absent), the rollback target
(the previous good version and how to return to it) and the outcome. The deploy gate
(`watchkeeper deploy check`) refuses with one reason per rule: tests, rollback target and
drill (PROD), change freezes and change windows, the service's readiness for the stage, the
SLO error budget and (once the incidents domain is installed) open SEV1/SEV2 incidents.
Overrides need a reason, and a second person for PROD. Rollbacks and drills run as worker
jobs and measure time-to-healthy; gradual rollouts run step by step in the worker, durably.

Modules: domain (descriptor), models, schemas, service (records, permission checks, audit),
gate (the rules and overrides), freezes (freezes, change windows and per-service deploy
policies from watchkeeper.yaml), config_sync (their reconcilers), hooks (commands and HTTP
calls with timeouts), health (time-to-healthy), rollback (rollbacks and drills), rollout
(gradual rollouts), evidence (readiness item rollback_drilled), jobs, api, cli, pages,
calendar (the change calendar and its iCal feed), releasenotes.
"""
