"""Readiness: whether a service is fit for the stage it claims, from live evidence.

Owns stage policies (checklists of required and recommended items, tuned per tier from
config), waivers, attestations, each item's history, the scorecard, the promotion gate and
readiness-regression signals. Evidence itself belongs to the domains that gather it; they
expose providers that `app.wire()` registers here (`registry.register_provider`). Nothing
imports readiness.

Modules: policies.py (stage checklists and their tuning), waivers.py (waivers and
attestations), evaluation.py (the engine, the gate, the scorecard), continuous.py (recording
changes and regressions; run by jobs.py), registry.py (evidence providers).
"""
