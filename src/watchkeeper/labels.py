"""Pure label logic shared by alerting and maintenance: fingerprints and Alertmanager-style
matchers (`=`, `!=`, `=~`, `!~`).

A missing label has the empty value, as in Alertmanager: `team=""` matches alerts without a
`team` label and `team!=""` requires one. Regular expressions are anchored at both ends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.DOTALL)
OPS = ("=", "!=", "=~", "!~")


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable identity of an alert: a hash of its sorted labels (32 hex characters)."""
    h = hashlib.blake2b(digest_size=16)
    for key in sorted(labels):
        h.update(key.encode())
        h.update(b"\xff")
        h.update(str(labels[key]).encode())
        h.update(b"\xfe")
    return h.hexdigest()


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern})\\Z", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if not LABEL_NAME.match(self.name):
            raise ValueError(f"label name {self.name!r} is invalid; use letters, digits and _ (not starting with a digit)")
        if self.op not in OPS:
            raise ValueError(f"operator {self.op!r} is invalid; use one of = != =~ !~")
        if self.op in ("=~", "!~"):
            try:
                _compile(self.value)
            except re.error as exc:
                raise ValueError(f"regular expression {self.value!r} in matcher on '{self.name}' is invalid: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = _compile(self.value).match(actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """Parse `name="value"`, `name!=value`, `name=~"re"` or `name!~re`. Quotes are optional;
    inside quotes, \\" and \\\\ are escapes. Raises ValueError saying what to write."""
    match = _MATCHER.match(text or "")
    if not match:
        raise ValueError(f'matcher {text!r} is not valid; write name="value" with one of = != =~ !~')
    name, op, raw = match.groups()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        value = re.sub(r'\\(["\\])', r"\1", raw[1:-1])
    elif '"' in raw:
        raise ValueError(f"matcher {text!r} has an unbalanced quote; write name=\"value\"")
    elif raw[:1] in ("=", "~"):
        raise ValueError(f"matcher {text!r} has a doubled operator; use one of = != =~ !~")
    else:
        value = raw
    return Matcher(name, op, value)


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in texts)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def parse_label_list(text: str) -> dict[str, str]:
    """`k=v,k2=v2` (the CLI's --labels) into a dict. Raises ValueError naming the bad part."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not LABEL_NAME.match(key):
            raise ValueError(f"label {part!r} is not valid; write name=value pairs separated by commas")
        out[key] = value.strip().strip('"')
    return out
