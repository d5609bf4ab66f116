"""On-call: who is responsible right now, and who next.

The domain owns schedules (a time zone and stacked layers of rotations, each layer with
optional weekday/time restrictions), overrides (someone covers from–to; they always win),
escalation policies (ordered levels targeting people or schedules, a timeout per level, a
repeat count) and the coverage analysis that compares a service's declared support hours with
the level-1 coverage of its policy — the evidence of the readiness item `oncall_coverage`.

Modules: `timeline.py` (the one function that computes the final timeline, pure), `schemas.py`,
`models.py` (tables oncall_*), `service.py` (schedules, overrides, "who is on call"),
`policies.py` (escalation policies), `coverage.py` (gaps, bus factor, contactless people),
`evidence.py` (the readiness provider), `api.py`, `cli.py`, `config_sync.py`, `domain.py`.
"""
