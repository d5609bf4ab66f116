"""Front matter, steps and links: every refusal is one line naming the file and the line;
rendering never lets script through."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.runbooks.parsing import ParseError, parse_document
from watchkeeper.runbooks.render import to_html

from tests.runbooks.helpers import front

KEYS = ("title", "services", "alerts", "kind", "owners", "reviewers", "last_reviewed", "review_every")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), start=1) if needle in line)


valid_date = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)).map(dt.date.isoformat)
bad_date = st.sampled_from(["2026-13-01", "2026-02-30", "yesterday", "01/02/2026", "2026-1-1x", "0000-00-00"])


@st.composite
def documents(draw):
    data: dict = {}
    problems: list[tuple[str, str]] = []  # (kind, key)
    if draw(st.booleans()) or True:
        title = draw(st.one_of(st.none(), st.text(alphabet="abcdefgh XYZ", min_size=1, max_size=30).filter(str.strip)))
        if title is None:
            problems.append(("missing", "title"))
        else:
            data["title"] = title
    if draw(st.booleans()):
        data["services"] = draw(st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), max_size=3))
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["runbook", "dr-plan", "incident-process", "playbook", "RUNBOOK"]))
        data["kind"] = kind
        if kind in ("playbook", "RUNBOOK"):
            problems.append(("value", "kind"))
    if draw(st.booleans()):
        good = draw(st.booleans())
        data["last_reviewed"] = {"date": draw(valid_date if good else bad_date), "by": "bob"}
        if not good:
            problems.append(("value", "date"))
    extras = draw(st.lists(st.sampled_from(["tags", "author", "lastReviewed", "review", "Title"]), max_size=2, unique=True))
    for key in extras:
        data[key] = "x"
        problems.append(("extra", key))
    order = draw(st.permutations(list(data)))
    return {k: data[k] for k in order}, problems


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_front_matter_fuzz_names_the_file_and_the_line(case):
    data, problems = case
    text = "---\n" + (yaml.safe_dump(data, sort_keys=False, allow_unicode=True) if data else "{}\n") + "---\n# Body\n"
    if not problems:
        parsed = parse_document(text, file="runbooks/fuzz.md")
        assert parsed.front.title == data["title"]
        if "last_reviewed" in data:
            assert parsed.front.last_reviewed.date.isoformat() == data["last_reviewed"]["date"]
        return
    with pytest.raises(ParseError) as caught:
        parse_document(text, file="runbooks/fuzz.md")
    message = str(caught.value)
    assert "\n" not in message
    match = re.match(r"^runbooks/fuzz\.md:(\d+): ", message)
    assert match, message
    line = int(match.group(1))
    lines = text.split("\n")
    assert 1 <= line <= len(lines)
    # The reported problem is one of those made, at the line where it is written.
    named = re.search(r"(?:unknown|required) key '([^']+)'|^\S+:\d+: ([\w.]+): ", message)
    assert named, message
    reported = (named.group(1) or named.group(2)).split(".")[-1]
    kind, key = next((p for p in problems if p[1] == reported), (None, None))
    assert kind is not None, (message, problems)
    if kind in ("extra", "value") and key != "title":
        assert key in lines[line - 1], (message, lines[line - 1])


@pytest.mark.parametrize("text,line,words", [
    ("# no front matter\n", 1, "does not start with front matter"),
    ("---\ntitle: x\n# never closed\n", 1, "not closed"),
    ("---\ntitle: [unclosed\n---\n", 2, "YAML syntax error"),
    ("---\ntitle: T\nkind: runbook\nlast_reviewed: {date: 2026-13-01, by: bob}\n---\n", 4, "last_reviewed.date"),
    ("---\ntitle: T\nreview_every: soon\n---\n", 3, "review_every"),
    ("---\ntitle: T\nreview_every: 1000d\n---\n", 3, "between 1d and 730d"),
    ("---\ntitle: T\nalerts: ['{alertname=~\"(a\"}']\n---\n", 3, "alerts"),
    ("---\ntitle: T\n---\n\n```sh {step=Bad!}\nx\n```\n", 5, "step name"),
    ("---\ntitle: T\n---\n```sh {step=a confirm=false}\nx\n```\n", 4, "confirm=false"),
    ("---\ntitle: T\n---\n```sh {step=a}\nx\n```\n```sh {step=a}\ny\n```\n", 7, "declared twice"),
    ("---\ntitle: T\n---\n```sh {step=a shell=bash}\nx\n```\n", 4, "unknown step attribute"),
    ("---\na: &a [1, 2]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n---\n", None, "too many values"),
])
def test_bad_documents_are_one_line_with_file_and_line(text, line, words):
    with pytest.raises(ParseError) as caught:
        parse_document(text, file="x.md")
    message = str(caught.value)
    assert "\n" not in message and words in message, message
    if line is not None:
        assert message.startswith(f"x.md:{line}: "), message


def test_steps_and_links_are_read_with_their_lines():
    text = front(body="# T\n\nSee [the other](other.md#top) and [docs](https://example.com/x).\n\n"
                      "```sh {step=restart-api confirm=true timeout=30s}\nsystemctl restart api\n```\n\n"
                      "```sh\nnot a step\n```\n\n```http {step=flip runner=web}\nPOST https://deploy.example.com/api/flip\n```\n")
    parsed = parse_document(text, file="a.md")
    assert [(s.name, s.runner, s.timeout_seconds) for s in parsed.steps] == [("restart-api", "sh", 30), ("flip", "web", None)]
    assert parsed.steps[0].command == "systemctl restart api\n"
    lines = text.split("\n")
    assert lines[parsed.steps[0].line - 1].startswith("```sh {step=restart-api")
    assert [link.href for link in parsed.links] == ["other.md#top", "https://example.com/x"]
    assert "[the other]" in lines[parsed.links[0].line - 1]


def test_alerts_take_alertnames_and_re2_matcher_sets():
    parsed = parse_document(front(alerts=["CheckoutDown", '{alertname="SLOErrorBudgetBurn", slo=~"checkout-.*"}']), file="a.md")
    assert parsed.front.alerts[0] == "CheckoutDown"


def test_script_and_javascript_links_render_inert():
    body = ('<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) '
            '[tab](java\tscript:alert(1)) [upper](JaVaScRiPt:alert(2)) [data](data:text/html,<script>alert(3)</script>) '
            '[vb](vbscript:msgbox) ![img](javascript:alert(4)) [ok](https://example.com/ok) [rel](other.md)\n\n'
            '<a href="javascript:alert(5)">raw</a>\n')
    html = to_html(body)
    assert "<script" not in html and "<img" not in html and "<a href=\"javascript" not in html.lower()
    assert "onerror=" not in html.replace("onerror=alert(1)&gt;", "")  # only as escaped text
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["https://example.com/ok", "other.md"], hrefs
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_links_to_sibling_documents_go_to_their_pages():
    html = to_html("[a](other.md#fix) [b](../up.md) [c](sub/x.md) [d](https://example.com/y.md) [e](notes.txt)", path="dir/doc.md")
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["/runbooks/view?path=dir/other.md#fix", "/runbooks/view?path=up.md", "/runbooks/view?path=dir/sub/x.md",
                     "https://example.com/y.md", "notes.txt"]
