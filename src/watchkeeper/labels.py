"""Pure label logic shared by alerting, maintenance and monitoring: fingerprints and
Alertmanager-style matchers (`=`, `!=`, `=~`, `!~`).

A missing label has the empty value, as in Alertmanager: `team=""` matches alerts without a
`team` label and `team!=""` requires one.

Every user regex that meets a label goes through `compile_regex` here: RE2 (the engine
Alertmanager and Prometheus use, through the `google-re2` bindings), so matching time is linear
in the label's length whatever the pattern — `(a+)+` cannot stall the server — and the syntax
is RE2's: fully anchored, inline flags such as `(?i)` and `(?s)` anywhere, `.` does not match a
newline unless `(?s)`, no look-around or backreferences. Patterns RE2 refuses, and repetition
counts above 1,000 (which Go refuses and C++ RE2 would read as literal text), are refused with
one line saying what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

import re2

log = logging.getLogger(__name__)
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Alertmanager's classic matcher grammar (pkg/labels/parse.go), with our label names.
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.DOTALL)
OPS = ("=", "!=", "=~", "!~")
MAX_REPEAT = 1000  # Go's regexp/syntax limit on {n,m}
MAX_PROGRAM_BYTES = 2 << 20  # RE2 memory budget per pattern; larger patterns are refused
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable identity of an alert: a hash of its sorted labels (32 hex characters)."""
    h = hashlib.blake2b(digest_size=16)
    for key in sorted(labels):
        h.update(key.encode())
        h.update(b"\xff")
        h.update(str(labels[key]).encode())
        h.update(b"\xfe")
    return h.hexdigest()


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_PROGRAM_BYTES
    options.log_errors = False
    return options


_OPTIONS = _options()


def _oversized_repeat(pattern: str) -> str | None:
    """The first `{n}`/`{n,m}` whose count exceeds MAX_REPEAT, outside escapes, `\\Q…\\E` and
    character classes; None if there is none."""
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if pattern.startswith("\\Q", i):
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            i += 1
            continue
        if c == "[":
            in_class = True
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):  # a leading ] is literal
                i += 1
            continue
        if c == "{":
            m = _REPEAT.match(pattern, i)
            if m and any(g and int(g) > MAX_REPEAT for g in m.groups()):
                return m.group(0)
        i += 1
    return None


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re2._Regexp:
    """`pattern` compiled by RE2 for full matches. Raises ValueError with one line."""
    too_big = _oversized_repeat(pattern)
    if too_big:
        raise ValueError(f"repetition {too_big} is too large; counts go up to {MAX_REPEAT}")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        if "too large" in detail or "out of memory" in detail:
            detail = "pattern is too large (RE2 needs more than 2 MiB for it); simplify it"
        raise ValueError(detail.replace("\n", " ")) from None
    except UnicodeEncodeError:
        raise ValueError("pattern is not valid UTF-8 text") from None


def regex_fullmatch(pattern: str, value: str) -> bool:
    """True when `value` as a whole matches `pattern` (RE2; linear time in len(value))."""
    regex = compile_regex(pattern)
    try:
        return regex.fullmatch(value) is not None
    except UnicodeEncodeError:  # a lone surrogate from JSON: match the bytes, as Go would
        return regex.fullmatch(value.encode("utf-8", "surrogatepass")) is not None


def escape_regex(value: str) -> str:
    """A regex that matches exactly `value` (RE2's QuoteMeta)."""
    return re2.escape(value)


def _escape(value: str) -> str:
    """OpenMetrics escaping, as Alertmanager prints matcher values: \\\\, \\n and \\"."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _unescape(raw: str, text: str) -> str:
    """A matcher's value as Alertmanager reads it: optional surrounding double quotes; \\", \\\\
    and \\n are escapes, any other backslash is literal; an unescaped " inside is an error."""
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == "\\" and i < n - 1:
            nxt = body[i + 1]
            out.append("\n" if nxt == "n" else nxt if nxt in '"\\' else "\\" + nxt)
            i += 2
            continue
        if c == '"':
            if not quoted or i != n - 1:
                raise ValueError(f'matcher {text!r} has an unbalanced quote; write name="value" and escape a " inside as \\"')
            quoted = False
        else:
            out.append(c)
        i += 1
    if quoted:
        raise ValueError(f'matcher {text!r} has an unbalanced quote; write name="value" and escape a " inside as \\"')
    return "".join(out)


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
                compile_regex(self.value)
            except ValueError as exc:
                raise ValueError(f"regular expression {self.value!r} in matcher on '{self.name}' is invalid: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = regex_fullmatch(self.value, actual)
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{_escape(self.value)}"'


def parse_matcher(text: str) -> Matcher:
    """Parse `name="value"`, `name!=value`, `name=~"re"` or `name!~re` with Alertmanager's
    rules: quotes are optional; \\", \\\\ and \\n are escapes (in quotes or not). Unlike
    Alertmanager, an empty unquoted value and a value starting with = or ~ (`a==b`, a typo more
    often than not) are refused. Raises ValueError saying what to write."""
    match = _MATCHER.match(text or "")
    if not match:
        raise ValueError(f'matcher {text!r} is not valid; write name="value" with one of = != =~ !~')
    name, op, raw = match.groups()
    if not raw:
        raise ValueError(f'matcher {text!r} has no value; write {name}{op}"" to match an empty or missing label')
    value = _unescape(raw, text)
    if raw[:1] in ("=", "~"):
        raise ValueError(f"matcher {text!r} has a doubled operator; use one of = != =~ !~ (quote a value that starts with = or ~)")
    return Matcher(name, op, value)


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in texts)


def parse_stored_matchers(texts: Iterable[str], *, owner: str) -> tuple[Matcher, ...] | None:
    """Matchers read back from the database. A row saved under an older syntax (Python's re
    accepted look-arounds and backreferences, RE2 does not) may no longer parse: that row gets
    None and a warning naming `owner` (e.g. "silence:12"), instead of an error that would stop
    every flush. Callers treat None as "suppresses nothing": for a pager, failing open is safer."""
    try:
        return parse_matchers(texts)
    except ValueError as exc:
        log.warning("stored matchers no longer parse; %s suppresses nothing until it is replaced: %s", owner, exc,
                    extra={"owner": owner})
        return None


def split_matchers(text: str) -> list[str]:
    """`{a="x", b=~"y,z"}` into its matchers, as Alertmanager splits them: at commas outside
    double quotes (an escaped quote does not open or close), braces and a trailing comma optional."""
    text = (text or "").strip()
    text = text.removeprefix("{").removesuffix("}")
    parts, current, quoted, escaped = [], [], False, False
    for c in text:
        if c == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        if c == '"' and not escaped:
            quoted = not quoted
        escaped = c == "\\" and not escaped
        current.append(c)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


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
