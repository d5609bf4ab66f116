"""One label matcher for the whole product (issue 8 item 6): the rule language's selectors
(`orders_total{region=~"eu.*"}`) build the same `labels.Matcher` that silences, routes and
inhibit rules use, so a matcher means the same thing wherever it is written."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper import labels
from watchkeeper.monitoring.metrics import language

VALUES = st.text(alphabet="ab.-", max_size=4)
REGEXES = st.sampled_from(["a", "a.*", ".*b", "(a|b)+", "", "a?b", "[ab]{2}", ".+"])


def test_the_rule_language_uses_the_label_matcher():
    selector = language.parse_selector('probe_success{monitor="shop", region=~"eu.*"}')
    assert language.Matcher is labels.Matcher
    assert all(isinstance(m, labels.Matcher) for m in selector.matchers)
    assert selector.format() == 'probe_success{monitor="shop", region=~"eu.*"}'


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(labels.OPS), pattern=REGEXES, value=VALUES, present=st.booleans())
def test_a_rule_selector_and_a_silence_matcher_agree(op, pattern, value, present):
    selector = language.parse_selector(f'm{{region{op}"{pattern}"}}')
    silence = labels.parse_matcher(f'region{op}"{pattern}"')
    have = {"region": value} if present else {}
    assert selector.matches("m", have) == silence.matches(have)


def test_a_label_name_prometheus_refuses_is_a_syntax_error_in_a_rule():
    with pytest.raises(language.RuleSyntaxError, match="label name"):
        language.parse_selector('m{a:b="x"}')
