"""Issue 9, item 11: a YAML alias bomb, a recursive alias, absurd nesting and huge durations
are refused as file:line:column problems, quickly and in bounded memory (the 605-byte bomb
drove `validate` to 1.3 GB; a recursive alias was an internal error)."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from watchkeeper.configfile import loader

BOMB = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                 + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]) + "\n"


def _refused(text: str) -> str:
    with pytest.raises(loader.ConfigInvalid) as err:
        loader.load_text(text, file="wk.yaml")
    message = str(err.value)
    assert message.startswith("wk.yaml:") and "\n" not in message, message
    return message


def test_an_alias_bomb_is_refused_fast_and_small():
    assert len(BOMB.encode()) < 700
    started = time.monotonic()
    message = _refused(BOMB)
    elapsed = time.monotonic() - started
    assert "more than 50,000 values" in message and "aliases" in message
    assert elapsed < 10, elapsed  # ~1 s on a busy 2-core machine
    tracemalloc.start()
    _refused(BOMB)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * 1024 * 1024, peak


def test_a_recursive_alias_is_refused_with_its_position():
    message = _refused("teams:\n  - &t\n    name: web\n    members: [*t]\n")
    # The position is the anchor's (the alias is that very value); the path says where it recurs.
    assert "teams[0].members[0]: this alias refers to a value that contains it" in message


def test_absurd_nesting_is_refused():
    assert "deeper than" in _refused("teams: " + "[" * 150 + "]" * 150 + "\n")
    assert "deeper than" in _refused("teams: " + "[" * 20000 + "]" * 20000 + "\n")


def test_a_huge_duration_in_the_file_is_a_positioned_problem():
    text = ("teams:\n  - name: web\nservices:\n  - name: shop\n    team: web\nmonitors:\n  - name: home\n    service: shop\n"
            "    interval: 99999999d\n    http:\n      url: https://shop.example.com/\n")
    message = _refused(text)
    assert message.startswith("wk.yaml:9:") and "3650d" in message


def test_ordinary_aliases_still_work():
    text = "teams:\n  - name: web\nservices:\n  - name: shop\n    team: &t web\n  - name: cart\n    team: *t\n"
    assert {s.name for s in loader.load_text(text, file="wk.yaml").services} == {"shop", "cart"}
