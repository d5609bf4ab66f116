"""Assessments: audit suites (security, performance, accessibility, operations) with levels
basic / standard / complete, built-in checks Watchkeeper measures itself (TLS, security
headers, cookies, monitors present, ...) and results posted by external tools (pip-audit,
bandit, ZAP, Lighthouse, a load-test tool) with findings by severity.

Named "assessments" so it cannot be confused with `audit`, the tamper-evident audit LOG; the
CLI and API still say "audit" where users expect it (`watchkeeper audit run`,
`/services/{name}/audits/{suite}/results`). Answers the readiness items audits_complete and
security_review through `evidence.py`; knows nothing of readiness.
"""
