"""Runbooks and required documents (issue 14).

Operational knowledge kept as Markdown files with YAML front matter in a folder (usually a git
checkout): runbooks, incident processes, deploy and rollback procedures, DR plans. The folder
named by the `runbooks:` section of watchkeeper.yaml is synced into tables on `apply` and by a
periodic job; git history (authors, last commit) is read with `git log` when the folder is a
repository. Documents are reviewed (author ≠ reviewer, within a cadence), linted (stale,
uncovered alert rules and SLO burn alerts, dangling references, broken links, bus factor), and
their fenced `{step=...}` blocks can be run by permitted people, with confirmation, through an
allow-list of runners the admin configures.

Modules: domain (descriptor), models, schemas, parsing (front matter, steps, links), render
(safe HTML), gitmeta (git log), service (configure, sync, read, review), documents (the port
other domains call: reviewed_document, runbooks_for_alert), lint, steps (run a step), scaffold
(`runbook init`), evidence (readiness), jobs (worker handlers), config_sync, and the adapters
api, cli, pages.
"""
