"""Input validation every domain and adapter shares, written once: the strict base of input
schemas, IANA time-zone names, URLs that may become links, what no request body may carry
(deep nesting, NUL characters, NaN and infinities), and the one line a pydantic ValidationError becomes (the API,
the CLI, web forms and webhook ingest all say the same thing about the same mistake; the
config file adds the line and column).
"""

from __future__ import annotations

import dataclasses
import math
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict

from watchkeeper.errors import InvalidInput


class Strict(BaseModel):
    # Input refuses unknown fields: a misspelt key is an error, never silently ignored.
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- time zones


def time_zone(value: str) -> str:
    """`value` if it names an IANA time zone; ValueError saying what to write otherwise."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin or UTC") from None
    return value


TimeZone = Annotated[str, AfterValidator(time_zone)]


def zone(name: str, *, field: str = "timezone") -> zoneinfo.ZoneInfo:
    """The zone a person named (a CLI option, a form field). Raises InvalidInput."""
    try:
        return zoneinfo.ZoneInfo(time_zone(name))
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None


# ---------------------------------------------------------------- links

LINK_SCHEMES = frozenset({"http", "https"})


def link_problem(value: str) -> str | None:
    """Why `value` must not become a link (an `href`), or None when it may.

    A link is an http(s) URL with a host, or a relative URL. Everything else (`javascript:`,
    `data:`, `vbscript:`, `JaVaScRiPt:`) is refused. Whitespace and control characters are
    refused anywhere: browsers drop tabs and newlines inside a URL, so `java\tscript:` would
    run script.
    """
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        return str(exc)
    if not parts.scheme:
        return None
    if parts.scheme not in LINK_SCHEMES:
        return f"scheme {parts.scheme!r} is not http or https"
    if not parts.netloc:
        return "has no host"
    return None


def link(value: str) -> str:
    """`value` if it may become a link; ValueError saying what to write otherwise."""
    problem = link_problem(value)
    if problem is not None:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise ValueError(f"{shown!r} {problem}; use an http(s) URL such as https://wiki.example.com/runbook or a relative path")
    return value


Link = Annotated[str, AfterValidator(link)]


def safe_href(value: object) -> str:
    """What a template puts in `href`: the value if it may be a link, else a harmless `#`.
    The render-time guard for values stored before input was validated."""
    return value if isinstance(value, str) and link_problem(value) is None else "#"


# ---------------------------------------------------------------- request bodies

# Deeper than any payload Watchkeeper reads (an Alertmanager webhook nests 4 levels, a route tree
# a few per level), shallow enough that no parser or validator recurses into a RecursionError.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_ESCAPED_NUL = re.compile(rb'(?<!\\)(?:\\\\)*\\u0000')
_NON_FINITE = re.compile(rb"NaN|Infinity")
# Numbers whose float might overflow to infinity: an exponent, or 300+ integer digits.
_BIG_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?[eE][+-]?\d+|-?\d{300,}(?:\.\d+)?")
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")


def json_problem(body: bytes) -> str | None:
    """What no JSON request body may carry, in one line, or None. Checked on the raw bytes
    before any parser sees them, in linear time (regular expressions and byte translation, no
    recursion): nesting deeper than MAX_JSON_DEPTH, NUL characters (PostgreSQL cannot store
    them in text), NaN, Infinity and numbers that overflow to infinity (no float column can
    hold them, and JSONB refuses them)."""
    if b"\x00" in body or _ESCAPED_NUL.search(body):
        return "the body contains a NUL character (\\u0000); remove it"
    bare = _JSON_STRING.sub(b'""', body)
    brackets = bare.translate(None, _BRACKETS)
    if len(brackets) > MAX_JSON_DEPTH:
        depth = deepest = 0
        for byte in brackets:
            depth += 1 if byte in (0x5B, 0x7B) else -1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return f"the body nests deeper than {MAX_JSON_DEPTH} levels; flatten it"
    if _NON_FINITE.search(bare):
        return "the body contains NaN or Infinity, which JSON does not allow; send a finite number or null"
    for token in _BIG_NUMBER.findall(bare):
        if not math.isfinite(float(token)):
            return f"the number {token[:20].decode()}... is too large for a float; send a finite number or null"
    return None


def text_problem(value: str) -> str | None:
    """What no text field may carry (a form field, a query parameter), or None."""
    if "\x00" in value:
        return "contains a NUL character; remove it"
    return None


# ---------------------------------------------------------------- one line per ValidationError


def plain_message(error: Mapping[str, Any]) -> str:
    """What is wrong with one value, in plain words (pydantic's "Value error, " prefix dropped)."""
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field; remove it or check its spelling"
    if kind == "missing":
        return "field required"
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def dotted(loc: Sequence[Any]) -> str:
    """`a.b.0.c`: a location as the API and forms name fields."""
    return ".".join(str(part) for part in loc)


@dataclasses.dataclass(frozen=True)
class Problem:
    """The first problem of a ValidationError: where (pydantic's loc), what, and how many more."""

    loc: tuple
    message: str
    more: int

    def line(self, where: str, *, count_more: bool = True) -> str:
        """`where: what is wrong (and N more problems)`."""
        text = f"{where}: {self.message}" if where else self.message
        if count_more and self.more:
            text += f" (and {self.more} more problem{'s' if self.more > 1 else ''})"
        return text


def first_problem(errors: Sequence[Mapping[str, Any]]) -> Problem:
    """The first of `errors` (a ValidationError's `errors()`), ready to be said in one line."""
    first = errors[0]
    return Problem(loc=tuple(first.get("loc", ())), message=plain_message(first), more=len(errors) - 1)


def invalid_input(errors: Sequence[Mapping[str, Any]], *, code: str | None = None) -> InvalidInput:
    """The InvalidInput a service raises for a payload that failed validation."""
    problem = first_problem(errors)
    field = dotted(problem.loc)
    return InvalidInput(problem.line(field), field=field or None, code=code)


# ---------------------------------------------------------------- secrets in headers

REDACTED = "<redacted>"
# Header names whose values are credentials (Authorization, Cookie, X-Api-Key, X-Auth-Token,
# Private-Token, ...): redacted wherever stored settings are shown, and audited as "changed".
_CREDENTIAL_HEADER = re.compile(r"auth|cookie|token|secret|passw|api[-_]?key|session|signature|credential|private", re.I)


def credential_header(name: str) -> bool:
    return bool(_CREDENTIAL_HEADER.search(name))


def redact_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The headers as a reader may see them: credential values replaced by REDACTED."""
    return {k: (REDACTED if credential_header(k) and v else v) for k, v in (headers or {}).items()}


def keep_redacted(new: Mapping[str, str] | None, old: Mapping[str, str] | None) -> dict[str, str]:
    """A client that read REDACTED and sent it back keeps the stored value (a read-modify-write
    must not overwrite a secret with the placeholder)."""
    old = old or {}
    return {k: (old[k] if v == REDACTED and k in old else v) for k, v in (new or {}).items()}


def secrets_changed(before: Mapping[str, str] | None, after: Mapping[str, str] | None, *, where: str) -> list[str]:
    """`where.<header>` for every credential header added, removed or given another value:
    what the audit log records instead of the values."""
    before, after = before or {}, after or {}
    names = sorted(k for k in set(before) | set(after) if credential_header(k) and before.get(k) != after.get(k))
    return [f"{where}.{name}" for name in names]


def url_secret_changed(before: str | None, after: str | None, *, where: str) -> list[str]:
    """[where] when the URL's hidden parts changed (the redacted forms are equal, the URLs not)."""
    if before and after and before != after and redact_url(before) == redact_url(after) and redact_url(after) != after:
        return [where]
    return []


URL_MASK = "redacted"
_CREDENTIAL_PARAM = re.compile(r"token|secret|passw|key|auth|sig|credential", re.I)


def redact_url(url: str | None) -> str | None:
    """The URL as a reader may see it: a password in the user-info part and the values of
    credential-looking query parameters (token, key, sig, ...) replaced by URL_MASK."""
    if not url:
        return url
    from urllib.parse import parse_qsl, urlencode, urlunsplit

    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password:
            netloc = f"{parts.username or ''}:{URL_MASK}@{netloc.rsplit('@', 1)[1]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(_CREDENTIAL_PARAM.search(k) and v for k, v in pairs):
                query = urlencode([(k, URL_MASK if _CREDENTIAL_PARAM.search(k) and v else v) for k, v in pairs])
    except ValueError:
        return url
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def keep_redacted_url(new: str | None, old: str | None) -> str | None:
    """A URL sent back exactly as it was shown keeps the stored one (read-modify-write)."""
    if new is not None and old is not None and new != old and new == redact_url(old):
        return old
    return new
