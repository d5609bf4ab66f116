"""Monitoring schemas its rooms share: label-name and URL rules, severities, and the signal
history (every firing/resolved transition of a monitor, heartbeat, rule or SLO). Each room keeps its own schemas: probes/schemas.py (monitors; each probe kind's
spec beside its probe in probes/kinds/), metrics/schemas.py (samples, alert rules) and
slos/schemas.py.

The same models validate the API, the CLI and the `monitors:`, `alert_rules:` and `slos:`
sections of watchkeeper.yaml, so a bad value gets the same message everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
SEVERITIES = Literal["critical", "warning", "info"]


def http_url(value: str, field: str = "url") -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{field} {value!r} is not an http(s) URL; write e.g. https://shop.example.com/healthz")
    return value


def label_names(value: dict[str, str]) -> dict[str, str]:
    bad = [k for k in value if not re.match(LABEL_NAME, k)]
    if bad:
        raise ValueError(f"label names {bad} are invalid; use letters, digits and underscores, not starting with a digit")
    return value


