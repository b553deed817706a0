"""The VNPT-CA Plugin's framing: the messages of vnpt-plugin.js and the answers' result field."""

from __future__ import annotations

import json

import pytest

from agent.checks.signing import vnpt


def test_requests_are_what_the_web_library_sends():
    assert json.loads(vnpt.request(vnpt.CHECK_PLUGIN, "motcua.example.gov.vn")) == {
        "functionID": 7,
        "funcCallback": "callbackDefault",
        "args": [""],
        "domain": "motcua.example.gov.vn",
    }
    assert json.loads(vnpt.request(vnpt.GET_VERSION, "localhost"))["functionID"] == 11
    # Key order as JSON.stringify writes the library's object literal.
    assert vnpt.request(7, "x").startswith('{"functionID":7,"funcCallback":')


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        ("1*callbackDefault", "1"),
        ("-1*callbackDefault", "-1"),
        ("1.0.4.3*callbackDefault", "1.0.4.3"),
        ("1", "1"),
        ("", ""),
        ("a*b*c", "a"),
    ],
)
def test_the_result_is_the_field_before_the_first_star(answer, result):
    assert vnpt.result_of(answer) == result
