"""The alert-rule language (pure): parse, format, and aggregate samples. See docs/monitoring.md.

    rule      := query [ cmp number ]
    query     := agg [ "by" "(" labels ")" ] "(" [ number "," ] selector "[" duration "]" ")" [ "by" "(" labels ")" ]
    agg       := avg | min | max | sum | count | last | rate | increase | quantile
    selector  := metric [ "{" label op "string" { "," label op "string" } "}" ]
    op        := = | != | =~ | !~
    cmp       := > | >= | < | <= | == | !=

Examples: `avg(probe_duration_seconds{monitor="shop"}[5m]) > 0.8`,
`sum(orders_total[1h]) by (region) < 10`, `quantile(0.95, api_latency_seconds[10m]) > 0.3`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from watchkeeper import durations
from watchkeeper import labels as labels_
from watchkeeper.labels import Matcher  # the product's one label matcher (silences, routes, inhibition, rules)

AGGREGATIONS = ("avg", "min", "max", "sum", "count", "last", "rate", "increase", "quantile")
ROLLUP_SAFE = ("avg", "min", "max", "sum", "count")
COMPARISONS = (">=", "<=", "==", "!=", ">", "<")
NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<duration>\d+(?:\.\d+)?(?:ms|s|m|h|d|w)(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))*(?=\s*\]))
      | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[iI]nf|NaN)(?![a-zA-Z0-9_:]))
      | (?P<op>=~|!~|!=|>=|<=|==|=|>|<)
      | (?P<punct>[(){}\[\],])
      | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
    )""",
    re.VERBOSE,
)


class RuleSyntaxError(ValueError):
    """The rule text does not parse; the message names the position and what was expected."""


@dataclasses.dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[Matcher, ...] = ()

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        return name == self.name and all(m.matches(labels) for m in self.matchers)

    def format(self) -> str:
        if not self.matchers:
            return self.name
        inner = ", ".join(f'{m.name}{m.op}"{_escape(m.value)}"' for m in self.matchers)
        return f"{self.name}{{{inner}}}"


@dataclasses.dataclass(frozen=True)
class Query:
    agg: str
    selector: Selector
    window_seconds: float
    by: tuple[str, ...] = ()
    param: float | None = None

    def format(self) -> str:
        param = f"{_num(self.param)}, " if self.param is not None else ""
        window = durations.format(durations.parse(self.window_seconds))
        by = f" by ({', '.join(self.by)})" if self.by else ""
        return f"{self.agg}({param}{self.selector.format()}[{window}]){by}"


@dataclasses.dataclass(frozen=True)
class Rule:
    query: Query
    op: str | None = None
    threshold: float | None = None

    def format(self) -> str:
        text = self.query.format()
        if self.op is not None:
            text += f" {self.op} {_num(self.threshold)}"
        return text

    def holds(self, value: float) -> bool:
        if self.op is None:
            return True
        return compare(value, self.op, self.threshold)


def compare(value: float, op: str, threshold: float | None) -> bool:
    assert threshold is not None
    return {
        ">": value > threshold, ">=": value >= threshold, "<": value < threshold,
        "<=": value <= threshold, "==": value == threshold, "!=": value != threshold,
    }[op]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ---------------------------------------------------------------- parsing


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise RuleSyntaxError(f"unexpected {text[pos:].strip()[:20]!r} at position {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str | None = None, value: str | None = None, what: str = "") -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise RuleSyntaxError(f"the rule ends early; expected {what or value or kind}")
        if (kind and tok[0] != kind) or (value and tok[1] != value):
            raise RuleSyntaxError(f"expected {what or value or kind} at position {tok[2] + 1}, found {tok[1]!r}")
        self.i += 1
        return tok

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == kind and (value is None or tok[1] == value)

    def labels(self) -> tuple[str, ...]:
        self.take("punct", "(")
        out = []
        while not self.at("punct", ")"):
            label = self.take("name", what="a label name")[1]
            if not LABEL_RE.fullmatch(label):
                raise RuleSyntaxError(f"{label!r} is not a label name")
            out.append(label)
            if not self.at("punct", ")"):
                self.take("punct", ",", what="',' or ')'")
        self.take("punct", ")")
        return tuple(out)

    def selector(self) -> Selector:
        name = self.take("name", what="a metric name")[1]
        matchers = []
        if self.at("punct", "{"):
            self.take("punct", "{")
            while not self.at("punct", "}"):
                label = self.take("name", what="a label name")[1]
                op = self.take("op", what="=, !=, =~ or !~")[1]
                if op not in ("=", "!=", "=~", "!~"):
                    raise RuleSyntaxError(f"label matcher {label}{op} is not allowed; use =, !=, =~ or !~")
                raw = self.take("string", what='a quoted value like "x"')[1]
                value = re.sub(r"\\(.)", r"\1", raw[1:-1])
                if op in ("=~", "!~"):
                    try:
                        labels_.compile_regex(value)
                    except ValueError as exc:
                        raise RuleSyntaxError(f"regular expression {value!r} for {label} is invalid: {exc}") from None
                try:
                    matchers.append(Matcher(label, op, value))
                except ValueError as exc:  # a label name Prometheus would refuse (e.g. with a ':')
                    raise RuleSyntaxError(str(exc)) from None
                if not self.at("punct", "}"):
                    self.take("punct", ",", what="',' or '}'")
            self.take("punct", "}")
        return Selector(name, tuple(matchers))

    def query(self) -> Query:
        agg = self.take("name", what=f"an aggregation ({', '.join(AGGREGATIONS)})")[1]
        if agg not in AGGREGATIONS:
            raise RuleSyntaxError(f"unknown aggregation {agg!r}; use one of {', '.join(AGGREGATIONS)}")
        by: tuple[str, ...] = ()
        if self.at("name", "by"):
            self.take()
            by = self.labels()
        self.take("punct", "(")
        param = None
        if agg == "quantile":
            param = float(self.take("number", what="a quantile between 0 and 1")[1])
            if not 0 <= param <= 1:
                raise RuleSyntaxError(f"quantile {param} must be between 0 and 1")
            self.take("punct", ",")
        selector = self.selector()
        self.take("punct", "[", what="a window like [5m]")
        window = durations.parse(self.take("duration", what="a window like 5m")[1]).total_seconds()
        if window <= 0:
            raise RuleSyntaxError("the window must be longer than 0s")
        self.take("punct", "]")
        self.take("punct", ")")
        if self.at("name", "by"):
            if by:
                raise RuleSyntaxError("'by' is given twice; keep one")
            self.take()
            by = self.labels()
        return Query(agg, selector, window, by, param)

    def rule(self) -> Rule:
        query = self.query()
        op = threshold = None
        if self.at("op"):
            op = self.take("op")[1]
            if op not in COMPARISONS:
                raise RuleSyntaxError(f"{op!r} is not a comparison; use one of {', '.join(COMPARISONS)}")
            threshold = float(self.take("number", what="a number to compare with")[1])
        tok = self.peek()
        if tok is not None:
            raise RuleSyntaxError(f"unexpected {tok[1]!r} at position {tok[2] + 1}; the rule should end here")
        return Rule(query, op, threshold)


def parse(text: str) -> Rule:
    """Parse a rule; raises RuleSyntaxError with the position and what was expected."""
    if not text or not text.strip():
        raise RuleSyntaxError("the rule is empty; write e.g. avg(probe_duration_seconds[5m]) > 1")
    return _Parser(text.strip()).rule()


def parse_selector(text: str) -> Selector:
    parser = _Parser(text.strip())
    sel = parser.selector()
    if parser.peek() is not None:
        raise RuleSyntaxError(f"unexpected {parser.peek()[1]!r} after the selector")
    return sel


# ---------------------------------------------------------------- evaluation

Labels = tuple[tuple[str, str], ...]


def group_key(labels: Mapping[str, str], by: tuple[str, ...]) -> Labels:
    return tuple((b, labels.get(b, "")) for b in by)


def _counter_increase(points: list[tuple[int, float]]) -> float:
    """Increase of a counter over sorted points, treating a drop as a reset to zero."""
    total = 0.0
    for (_, prev), (_, cur) in zip(points, points[1:]):
        total += cur - prev if cur >= prev else cur
    return total


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def aggregate_raw(query: Query, series: Iterable[tuple[Mapping[str, str], list[tuple[int, float]]]]) -> dict[Labels, float]:
    """Aggregate raw samples (per series: sorted (ts_ms, value) points) into one value per group."""
    groups: dict[Labels, list[list[tuple[int, float]]]] = defaultdict(list)
    for labels, points in series:
        if points:
            groups[group_key(labels, query.by)].append(points)
    out: dict[Labels, float] = {}
    for key, members in groups.items():
        values = [v for pts in members for _, v in pts]
        agg = query.agg
        if agg == "avg":
            out[key] = sum(values) / len(values)
        elif agg == "min":
            out[key] = min(values)
        elif agg == "max":
            out[key] = max(values)
        elif agg == "sum":
            out[key] = sum(values)
        elif agg == "count":
            out[key] = float(len(values))
        elif agg == "last":
            out[key] = max((pts[-1] for pts in members), key=lambda p: p[0])[1]
        elif agg == "increase":
            out[key] = sum(_counter_increase(pts) for pts in members)
        elif agg == "rate":
            out[key] = sum(_counter_increase(pts) for pts in members) / query.window_seconds
        elif agg == "quantile":
            out[key] = quantile(values, query.param or 0.0)
    return out


def aggregate_buckets(
    query: Query, series: Iterable[tuple[Mapping[str, str], list[tuple[int, float, float, float]]]]
) -> dict[Labels, float]:
    """Aggregate roll-up buckets (count, sum, min, max) — for windows older than raw retention."""
    if query.agg not in ROLLUP_SAFE:
        raise RuleSyntaxError(
            f"{query.agg}() needs raw samples, and the window reaches past raw retention; "
            f"use one of {', '.join(ROLLUP_SAFE)} or a shorter window"
        )
    acc: dict[Labels, list[float]] = {}
    for labels, buckets in series:
        if not buckets:
            continue
        key = group_key(labels, query.by)
        a = acc.setdefault(key, [0, 0.0, math.inf, -math.inf])
        for count, total, lo, hi in buckets:
            a[0] += count
            a[1] += total
            a[2] = min(a[2], lo)
            a[3] = max(a[3], hi)
    out = {}
    for key, (count, total, lo, hi) in acc.items():
        if count == 0:
            continue
        out[key] = {"avg": total / count, "min": lo, "max": hi, "sum": total, "count": float(count)}[query.agg]
    return out
