"""Logging interactions and follow-ups from Slack."""
