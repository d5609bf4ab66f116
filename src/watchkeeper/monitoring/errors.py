"""Errors of the monitoring domain, each a branch of the tree in watchkeeper/errors.py, so the
API, the web UI and the CLI render them without knowing monitoring.

    NotFound     ── MonitorNotFound ── HeartbeatNotFound   (an unknown ping URL)
                 ── RuleNotFound
                 ── SloNotFound
    Conflict     ── MonitorExists, RuleExists, SloExists
    Unavailable  ── PingNotRecorded                       (503, retry the ping)

Bad values are plain InvalidInput naming the field. The rule language raises RuleSyntaxError
(metrics/language.py), a ValueError, so pydantic validators can report it.
"""

from __future__ import annotations

from watchkeeper.errors import Conflict, NotFound, Unavailable


class MonitorNotFound(NotFound):
    code = "monitor.not_found"


class HeartbeatNotFound(MonitorNotFound):
    code = "heartbeat.not_found"


class RuleNotFound(NotFound):
    code = "rule.not_found"


class SloNotFound(NotFound):
    code = "slo.not_found"


class MonitorExists(Conflict):
    code = "monitor.exists"


class RuleExists(Conflict):
    code = "rule.exists"


class SloExists(Conflict):
    code = "slo.exists"


class PingNotRecorded(Unavailable):
    code = "heartbeat.not_recorded"
