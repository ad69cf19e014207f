"""Talking with Frontline: a DM, or Slack's assistant thread, that remembers the customer being discussed."""
