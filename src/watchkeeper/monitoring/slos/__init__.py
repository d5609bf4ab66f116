"""The SLOs room: service-level objectives with error budgets, their per-minute good/total
accounting, the multi-window multi-burn-rate alerts (docs/slos.md) and the monthly SLA report.
"""
