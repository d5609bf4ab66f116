"""validation.py: the one line every adapter shows for a refused value, and time-zone names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from watchkeeper.errors import InvalidInput
from watchkeeper.validation import Strict, TimeZone, first_problem, invalid_input, zone


class Window(Strict):
    name: str
    timezone: TimeZone = "UTC"


def _errors(**data) -> list:
    with pytest.raises(ValidationError) as exc:
        Window.model_validate(data)
    return exc.value.errors()


def test_a_bad_zone_says_what_to_write_without_pydantics_prefix():
    problem = first_problem(_errors(name="w", timezone="Mars/Olympus"))
    assert problem.loc == ("timezone",) and problem.more == 0
    assert problem.line("timezone") == "timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin or UTC"


def test_unknown_and_missing_fields_are_said_plainly_and_the_rest_are_counted():
    problem = first_problem(_errors(nmae="w", colour="red"))
    assert problem.message == "field required" and problem.more == 2
    assert problem.line("name") == "name: field required (and 2 more problems)"
    assert problem.line("--name", count_more=False) == "--name: field required"
    error = invalid_input(_errors(name="w", extra=1))
    assert (error.message, error.field, error.status_code) == ("extra: unknown field; remove it or check its spelling", "extra", 422)


def test_zone_of_a_person_is_an_input_error_naming_the_field():
    assert str(zone("Europe/Berlin")) == "Europe/Berlin"
    with pytest.raises(InvalidInput) as exc:
        zone("Nowhere/Land", field="tz")
    assert exc.value.field == "tz" and "unknown time zone 'Nowhere/Land'" in exc.value.message


# ---------------------------------------------------------------- links (issue 9, item 2)

from urllib.parse import urlsplit  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from watchkeeper.validation import link, link_problem, safe_href  # noqa: E402


@pytest.mark.parametrize("url", ["https://runbooks.example.com/db#down", "http://grafana:3000/d/x?orgId=1", "/alerts/3",
                                 "relative/path", "?hours=1", "#anchor", "//cdn.example.com/x"])
def test_http_and_relative_urls_may_become_links(url):
    assert link(url) == url and safe_href(url) == url


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
                                 "java\nscript:alert(1)", "\x01javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 "vbscript:msgbox(1)", "https:/no-host", "https://", "ftp://files.example.com/x",
                                 "https://ok.example.com/a b"])
def test_script_and_other_schemes_are_refused_in_one_line(url):
    with pytest.raises(ValueError) as err:
        link(url)
    assert "\n" not in str(err.value) and "http(s)" in str(err.value)
    assert safe_href(url) == "#"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.builds(lambda s, r: f"{s}:{r}",
       st.sampled_from(["javascript", "JAVASCRIPT", "data", "http", "https", "vbscript", "file", "x"]), st.text(max_size=20)))
def test_a_rendered_href_is_never_a_script_link(value):
    href = safe_href(value)
    # What a browser does first: strip leading/trailing C0 controls and spaces, drop tabs and newlines.
    cleaned = href.strip("".join(map(chr, range(0x21)))).replace("\t", "").replace("\n", "").replace("\r", "")
    scheme = urlsplit(cleaned).scheme
    assert scheme in ("", "http", "https")
    assert link_problem(href) is None
