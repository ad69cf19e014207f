"""The payload reader: any JSON value in, a value of the asked type within its bounds (or nothing) out."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import payloads

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20)
PATH = st.lists(st.text(max_size=8) | st.integers(-3, 3), max_size=4)


@settings(max_examples=300, deadline=None)
@given(data=JSON, path=PATH)
def test_accessors_never_raise_and_return_the_asked_type(data, path):
    assert isinstance(payloads.mapping(data, *path), dict)
    assert isinstance(payloads.sequence(data, *path), list)
    assert all(isinstance(item, dict) for item in payloads.dicts(data, *path))
    found = payloads.text(data, *path, limit=10)
    assert found is None or (isinstance(found, str) and len(found) <= 10)
    identifier = payloads.row_id(data, *path)
    assert identifier is None or 0 < identifier <= payloads.MAX_ROW_ID
    assert isinstance(payloads.state_values({"state": {"values": data}}), dict)
    assert payloads.envelope_problem(data) is None or isinstance(payloads.envelope_problem(data), str)


def test_at_walks_objects_and_lists_only():
    body = {"actions": [{"value": "12"}], "view": "home"}
    assert payloads.at(body, "actions", 0, "value") == "12"
    assert payloads.at(body, "actions", 1, "value") is None
    assert payloads.at(body, "view", "type") is None  # a string is not walked into
    assert payloads.at(body, "actions", "0") is None


@pytest.mark.parametrize("value, expected", [
    ("12", 12), (12, 12), (" 12 ", 12), (str(2**31 - 1), 2**31 - 1), (str(2**31), None), (str(2**63 - 1), None), (str(2**63), None), (10**23, None),
    (str(10**23), None), ("0", None), (-1, None), ("-1", None), ("١٢", None), ("1e3", None), (True, None),
    (1.0, None), (None, None), ("9" * 5000, None), ([12], None)])
def test_ids_fit_a_bigint_column_or_are_nothing(value, expected):
    assert payloads.parse_id(value) == expected


def test_bounded_int():
    assert payloads.bounded_int("3", 1, 366) == 3
    assert payloads.bounded_int(str(10**23), 1, 366) is None
    assert payloads.bounded_int("0", 1, 366) is None and payloads.bounded_int(True, 0, 1) is None


@pytest.mark.parametrize("raw, expected", [
    ('{"customer_id": 12}', {"customer_id": 12}), ("", {}), ("[1]", {}), ("null", {}), ("{", {}),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", {}), ("[" * 100_000, {}),
    ('{"a": "' + "[" * 50 + '"}', {"a": "[" * 50}),  # brackets inside a string are not nesting
    ('{"a": "' + "x" * 3000 + '"}', {}), (7, {})])
def test_private_metadata_is_parsed_only_when_small_and_shallow(raw, expected):
    assert payloads.metadata({"private_metadata": raw}) == expected


def test_require_text_names_the_path_never_the_value():
    with pytest.raises(payloads.MalformedPayload) as refused:
        payloads.require_text({"trigger_id": ["jeanne.dupont@example.com"]}, "trigger_id")
    assert refused.value.reason == "trigger_id missing or not text"


def test_deeper_than_counts_levels_without_recursion():
    deep: list = []
    node = deep
    for _ in range(50_000):
        node.append([])
        node = node[0]
    assert payloads.deeper_than(deep, 64) and not payloads.deeper_than([[1]], 2)


GOOD_CLICK = {"type": "block_actions", "user": {"id": "U0LEA"}, "actions": [{"action_id": "customer.open"}],
              "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/x", "container": {"type": "message"}}


@pytest.mark.parametrize("change, reason", [
    ({}, None),
    ({"type": 5}, "type is not text"),
    ({"user": "U0LEA"}, "user is not an object with a Slack user id"),
    ({"user": {"id": "jeanne.dupont@example.com"}}, "user is not an object with a Slack user id"),
    ({"actions": []}, "actions is not a list of objects"),
    ({"actions": "nope"}, "actions is not a list of objects"),
    ({"actions": [{"action_id": 5}]}, "actions[0].action_id is not text"),
    ({"response_url": 5}, "response_url is not text"),
    ({"container": "view"}, "container is not an object"),
    ({"view": {"type": 5}}, "view.type is not text"),
])
def test_the_gate_names_what_bolt_would_trip_on(change, reason):
    assert payloads.envelope_problem({**GOOD_CLICK, **change}) == reason


def test_the_gate_refuses_views_events_and_commands_of_the_wrong_shape():
    assert payloads.envelope_problem({"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "x"}}) \
        == "view is not an object with a text type"
    assert payloads.envelope_problem({"type": "event_callback", "event": []}) == "event is not an object"
    assert payloads.envelope_problem({"type": "event_callback", "event": {"type": "message", "user": 5}}) \
        == "event.user is not a Slack user id"
    assert payloads.envelope_problem({"command": "/kpi", "user_id": "U0LEA", "text": "x"}) is None
    assert payloads.envelope_problem({"command": ["/kpi"], "user_id": "U0LEA"}) == "command is not text"
    assert payloads.envelope_problem(json.loads("[" * 100 + "]" * 100)) == "body is not an object"
    assert payloads.envelope_problem({"a": json.loads("[" * 100 + "]" * 100)}).startswith("body nested deeper")
