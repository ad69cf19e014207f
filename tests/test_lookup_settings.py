"""FRONTLINE_ANSWER_IN_ACK_SECONDS: how long `/customer` may take to answer in its ack. Slack wants the ack
within 3 s, so a window that would not leave room for the network is refused at start-up, with its name."""
from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings


def test_the_window_defaults_to_half_a_second_and_takes_zero_to_always_ack_first():
    assert Settings.from_env({}, dotenv=False).answer_in_ack_seconds == 0.5
    assert Settings.from_env({"FRONTLINE_ANSWER_IN_ACK_SECONDS": "0"}, dotenv=False).answer_in_ack_seconds == 0
    assert Settings.from_env({"FRONTLINE_ANSWER_IN_ACK_SECONDS": "2.5"}, dotenv=False).answer_in_ack_seconds == 2.5


@pytest.mark.parametrize("value", ["3", "-0.5", "soon"])
def test_a_window_slack_would_not_wait_for_is_refused_by_name(value):
    with pytest.raises(ConfigError, match="FRONTLINE_ANSWER_IN_ACK_SECONDS"):
        Settings.from_env({"FRONTLINE_ANSWER_IN_ACK_SECONDS": value}, dotenv=False)
