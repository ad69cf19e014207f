"""Slack's directory: the team_join, user_change and subteam_members_changed events, and reading Slack's user records."""
