"""Label matchers behave as Alertmanager's: the cases of its pkg/labels parse and matcher test
tables (ported, with the documented differences marked), RE2 semantics, and the ReDoS guard.

Differences from Alertmanager kept on purpose (docs/alerting.md lists them): label names
cannot contain `:`, an unquoted empty value (`job=`) and a value starting with `=` or `~`
(`a==b`, `a=~~x`) are refused as typos (quote the value to mean it).
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.alerting.peers import watchkeeper_server
from tests.factories.auth import make_persona
from watchkeeper.configfile import loader
from watchkeeper.labels import Matcher, compile_regex, escape_regex, parse_matcher, regex_fullmatch, split_matchers

# ---------------------------------------------------------------- pkg/labels/parse_test.go


def _parse_all(text: str) -> list[tuple[str, str, str]]:
    return [(m.name, m.op, m.value) for m in (parse_matcher(t) for t in split_matchers(text))]


@pytest.mark.parametrize("text,want", [
    ('{foo="bar"}', [("foo", "=", "bar")]),
    ('{foo=~"bar.*"}', [("foo", "=~", "bar.*")]),
    ('{foo!="bar"}', [("foo", "!=", "bar")]),
    ('{foo!~"bar.*"}', [("foo", "!~", "bar.*")]),
    ('{foo="bar", baz!="quux"}', [("foo", "=", "bar"), ("baz", "!=", "quux")]),
    ('{foo="bar", baz!~"quux.*"}', [("foo", "=", "bar"), ("baz", "!~", "quux.*")]),
    ('{foo="bar",baz!~".*quux", derp="wat"}', [("foo", "=", "bar"), ("baz", "!~", ".*quux"), ("derp", "=", "wat")]),
    ('{foo="bar", instance=~"some-api.*"}', [("foo", "=", "bar"), ("instance", "=~", "some-api.*")]),
    ('{foo=""}', [("foo", "=", "")]),
    ('{foo="bar,quux", job="job1"}', [("foo", "=", "bar,quux"), ("job", "=", "job1")]),
    ('{foo = "bar", dings != "bums", }', [("foo", "=", "bar"), ("dings", "!=", "bums")]),
    ("foo=bar,dings!=bums", [("foo", "=", "bar"), ("dings", "!=", "bums")]),
    ('{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}', [("quote", "=", 'She said: "Hi, ladies! That\'s gender-neutral…"')]),
    ('statuscode=~"5.."', [("statuscode", "=~", "5..")]),
    ('contains_quote != "\\"" , contains_comma !~ "foo,bar" , ', [("contains_quote", "!=", '"'), ("contains_comma", "!~", "foo,bar")]),
    # Quoted values follow OpenMetrics escaping: \n is a line feed, other backslashes are literal.
    ('a="x\\ny"', [("a", "=", "x\ny")]),
    ('a="back\\\\slash"', [("a", "=", "back\\slash")]),
    ('a="c:\\temp"', [("a", "=", "c:\\temp")]),
    ('a=~"\\d+"', [("a", "=~", "\\d+")]),
    ('a="trailing\\"', None),  # the last \" escapes the closing quote: unbalanced
    ('a=tail\\', [("a", "=", "tail\\")]),
])
def test_alertmanager_parse_cases(text, want):
    if want is None:
        with pytest.raises(ValueError, match="unbalanced quote"):
            _parse_all(text)
    else:
        assert _parse_all(text) == want


@pytest.mark.parametrize("text,why", [
    ('job="value', "unbalanced quote"),
    ('job=value"', "unbalanced quote"),
    ('contains_unescaped_quote = foo"bar', "unbalanced quote"),
    ('{invalid-name = "valid label"}', "is not valid"),
    ('{foo=~"invalid[regexp"}', "missing ]"),
    ('"foo=\\"bar"', "is not valid"),
    ('"foo=\\"bar\\""', "is not valid"),
    ('"{foo=\\"bar\\"}"', "is not valid"),
    ('"foo="bar""', "is not valid"),
    # Deliberate differences (Alertmanager reads these as a value starting with = or ~, or empty):
    ("job=", "has no value"),
    ("tricky=~~~", "doubled operator"),
    ('trickier==\\\\=\\=\\"', "doubled operator"),
    ("ns:name=x", "is not valid"),
])
def test_alertmanager_parse_errors(text, why):
    with pytest.raises(ValueError, match=why):
        _parse_all(text)


def test_a_quoted_value_may_start_with_an_operator_character():
    assert parse_matcher('tricky=~"~~"').value == "~~"
    assert parse_matcher('trickier="=\\\\=\\\\=\\""').value == '=\\=\\="'


# ---------------------------------------------------------------- pkg/labels/matcher_test.go


@pytest.mark.parametrize("op,value,label,want", [
    ("=", "bar", "bar", True),
    ("=", "bar", "foo-bar", False),
    ("!=", "bar", "bar", False),
    ("!=", "bar", "foo-bar", True),
    ("=~", "bar", "bar", True),
    ("=~", "bar", "foo-bar", False),
    ("=~", ".*bar", "foo-bar", True),
    ("!~", "bar", "bar", False),
    ("!~", "bar", "foo-bar", True),
    ("!~", ".*bar", "foo-bar", False),
    ("=~", "foo.bar", "foo-bar", True),
    ("=~", "foo\\.bar", "foo-bar", False),
    ("=~", "foo\\.bar", "foo.bar", True),
    ("=", "foo\nbar", "foo\nbar", True),
    ("=~", "foo.bar", "foo\nbar", False),  # `.` does not match a newline (issue 10, item 4)
    ("=~", "(?s)foo.bar", "foo\nbar", True),  # unless (?s) says so (issue 10, item 3)
    ("=", '~!="', '~!="', True),
    # Inline flags anywhere, as Go's RE2 accepts them (issue 10, item 3).
    ("=~", "(?i)critical", "CRITICAL", True),
    ("=~", "page|(?i)crit.*", "Critical", True),
    ("=~", "a|b", "ab", False),  # the whole alternation is anchored
    ("=~", "a$", "a\n", False),  # $ is the end of the text, not before a final newline
    ("=~", "", "", True),
    ("=~", "", "x", False),
])
def test_alertmanager_matcher_cases(op, value, label, want):
    assert Matcher("foo", op, value).matches({"foo": label}) is want


@pytest.mark.parametrize("value,want", [
    ("bar", 'foo="bar"'),
    ("back\\slash", 'foo="back\\\\slash"'),
    ('double"quote', 'foo="double\\"quote"'),
    ("new\nline", 'foo="new\\nline"'),
    ("tab\tstop", 'foo="tab\tstop"'),
    ("🙂", 'foo="🙂"'),
])
def test_alertmanager_matcher_string_cases(value, want):
    assert str(Matcher("foo", "=", value)) == want
    assert parse_matcher(want) == Matcher("foo", "=", value)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20))
def test_escape_regex_matches_exactly_its_value(value):
    pattern = escape_regex(value)
    assert regex_fullmatch(pattern, value)
    assert not regex_fullmatch(pattern, value + "x")
    assert parse_matcher(str(Matcher("a", "=~", pattern))).matches({"a": value})


# ---------------------------------------------------------------- RE2: refused patterns, bounded time


@pytest.mark.parametrize("pattern,why", [
    ("a{99999999999}", "repetition {99999999999} is too large"),
    ("x{2,5000}", "repetition {2,5000} is too large"),
    ("a{1001}", "too large"),
    ("(a{1000}){1000}", "invalid repetition size"),
    ("x(?=y)", "invalid perl operator"),
    ("(a)\\1", "invalid escape sequence"),
    ("a)|(b", "unexpected )"),
    ("x**", "bad repetition operator"),
    ("((((((((((.{100}){10}){10}){10}){10}){10}){10}){10}){10}){10})", "repetition"),
])
def test_patterns_re2_refuses_are_refused_in_one_line(pattern, why):
    with pytest.raises(ValueError, match=pattern_re(why)) as exc:
        Matcher("alertname", "=~", pattern)
    assert "\n" not in str(exc.value) and "alertname" in str(exc.value)


def pattern_re(text: str) -> str:
    return "".join("\\" + c if c in "{}()[].*+?|^$\\" else c for c in text)


@pytest.mark.parametrize("pattern", ["[{99999999999}]", "\\{99999999999}", "\\Q{99999999999}\\E", "a{1000}"])
def test_braces_that_are_not_a_repetition_or_within_limits_are_accepted(pattern):
    compile_regex(pattern)


def test_a_pattern_too_large_for_the_memory_budget_is_refused():
    with pytest.raises(ValueError, match="too large"):
        compile_regex("\\pL{1000}")  # 1,000 copies of the Unicode letter class
    with pytest.raises(ValueError, match="too large"):
        compile_regex("(\\pL|x){500}y")


def test_catastrophic_backtracking_patterns_match_in_linear_time():
    """Python's re takes seconds on 30 characters here (doubling per character); RE2 takes
    microseconds. 50 ms is a bound three orders of magnitude above what RE2 needs."""
    evil = "a" * 30 + "!"
    for pattern in ("(a+)+", "(a|a)*", "(a|aa)+$", "(.*a){20}"):
        m = Matcher("alertname", "=~", pattern)
        started = time.perf_counter()
        assert not m.matches({"alertname": evil})
        assert time.perf_counter() - started < 0.05, pattern
    long_value = "a" * 100_000 + "!"
    started = time.perf_counter()
    assert not Matcher("alertname", "=~", "(a+)+").matches({"alertname": long_value})
    assert time.perf_counter() - started < 0.05


def test_a_label_with_a_lone_surrogate_is_matched_not_crashed():
    assert Matcher("a", "=~", ".*").matches({"a": "x\ud800y"})
    assert not Matcher("a", "=~", "xy").matches({"a": "x\ud800y"})


# ---------------------------------------------------------------- where users write matchers


def test_a_refused_regex_in_the_config_file_names_file_line_and_column():
    text = ("alerting:\n  route:\n    routes:\n      - matchers: ['alertname=~\"a{99999999999}\"']\n"
            "  inhibit_rules:\n    - source_matchers: ['severity=\"critical\"']\n      target_matchers: ['x=~\"(?=y)\"']\n")
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_text(text, file="w.yaml")
    problems = [str(p) for p in exc.value.problems]
    assert any(p.startswith("w.yaml:4:") and "too large" in p for p in problems), problems
    assert any(p.startswith("w.yaml:7:") and "invalid perl operator" in p for p in problems), problems
    assert all("\n" not in p for p in problems)


@pytest.mark.parametrize("matcher,why", [
    ('alertname=~"a{99999999999}"', "too large"),
    ('alertname=~"(?<=x)y"', "invalid"),
    ('alertname=~"' + "a" * 10 + '(((("', "missing )"),
])
def test_the_api_refuses_a_bad_silence_regex_with_one_line_422(client, personas, matcher, why):
    r = client.post("/api/v1/silences", json={"matchers": [matcher], "duration": "1h", "comment": "bad regex"},
                    headers=personas["root"].headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert why in error["message"] and "\n" not in error["message"] and "matchers" in error["field"]


def test_the_web_form_splits_matchers_at_commas_outside_quotes():
    assert split_matchers('service="checkout", severity=~"warning,critical"') == ['service="checkout"', 'severity=~"warning,critical"']
    assert split_matchers('a="say \\"x, y\\""') == ['a="say \\"x, y\\""']


@pytest.mark.slow
def test_a_redos_silence_cannot_stall_the_server(fresh_url, tmp_path):
    """Issue 9, item 4: a responder's silence `alertname=~"(a+)+"` and one alert whose name is
    'aaaa…!' blocked the whole server (Python's re: 2 s for /healthz, doubling per character).
    Through the real HTTP API: the silence is accepted, the alert is ingested (and checked
    against the silence at once), and the server keeps answering."""
    from watchkeeper.app import build, prepare_database
    from watchkeeper.config import Settings
    from tests.alerting.conftest import free_port

    port = free_port()
    settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", secret_key=secrets.token_urlsafe(24),
                        public_url=f"http://127.0.0.1:{port}", worker_poll_seconds=0.1)
    container = build(settings)
    prepare_database(container)
    with container.session() as session:
        responder = make_persona(session, "responder", ["responder"])
        bot = make_persona(session, "bot", ["responder"], scopes=["ingest"])
        session.commit()
    with watchkeeper_server(container) as base, httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/api/v1/silences", headers={"Authorization": f"Bearer {responder.token}"},
                      json={"matchers": ['alertname=~"(a+)+"'], "duration": "1h", "comment": "redos"})
        assert r.status_code == 201, r.text
        name = "a" * 40 + "!"  # Python's re would need ~2^40 steps for this one
        r = http.post("/api/v1/alerts", headers={"Authorization": f"Bearer {bot.token}"},
                      json=[{"labels": {"alertname": name, "service": "checkout"}}, {"labels": {"alertname": "a" * 40, "service": "checkout"}}])
        assert r.status_code == 200, r.text
        assert http.get("/healthz").status_code == 200
        states = {a["labels"]["alertname"]: a["state"] for a in
                  http.get("/api/v1/alerts", headers={"Authorization": f"Bearer {responder.token}"}).json()}
        assert states == {name: "active", "a" * 40: "silenced"}
