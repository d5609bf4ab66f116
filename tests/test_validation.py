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
